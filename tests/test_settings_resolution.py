"""Fullname settings that name nothing (issue 11, item 5): one note per entry, on line 1 of
the module the entry points into, the same cold, warm and under `-n 2`, and gone once the
entry is fixed; nothing for an entry whose module is not in the build; exit status from
the findings alone. Also `mypy-session check`, which runs the same plugin."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import MYPY_2, run, write

FILES = {
    "pkg/__init__.py": "",
    "pkg/unimported.py": "def open_db(): ...\n",
    "pkg/worker/__init__.py": "from pkg.worker._sqlalchemy import SessionMaker as SessionMaker\n",
    "pkg/worker/_sqlalchemy.py": """
        from sqlalchemy.orm import sessionmaker
        SessionLocal = sessionmaker()
        def SessionMaker():
            return SessionLocal()
    """,
    "app.py": """
        from sqlalchemy.orm import Session
        from pkg.worker import SessionMaker
        def f(session: Session) -> None:
            s = SessionMaker()
    """,
}

NOTE = (
    'pkg/worker/__init__.py:1: note: mypy-session: {config}: scope_factories entry '
    '"pkg.worker.SessionMakr" names nothing in the checked program: module "pkg.worker" '
    'has no "SessionMakr"'
)
NESTED = 'app.py:4: error: "SessionMaker()" opens a new session while "session" is held'


def _project(root: Path, factories: str) -> None:
    write(root, FILES)
    write(
        root,
        {
            "mypy.ini": f"""
                [mypy]
                plugins = mypy_session.plugin
                [mypy_session]
                scope_factories = {factories}
            """
        },
    )


def _notes(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if "mypy-session:" in line and ": note:" in line]


def test_entry_naming_nothing_is_one_note_cold_and_warm(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.worker.SessionMaker, pkg.worker.SessionMakr, pkg.unimported.open_db, other.open_db")
    cold = run(tmp_path, "app.py")
    assert _notes(cold.stdout) == [NOTE.format(config="mypy.ini")], cold.stdout
    # The re-exported entry matches; the note alone would not fail the run.
    assert any(line.startswith(NESTED) for line in cold.errors), cold.stdout
    assert cold.status == 1
    warm = run(tmp_path, "app.py")
    assert warm.stdout == cold.stdout and warm.status == 1


def test_note_alone_keeps_exit_status_zero_and_goes_when_fixed(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.worker.SessionMakr")
    write(tmp_path, {"app.py": "from pkg.worker import SessionMaker\n"})
    noted = run(tmp_path, "app.py")
    assert _notes(noted.stdout) == [NOTE.format(config="mypy.ini")], noted.stdout
    assert noted.status == 0, noted.stdout + noted.stderr
    _project(tmp_path, "pkg.worker.SessionMaker")
    write(tmp_path, {"app.py": "from pkg.worker import SessionMaker\n"})
    fixed = run(tmp_path, "app.py")  # the settings are part of the cache key
    assert _notes(fixed.stdout) == [], fixed.stdout
    assert fixed.status == 0


def test_module_not_in_the_build_is_not_reported(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.unimported.open_db, elsewhere.open_db, open_db")
    result = run(tmp_path, "app.py")
    assert _notes(result.stdout) == [], result.stdout


def test_check_command_reports_the_same_note(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.worker.SessionMakr")
    write(tmp_path, {"mypy.ini": "[mypy]\n[mypy_session]\nscope_factories = pkg.worker.SessionMakr\n"})
    result = run(tmp_path, "check", "app.py", module="mypy_session")
    assert _notes(result.stdout) == [NOTE.format(config="mypy.ini")], result.stdout + result.stderr


@pytest.mark.skipif(not MYPY_2, reason="parallel checking is mypy 2")
def test_parallel_build_reports_the_same_note(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.worker.SessionMaker, pkg.worker.SessionMakr")
    sequential = run(tmp_path, "--cache-dir", ".seq", "app.py")
    parallel = run(tmp_path, "--cache-dir", ".par", "-n", "2", "app.py")
    assert _notes(parallel.stdout) == _notes(sequential.stdout) == [NOTE.format(config="mypy.ini")]
    assert sorted(parallel.errors) == sorted(sequential.errors)


def test_daemon_keeps_the_note_across_an_update(tmp_path: Path) -> None:
    _project(tmp_path, "pkg.worker.SessionMaker, pkg.worker.SessionMakr")
    status = str(tmp_path / "dmypy.json")
    try:
        first = run(tmp_path, "--status-file", status, "run", "--", "app.py", module="mypy.dmypy")
        assert _notes(first.stdout) == [NOTE.format(config="mypy.ini")], first.stdout + first.stderr
        write(tmp_path, {"app.py": textwrap.dedent(FILES["app.py"]) + "x = 1\n"})
        update = run(tmp_path, "--status-file", status, "run", "--", "app.py", module="mypy.dmypy")
        assert _notes(update.stdout) == _notes(first.stdout), update.stdout + update.stderr
        assert sorted(update.errors) == sorted(first.errors)
    finally:
        run(tmp_path, "--status-file", status, "stop", module="mypy.dmypy")
