"""Same findings cold and warm, after editing a callee, under dmypy and with `-n 2`
(SPEC section 8). Warm runs replay errors from mypy's cache; no plugin callback runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, MYPY_2, run, write

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\ncheck_untyped_defs = True\n",
    "db.py": DB_MODULE,
    "app/__init__.py": "",
    "app/services.py": """
        from sqlalchemy.orm import Session

        def lookup(key: int, session: Session | None = None) -> int:
            return key

        class Repo:
            def find(self, key: int, session: Session | None = None) -> int:
                return key
    """,
    "app/sub.py": """
        from app.services import Repo

        class SubRepo(Repo):
            pass
    """,
    "app/caller.py": """
        from sqlalchemy.orm import Session
        from db import session_scope
        from app.services import lookup
        from app.sub import SubRepo

        def restock() -> None:
            with session_scope() as session:
                lookup(1)
                SubRepo().find(2)

        def legacy(key, session=None):
            lookup(key)
    """,
}


def findings(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, "app", "db.py")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.errors


def test_cold_warm_and_edited_callee(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    cold = findings(tmp_path)
    assert [line.split(" error:")[0] for line in cold] == [
        "app/caller.py:8:",
        "app/caller.py:9:",
        "app/caller.py:12:",
    ]
    assert findings(tmp_path) == cold  # warm: replayed from the cache

    # The callee drops its session parameter: the stale caller errors must go.
    write(tmp_path, {"app/services.py": FILES["app/services.py"].replace(", session: Session | None = None", "")})
    assert findings(tmp_path) == []
    # ...and come back when it takes one again.
    write(tmp_path, {"app/services.py": FILES["app/services.py"]})
    assert findings(tmp_path) == cold
    shutil.rmtree(tmp_path / ".mypy_cache")
    assert findings(tmp_path) == cold


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_parallel_checking_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    cold = findings(tmp_path, "--cache-dir", ".cache-serial")
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == cold


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_daemon_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    cold = findings(tmp_path)
    try:
        daemon = run(tmp_path, "run", "--", "app", "db.py", module="mypy.dmypy")
        assert [l for l in daemon.stdout.splitlines() if ": error:" in l] == cold, daemon.stdout + daemon.stderr
        write(tmp_path, {"app/services.py": FILES["app/services.py"].replace(", session: Session | None = None", "")})
        again = run(tmp_path, "run", "--", "app", "db.py", module="mypy.dmypy")
        assert [l for l in again.stdout.splitlines() if ": error:" in l] == [], again.stdout
    finally:
        run(tmp_path, "stop", module="mypy.dmypy")
