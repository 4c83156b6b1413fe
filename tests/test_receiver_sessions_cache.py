"""The receiver holds the session (`receiver_sessions`), cold and warm (SPEC section 8): the
facts "this constructor stores its session on self.<attr>" (itself, or by handing it to
`super().__init__` in another module) and "this method's session falls
back to self.<attr>" are stored with the class's module, so a caller checked against the
class's module from mypy's cache, or by another worker under `-n 2`, decides alike; and a
method that loses its fallback makes its callers report again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import MYPY_2, run, write

SERVICES = """
    from dataclasses import dataclass
    from sqlalchemy.orm import Session

    def rename_user(user_id: int, session: Session | None = None) -> None: ...

    class UserService:
        def __init__(self, session: Session) -> None:
            self.session = session

        def rename(self, user_id: int, session: Session | None = None) -> None:
            session = session or self.session
            rename_user(user_id, session=session)

    @dataclass
    class Repo:
        session: Session

        def save(self, session: Session | None = None) -> None:
            if session is None:
                session = self.session
            rename_user(1, session=session)
"""

CALLER = """
    from sqlalchemy.orm import Session, sessionmaker
    from app.services import Repo, UserService
    from app.repos import SourceRepo

    SessionLocal = sessionmaker()
    OTHER: Session

    def job() -> None:
        with SessionLocal() as s:
            UserService(s).rename(1)
            svc = UserService(s)
            svc.rename(2)
            Repo(s).save()
            UserService(OTHER).rename(3)
            SourceRepo(s).rename(4)
"""

REPOS = """
    from sqlalchemy.orm import Session
    from app.services import UserService

    class SourceRepo(UserService):
        def __init__(self, session: Session) -> None:
            super().__init__(session)
"""

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
    "app/__init__.py": "",
    "app/services.py": SERVICES,
    "app/repos.py": REPOS,
    "app/caller.py": CALLER,
}


def findings(root: Path, *args: str) -> list[str]:
    result = run(root, *args, "app")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return [line.split(": error:")[0] for line in result.errors]


def test_receiver_facts_survive_the_cache(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == ["app/caller.py:14"]
    assert findings(tmp_path) == ["app/caller.py:14"]  # warm: replayed
    # Only the caller changes: services.py comes from the cache, with its facts.
    write(tmp_path, {"app/caller.py": CALLER + "            UserService(s).rename(5)\n"})
    assert findings(tmp_path) == ["app/caller.py:14"]
    # The method loses its fallback: every call of it is reported again.
    write(tmp_path, {"app/services.py": SERVICES.replace("session = session or self.session", "pass")})
    assert findings(tmp_path) == [f"app/caller.py:{line}" for line in (10, 12, 14, 15, 16)]


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is mypy 2")
def test_parallel_agrees(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-n2") == ["app/caller.py:14"]
