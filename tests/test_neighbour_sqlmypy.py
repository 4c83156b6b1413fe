"""Chaining with sqlalchemy-stubs' `sqlmypy` plugin (SPEC section 8), the legacy path for
SQLAlchemy 1.x projects: listed before or after ours, its checks and ours are all reported.

sqlalchemy-stubs types SQLAlchemy 2.x code against its 1.3 stubs, so it must not be
installed next to SQLAlchemy 2.x: these tests are skipped unless `sqlmypy` is importable,
and tests/scripts/test-sqlmypy.sh runs them in an environment of their own.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import run_with_plugins, write

pytest.importorskip("sqlmypy")

OURS = "mypy_session.plugin"
SQLMYPY = "sqlmypy"

# SQLAlchemy 1.x style: a declarative_base() made at run time, Column attributes.
PROGRAM = '''
from contextlib import contextmanager
from typing import Iterator, Optional

from sqlalchemy import Column, Integer, String
from sqlalchemy.ext.declarative import declarative_base
from sqlalchemy.orm import Session, sessionmaker

Base = declarative_base()
SessionLocal = sessionmaker()


class User(Base):
    __tablename__ = "users"
    id = Column(Integer, primary_key=True)
    name = Column(String)


@contextmanager
def session_scope() -> Iterator[Session]:
    session = SessionLocal()
    try:
        yield session
    finally:
        session.close()


def get_user(user_id: int, session: Optional[Session] = None) -> Optional[User]:
    if session is None:
        with session_scope() as session:
            return session.query(User).get(user_id)
    return session.query(User).get(user_id)


def rename(user_id: int, session: Session) -> None:
    user = get_user(user_id)
    User(nickname="x")
    User(id="x")
    label: str = User().name
    session.commit()
    print(user, label)
'''

THEIRS = [
    # sqlmypy's function hook for model constructors
    'app.py:36: error: Unexpected column "nickname" for model "User"  [misc]',
    'app.py:37: error: Incompatible type for "id" of "User" (got "str", expected "int")  [misc]',
    # sqlmypy's function hook for Column(): nullable columns are Optional
    'app.py:38: error: Incompatible types in assignment (expression has type "str | None", '
    'variable has type "str")  [assignment]',
]
OURS_ERRORS = [
    'app.py:35: error: Call to "get_user" does not forward the held session "session"; '
    "pass session=session  [session-not-forwarded]",
    'app.py:39: error: "session.commit()" ends a transaction borrowed from the caller; '
    "leave commit() to the function that opened the session  [session-borrowed-commit]",
]


def by_line(lines: list[str]) -> list[str]:
    return sorted(lines, key=lambda line: int(line.split(":")[1]))


@pytest.mark.parametrize("plugins", [[OURS, SQLMYPY], [SQLMYPY, OURS]], ids=["ours first", "theirs first"])
def test_both_plugins_report_in_either_order(tmp_path: Path, plugins: list[str]) -> None:
    write(tmp_path, {"app.py": PROGRAM})
    result = run_with_plugins(tmp_path, plugins, "", "app.py")
    assert "Traceback" not in result.stderr and "INTERNAL ERROR" not in result.stdout + result.stderr
    assert result.errors == by_line(THEIRS + OURS_ERRORS), result.stdout + result.stderr
    assert result.status == 1


def test_their_errors_come_from_their_plugin(tmp_path: Path) -> None:
    """The control: without sqlmypy its errors are gone, so the test above would notice
    its hooks being shadowed; alone, it reports exactly those."""
    write(tmp_path, {"app.py": PROGRAM})
    ours_only = run_with_plugins(tmp_path, [OURS], "", "app.py")
    assert set(OURS_ERRORS) <= set(ours_only.errors), ours_only.stdout
    assert not set(THEIRS) & set(ours_only.errors), ours_only.stdout
    theirs_only = run_with_plugins(tmp_path, [SQLMYPY], "", "app.py")
    assert theirs_only.errors == THEIRS, theirs_only.stdout + theirs_only.stderr
