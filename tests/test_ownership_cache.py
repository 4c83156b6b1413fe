"""A FastAPI dependency alias (`DbSession = Annotated[Session, Depends(get_db)]`) owns the
session also when the alias's module comes from mypy's cache (a warm run, `-n` workers):
there mypy's TypeAlias has no line (`TypeAlias.read` sets -1), and the definition is found
by name (issue 12, item 1; found by the modes harness: cold and `-n 2` disagreed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import MYPY_2, run, write

MAIN = """
    from sqlalchemy.orm import Session
    import deps

    def aliased(session: deps.DbSession) -> None:
        session.commit()

    def plain_alias(session: deps.PlainSession) -> None:
        session.commit()
"""

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
    "fastapi/__init__.py": """
        from typing import Any, Callable
        def Depends(dependency: Callable[..., Any] | None = None) -> Any: ...
    """,
    "db.py": """
        from typing import Iterator
        from sqlalchemy.orm import Session, sessionmaker
        SessionLocal = sessionmaker()
        def get_db() -> Iterator[Session]:
            with SessionLocal() as s:
                yield s
    """,
    "deps.py": """
        from typing import Annotated
        from fastapi import Depends
        from sqlalchemy.orm import Session
        from db import get_db

        DbSession = Annotated[Session, Depends(get_db)]
        PlainSession = Annotated[Session, "a note"]
        OtherSession = Annotated[Session, Depends(get_db)]
    """,
    "main.py": MAIN,
}


def _findings(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, "main.py", "deps.py", "db.py")
    assert "Traceback" not in result.stdout + result.stderr
    return [line.split(": error:")[0] for line in result.errors]


def test_alias_from_the_cache_still_owns(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert _findings(tmp_path) == ["main.py:8"]
    write(tmp_path, {"main.py": MAIN + "\n    x = 1\n"})  # deps.py now comes from the cache
    assert _findings(tmp_path) == ["main.py:8"]


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_alias_under_parallel_checking(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert _findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == ["main.py:8"]
