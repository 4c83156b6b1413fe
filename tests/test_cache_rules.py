"""Marker- and chain-dependent findings are the same cold, warm (callee from the cache),
after editing a callee or a marker stub, with `-n 2` and under dmypy (SPEC sections 5, 8).

The facts behind them (how a function is marked, whether it opens a scope) are stored with
each module's cache, so they are known even when no function body of the callee's module
is in memory."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, MYPY_2, run, write

FILES = {
    "mypy.ini": (
        "[mypy]\nplugins = mypy_session.plugin\ncheck_untyped_defs = True\n"
        "[mypy_session]\nmarker_stubs = markers\n"
    ),
    "markers/vendor/legacy.pyi": "from mypy_session import ReadOnly\n@ReadOnly\ndef lookup(key, session=None): ...\n",
    "db.py": DB_MODULE,
    "vendor/__init__.py": "",
    "vendor/legacy.py": "def lookup(key, session=None):\n    return key\n",
    "app/__init__.py": "",
    "app/inventory.py": """
        from db import session_scope

        def consume_fifo() -> None:
            with session_scope() as s:
                s.flush()
    """,
    "app/services.py": """
        from sqlalchemy.orm import Session
        from mypy_session import OwnTransaction, ReadOnly
        from app.inventory import consume_fifo

        @ReadOnly
        def describe(key: int, session: Session | None = None) -> str:
            return str(key)

        @OwnTransaction
        def audit(event: str, session: Session | None = None) -> None:
            pass

        def restock() -> None:
            consume_fifo()
    """,
    "app/caller.py": """
        from sqlalchemy.orm import Session
        from app.services import audit, describe, restock
        from vendor.legacy import lookup

        def assemble(session: Session) -> None:
            describe(1)
            audit("x")
            restock()
            lookup(2)
    """,
}
TARGETS = ("app", "vendor", "db.py")


def findings(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, *TARGETS)
    assert "INTERNAL ERROR" not in result.stdout + result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return [line.split(": error: ")[0] + " " + line.rsplit("[", 1)[-1] for line in result.errors]


EXPECTED = [
    "app/caller.py:6 session-read-not-forwarded]",
    "app/caller.py:8 session-callee-opens-scope]",
    "app/caller.py:9 session-read-not-forwarded]",
]


def test_cold_warm_and_edits(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == EXPECTED
    assert findings(tmp_path) == EXPECTED  # warm: every callee comes from the cache

    # Touch only the caller: it is re-checked against callees loaded from the cache.
    write(tmp_path, {"app/caller.py": FILES["app/caller.py"] + "        # edited\n"})
    assert findings(tmp_path) == EXPECTED

    # A body-only edit of a callee two modules away removes the chain.
    write(tmp_path, {"app/inventory.py": "def consume_fifo() -> None:\n    pass\n"})
    assert findings(tmp_path) == [EXPECTED[0], EXPECTED[2]]
    write(tmp_path, {"app/inventory.py": FILES["app/inventory.py"]})
    assert findings(tmp_path) == EXPECTED

    # Editing a marker stub invalidates what depends on it.
    write(tmp_path, {"markers/vendor/legacy.pyi": "def lookup(key, session=None): ...\n"})
    assert findings(tmp_path)[-1] == "app/caller.py:9 session-not-forwarded]"
    write(tmp_path, {"markers/vendor/legacy.pyi": FILES["markers/vendor/legacy.pyi"]})
    assert findings(tmp_path) == EXPECTED

    # Removing a marker in the source is seen by the cached caller.
    write(tmp_path, {"app/services.py": FILES["app/services.py"].replace("        @ReadOnly\n", "")})
    assert findings(tmp_path)[0] == "app/caller.py:6 session-not-forwarded]"


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_parallel_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == EXPECTED
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == EXPECTED


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_daemon_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    try:
        result = run(tmp_path, "run", "--", *TARGETS, module="mypy.dmypy")
        got = [l.split(": error: ")[0] + " " + l.rsplit("[", 1)[-1] for l in result.stdout.splitlines() if ": error:" in l]
        assert got == EXPECTED, result.stdout + result.stderr
        # a callee edit that changes its signature is followed by the daemon
        write(tmp_path, {"app/services.py": FILES["app/services.py"].replace("def describe(key: int, session: Session | None = None)", "def describe(key: int)")})
        again = run(tmp_path, "run", "--", *TARGETS, module="mypy.dmypy")
        assert "app/caller.py:6" not in again.stdout
    finally:
        run(tmp_path, "stop", module="mypy.dmypy")
