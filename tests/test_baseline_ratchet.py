"""The baseline never loses an entry (issue 16): an entry leaves the file only when this run
checked the finding's file, with its code on, with every import resolved, and the finding
is gone. Runs on a subset of the files, with a code disabled (command line, per-module
section, inline comment), with a dependency missing, with concurrent writers, and with a
writer killed in the middle: no entry lost, no partial file ever read."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mypy_session import baseline
from tests.helpers import Result, run, write

CONFIG = "[mypy]\nplugins = mypy_session.plugin\n[mypy_session]\nbaseline = b.json\n"

PROJECT = {
    "mypy.ini": CONFIG,
    "app/__init__.py": "",
    "app/one.py": """
        from mypy_session import SessionLike as Session

        def lookup(key: int, session: Session | None = None) -> int:
            return key

        def first(session: Session) -> None:
            lookup(1)
    """,
    "app/two.py": """
        from mypy_session import SessionLike as Session
        from app.one import lookup
        from vendorlib import fetch

        def second(session: Session) -> None:
            lookup(2)

        def third(session: Session) -> None:
            fetch(3)
    """,
    # A dependency that lives outside the project (found through MYPYPATH).
    "vendor/vendorlib/__init__.py": """
        from mypy_session import SessionLike as Session

        def fetch(key: int, session: Session | None = None) -> int:
            return key
    """,
}


def cli(root: Path, *args: str, vendor: bool = True) -> Result:
    env_path = str(root / "vendor") if vendor else ""
    saved = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = env_path
    try:
        return run(root, *args, module="mypy_session")
    finally:
        if saved is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = saved


def entries(root: Path) -> list[tuple[str, str, str]]:
    data = json.loads((root / "b.json").read_text(encoding="utf-8"))
    return sorted((e["path"], e["function"], e["code"]) for e in data["findings"])


@pytest.fixture(scope="module")
def baselined(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project with its first baseline, made once (each test works on a copy)."""
    root = tmp_path_factory.mktemp("baselined")
    write(root, PROJECT)
    created = cli(root, "baseline", "app")
    assert created.status == 0, created.stdout + created.stderr
    assert entries(root) == [
        ("app/one.py", "app.one.first", "session-not-forwarded"),
        ("app/two.py", "app.two.second", "session-not-forwarded"),
        ("app/two.py", "app.two.third", "session-not-forwarded"),
    ]
    return root


@pytest.fixture
def root(baselined: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    shutil.copytree(baselined, copy)
    return copy


def fix_first(root: Path) -> None:
    one = root / "app" / "one.py"
    one.write_text(one.read_text().replace("lookup(1)", "lookup(1, session=session)"))


def test_a_run_on_a_subset_keeps_the_other_files_entries(root: Path) -> None:
    before = entries(root)
    fix_first(root)
    # pre-commit passes the changed files: only one.py (two.py imports it, not the reverse)
    result = cli(root, "baseline", "app/one.py")
    assert result.status == 0, result.stderr
    assert "1 fixed and removed" in result.stdout
    assert "2 because its file was not checked" in result.stdout
    assert entries(root) == before[1:]  # only the fixed one left


def test_a_disabled_code_keeps_its_entries(root: Path) -> None:
    before = entries(root)
    result = cli(root, "baseline", "--disable-error-code", "session-not-forwarded", "app")
    assert result.status == 0, result.stderr
    assert "0 fixed and removed" in result.stdout and "because its code is disabled" in result.stdout
    assert entries(root) == before


def test_a_code_disabled_per_module_or_inline_keeps_its_entries(root: Path) -> None:
    before = entries(root)
    (root / "mypy.ini").write_text(CONFIG + "[mypy-app.one]\ndisable_error_code = session-not-forwarded\n")
    two = root / "app" / "two.py"
    two.write_text("# mypy: disable-error-code=session-not-forwarded\n" + two.read_text())
    result = cli(root, "baseline", "app")
    assert result.status == 0, result.stderr
    assert "3 because its code is disabled there" in result.stdout
    assert entries(root) == before


def test_a_missing_dependency_keeps_the_entries_that_depend_on_it(root: Path) -> None:
    before = entries(root)
    fix_first(root)
    result = cli(root, "baseline", "app", vendor=False)  # vendorlib cannot be found
    assert result.status == 0, result.stderr
    assert "1 fixed and removed" in result.stdout  # one.py does not import it
    assert "1 because mypy could not resolve what its file imports" in result.stdout
    assert "vendorlib" in result.stdout
    assert entries(root) == before[1:]


def test_a_finding_really_gone_leaves_the_file(root: Path) -> None:
    """The negative: a run that sees everything drops a fixed entry, and a later plain
    mypy run reports nothing."""
    fix_first(root)
    result = cli(root, "baseline", "app")
    assert result.status == 0 and "2 findings kept, 1 fixed and removed" in result.stdout
    assert "could not see" not in result.stdout
    env = dict(os.environ, MYPYPATH=str(root / "vendor"))
    check = subprocess.run([sys.executable, "-m", "mypy", "app"], cwd=root, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout


# -- concurrent writers, and a kill in the middle of a write -----------------------------


def _entries(tag: str, count: int) -> list[baseline.Entry]:
    message = "Call to \"x\" does not forward the held session \"session\"; pass session=session " + "x" * 200
    return [
        baseline.Entry(f"{tag}/m{i}.py", f"{tag}.m{i}.f", "session-not-forwarded", message, f"{tag}{i:016d}")
        for i in range(count)
    ]


def _writer(path: str, tag: str, rounds: int) -> None:
    for _ in range(rounds):
        baseline.write(path, _entries(tag, 300))


def test_concurrent_writers_and_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    path = str(tmp_path / "b.json")
    baseline.write(path, _entries("start", 300))
    os.chmod(path, 0o640)
    context = multiprocessing.get_context("spawn" if sys.platform == "win32" else "fork")
    writers = [context.Process(target=_writer, args=(path, tag, 30)) for tag in ("a", "b", "c")]
    for writer in writers:
        writer.start()
    reads = 0
    while any(w.is_alive() for w in writers):
        found = baseline.read(path)  # raises on a partial file
        assert len(found) == 300 and len({e.path.split("/")[0] for e in found}) == 1
        reads += 1
    for writer in writers:
        writer.join()
        assert writer.exitcode == 0
    assert reads > 0
    assert len(baseline.read(path)) == 300
    assert os.listdir(tmp_path) == ["b.json"]  # no temporary file left
    assert os.stat(path).st_mode & 0o777 == 0o640  # the mode is kept


KILLED_WRITER = """
import sys
from tests.test_baseline_ratchet import _entries
from mypy_session import baseline
print("ready", flush=True)
i = 0
while True:
    baseline.write(sys.argv[1], _entries(f"t{i % 7}", 2000))
    i += 1
"""


def test_a_writer_killed_mid_write_leaves_a_complete_file(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    baseline.write(str(path), _entries("start", 2000))
    root = Path(__file__).resolve().parent.parent
    for attempt in range(6):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_WRITER, str(path)], cwd=root, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.05 + 0.03 * attempt)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        found = baseline.read(str(path))  # never partial
        assert len(found) == 2000
    # At most the killed writer's own temporary file is left, never in place of the file.
    leftovers = [name for name in os.listdir(tmp_path) if name != "b.json"]
    assert all(name.startswith(".b.json.") and name.endswith(".tmp") for name in leftovers)
