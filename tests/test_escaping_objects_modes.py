"""session-detached-return is decided at the end of each module (escaping_objects.py):
the same findings cold, warm (replayed from the cache), after an edit of another module,
with `-n 2`, and under dmypy across an update of an unrelated module (SPEC section 8)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, MYPY_2, run, write

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
    "db.py": DB_MODULE,
    "app/__init__.py": "",
    "app/models.py": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Order(Base):
            __tablename__ = "orders"
            id: Mapped[int] = mapped_column(primary_key=True)
    """,
    "app/pages.py": """
        from typing import Any
        from db import session_scope
        from app.models import Order

        def order_page(order_id: int) -> dict[str, Any]:
            with session_scope() as s:
                order = s.get_one(Order, order_id)
            return {"order": order, "id": order.id}

        def order_id(order_id: int) -> dict[str, Any]:
            with session_scope() as s:
                order = s.get_one(Order, order_id)
                return {"id": order.id}
    """,
    "app/other.py": """
        def unrelated() -> int:
            return 1
    """,
}

EXPECTED = ["app/pages.py:8: session-detached-return"]


def findings(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, "app", "db.py")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return _codes(result.stdout)


def _codes(stdout: str) -> list[str]:
    return [
        line.split(" error:")[0] + " " + line.rsplit("[", 1)[-1].rstrip("]")
        for line in stdout.splitlines()
        if ": error:" in line
    ]


def test_cold_warm_and_an_edit_elsewhere(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == EXPECTED
    assert findings(tmp_path) == EXPECTED  # warm
    write(tmp_path, {"app/other.py": FILES["app/other.py"] + "\n        def more() -> int:\n            return 2\n"})
    assert findings(tmp_path) == EXPECTED
    write(tmp_path, {"app/pages.py": FILES["app/pages.py"].replace('"order": order, ', "")})
    assert findings(tmp_path) == []


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_parallel_checking_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == EXPECTED


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_daemon_keeps_the_finding_across_an_unrelated_update(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    try:
        first = run(tmp_path, "run", "--", "app", "db.py", module="mypy.dmypy")
        assert _codes(first.stdout) == EXPECTED, first.stdout + first.stderr
        write(tmp_path, {"app/other.py": FILES["app/other.py"] + "\n        def more() -> int:\n            return 2\n"})
        again = run(tmp_path, "run", "--", "app", "db.py", module="mypy.dmypy")
        assert _codes(again.stdout) == EXPECTED, again.stdout + again.stderr
        write(tmp_path, {"app/pages.py": FILES["app/pages.py"].replace('"order": order, ', "")})
        fixed = run(tmp_path, "run", "--", "app", "db.py", module="mypy.dmypy")
        assert _codes(fixed.stdout) == [], fixed.stdout + fixed.stderr
    finally:
        run(tmp_path, "stop", module="mypy.dmypy")
