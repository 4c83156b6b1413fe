"""Calls on `Any` receivers (`any_receivers`) are decided the same way cold, warm, with
the classes loaded from mypy's cache (only the caller edited), and in a parallel build:
the candidates are the classes the module reaches, which mypy loads in every mode."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import modes
from tests.helpers import run, write

MODELS = """
    from sqlalchemy.orm import Session

    class TaskInstance:
        def set_state(self, state: str, session: Session | None = None) -> None: ...
        def get_dagrun(self, *, session: Session | None = None) -> object: ...
        def refresh(self, session: Session | None = None) -> None: ...

    class Cache:
        def refresh(self) -> None: ...
"""

BASE = """
    from typing import TYPE_CHECKING
    if TYPE_CHECKING:
        from app.models import TaskInstance

    class BaseDep:
        def statuses(self, ti: "TaskInstance") -> None: ...
"""

CALLER = """
    from sqlalchemy.orm import Session
    from app.base import BaseDep

    class Dep(BaseDep):
        def check(self, ti, *, session: Session) -> None:
            ti.set_state("failed")
            ti.get_dagrun()
            ti.refresh()
            ti.set_state("failed", session=session)
"""

FILES = {
    "mypy.ini": (
        "[mypy]\nplugins = mypy_session.plugin\n"
        "enable_error_code = session-not-analysed\ncheck_untyped_defs = True\n"
    ),
    "app/__init__.py": "",
    "app/models.py": MODELS,
    "app/base.py": BASE,
    "app/caller.py": CALLER,
}

EXPECTED = [
    "app/caller.py:6: [session-not-forwarded]",
    "app/caller.py:7: [session-not-forwarded]",
    "app/caller.py:8: [session-not-analysed]",
]


def findings(root: Path, *args: str) -> list[str]:
    result = run(root, *args, "app")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return sorted(
        (f"{line.split(': error:')[0]}: [{line.rsplit('[', 1)[1]}" for line in result.errors),
        key=lambda text: int(text.split(":")[1]),
    )


def test_cold_warm_and_classes_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == EXPECTED
    assert findings(tmp_path) == EXPECTED  # warm
    # Only the caller changes: the classes come from the cache.
    write(tmp_path, {"app/caller.py": CALLER + "            ti.get_dagrun()\n"})
    assert findings(tmp_path) == [*EXPECTED, "app/caller.py:10: [session-not-forwarded]"]
    # A class the caller reaches gains a `set_state` without a session: now ambiguous.
    write(tmp_path, {"app/models.py": MODELS + "\n    class Other:\n        def set_state(self, state: str) -> None: ...\n"})
    assert findings(tmp_path) == [
        "app/caller.py:6: [session-not-analysed]",
        "app/caller.py:7: [session-not-forwarded]",
        "app/caller.py:10: [session-not-forwarded]",
    ]


def test_parallel_build_agrees(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    result = run(tmp_path, "-n", "2", "app")
    if "unrecognized arguments" in result.stderr or "no such option" in result.stderr:
        pytest.skip("this mypy has no parallel mode")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert [f"{line.split(': error:')[0]}: [{line.rsplit('[', 1)[1]}" for line in result.errors] == EXPECTED


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_daemon_agrees_with_cold(tmp_path: Path) -> None:
    """`dmypy run`, then `dmypy check` after an edit of the caller, report what a cold run
    reports (the walk runs where dmypy checks a module)."""
    root = tmp_path / "project"
    write(root, FILES)
    project = modes.Project(
        name="any-receivers",
        root=root,
        targets=("app",),
        edits=(modes.Edit("app/caller.py", "ti.refresh()\n", "ti.refresh()\n        ti.get_dagrun()\n"),),
        expect=(modes.Expect("app/caller.py", "ti.refresh()", "session-not-analysed", "session-not-analysed"),),
    )
    modes.check_daemon(project, tmp_path / "caches", tmp_path / "state")
