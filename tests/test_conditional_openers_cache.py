"""A function that opens a session only on a branch of its parameters (issue 12, item 2)
is decided at the call also when its module comes from mypy's cache: the condition is
stored with the module's facts. Cold, warm, the caller edited alone (the callee from the
cache), and the callee edited so that it opens always."""

from __future__ import annotations

from pathlib import Path

from tests.helpers import DB_MODULE, run, write

CALLEE = """
    from db import session_scope

    def get_client(account: str | None = None) -> str:
        if account:
            with session_scope() as s:
                s.flush()
        return account or ""

    def pass_through(account: str | None = None) -> str:
        return get_client(account)
"""

CALLER = """
    from sqlalchemy.orm import Session
    from app.clients import get_client, pass_through

    def sync(session: Session, name: str) -> None:
        get_client()
        pass_through()
        get_client(name)
"""

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
    "db.py": DB_MODULE,
    "app/__init__.py": "",
    "app/clients.py": CALLEE,
    "app/caller.py": CALLER,
}


def findings(root: Path) -> list[str]:
    result = run(root, "app", "db.py")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return [line.split(": error:")[0] for line in result.errors]


def test_condition_survives_the_cache(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == ["app/caller.py:7"]
    assert findings(tmp_path) == ["app/caller.py:7"]  # warm
    # Only the caller changes: the callee's facts come from the cache.
    write(tmp_path, {"app/caller.py": CALLER + "        get_client(account=None)\n        pass_through(name)\n"})
    assert findings(tmp_path) == ["app/caller.py:7", "app/caller.py:9"]
    # The callee now opens whatever it is given: every call is reported.
    write(tmp_path, {"app/clients.py": CALLEE.replace("        if account:\n", "        if True:\n")})
    assert findings(tmp_path) == [f"app/caller.py:{line}" for line in (5, 6, 7, 8, 9)]
