"""Crash-proofing (SPEC section 8: "never an internal error or traceback from the plugin, on
any input"): mypy with the plugin on random multi-module programs that mix the session
idioms with unusual syntax (`programs` in tests/program_gen.py), and on mutants of the
YAML cases of tests/typecheck (`mutated_cases`).

For every program: it compiles; mypy prints no INTERNAL ERROR and no traceback; the exit
status is 0 or 1 (type errors are fine, 2 is not); nothing reaches stderr, from mypy or
from the plugin; the run ends within RUN_TIME_LIMIT. MYPY_SESSION_DEBUG=1 makes the plugin
re-raise what it would otherwise skip, so a bug in it surfaces here as an INTERNAL ERROR.
A subset is also checked cold, then warm from the incremental cache, then after an edit
against a fresh cold run of the edited program (the same output each time); in the long
profile, also with `-n 2` against the serial run.

mypy runs in-process (`mypy.api.run`). Analysing SQLAlchemy costs seconds, so each worker
keeps one incremental cache per settings variant, warmed by its first example; the
generated package gets a fresh name on every run, so its own modules are always checked
cold (or warm only where a test means them to be). One test runs with
`incremental = False`, everything analysed from source.

Profiles (MYPY_SESSION_HYPOTHESIS_PROFILE): `ci` (the default: derandomized, 33 examples,
about a minute on two cores), `long` (about 1,200 random examples, to hunt crashes; half
an hour or more). MYPY_SESSION_CRASH_DIR=<dir> saves each failing program there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import hashlib
import io
import itertools
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from mypy import api

from tests.helpers import MYPY_2
from tests.program_gen import CONFIGS, FIXED_SUPPORT, Program, mutated_cases, programs

PROFILE = os.environ.get("MYPY_SESSION_HYPOTHESIS_PROFILE", "ci")
if PROFILE not in ("ci", "long"):
    raise RuntimeError(f"MYPY_SESSION_HYPOTHESIS_PROFILE: expected ci or long, got {PROFILE!r}")
LONG = PROFILE == "long"
DEBUG_ENV = "MYPY_SESSION_DEBUG"  # mypy_session.gate.DEBUG_ENV, without importing the analysis

_COMMON = dict(
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)
if LONG:
    _BASE = settings(database=None, derandomize=False, print_blob=True, **_COMMON)  # type: ignore[arg-type]
else:
    _BASE = settings(database=None, derandomize=True, **_COMMON)  # type: ignore[arg-type]


def _examples(ci: int, long: int) -> settings:
    return settings(_BASE, max_examples=long if LONG else ci)


# -- running mypy -----------------------------------------------------------------------------


# A run that takes longer than this is a failure too (a hang, or a blow-up in the plugin).
RUN_TIME_LIMIT = 300


class _TimeLimit(BaseException):  # not caught by mypy's `except Exception`
    pass


@dataclass
class Run:
    stdout: str
    stderr: str
    status: int
    captured: str  # whatever reached sys.stdout / sys.stderr directly (the plugin's prints)
    timed_out: bool = False

    def problems(self) -> list[str]:
        if self.timed_out:
            return [f"mypy ran for more than {RUN_TIME_LIMIT} s"]
        found = []
        text = self.stdout + self.stderr + self.captured
        if "INTERNAL ERROR" in text:
            found.append("INTERNAL ERROR")
        if "Traceback" in text:
            found.append("Traceback")
        if self.status not in (0, 1):
            found.append(f"exit status {self.status}")
        if self.stderr.strip():
            found.append("mypy wrote to stderr")
        if self.captured.strip():
            found.append("output outside mypy's streams (plugin print?)")
        return found

    def lines(self) -> list[str]:
        return sorted(self.stdout.splitlines())


# mypy raises the collector's thresholds and moves its objects to the oldest generation,
# so a run's garbage outlives it (~35 MB each); a full collection costs ~1 s: every few runs.
_COLLECT_EVERY = 8
_runs = itertools.count(1)


def _expire(signum: int, frame: object) -> None:
    raise _TimeLimit


def run_mypy(args: list[str]) -> Run:
    out, err = io.StringIO(), io.StringIO()
    alarm = hasattr(signal, "SIGALRM")
    if alarm:
        previous = signal.signal(signal.SIGALRM, _expire)
        signal.alarm(RUN_TIME_LIMIT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            stdout, stderr, status = api.run(args)
    except _TimeLimit:
        return Run("", "", -1, out.getvalue() + err.getvalue(), timed_out=True)
    finally:
        if alarm:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
        if next(_runs) % _COLLECT_EVERY == 0:
            gc.collect()
    return Run(stdout, stderr, status, out.getvalue() + err.getvalue())


class Workspace:
    """Per worker process: a scratch root, one warm cache per settings variant, and a fixed
    marker-stub directory (its path is part of the cache key, its contents are not)."""

    _names = itertools.count()

    def __init__(self, root: Path) -> None:
        self.root = root
        self.stub_dir = root / "marker_stubs"
        self.stub_dir.mkdir()
        self.support_dir = root / "support"  # on mypy_path: the same module in every program
        self.support_dir.mkdir()
        (self.support_dir / "fixedsupport.py").write_text(FIXED_SUPPORT, encoding="utf-8")
        # A baseline makes every report go through fingerprinting (its bytes are part of
        # the cache key: the same file for every program).
        self.baseline = root / "baseline.json"
        self.baseline.write_text(BASELINE, encoding="utf-8")

    def fresh_package(self) -> str:
        return f"g{os.getpid()}_{next(self._names)}"

    def config(self, program: Program, pkg: str, *, incremental: bool) -> str:
        text = (
            "[mypy]\n"
            "plugins = mypy_session.plugin\n"
            "check_untyped_defs = True\n"
            "show_error_codes = True\n"
            "show_traceback = True\n"
            f"mypy_path = {self.support_dir}\n"
            f"incremental = {incremental}\n"
        )
        extra = CONFIGS[program.config]
        if extra:
            text += extra + f"marker_stubs = {self.stub_dir}\nbaseline = {self.baseline}\n"
        return text + program.options.replace("PKG", pkg)

    def cache_for(self, program: Program) -> Path:
        return self.root / f"cache-{program.config}"

    def write(self, program: Program, pkg: str, *, incremental: bool) -> Path:
        where = Path(tempfile.mkdtemp(prefix="ex-", dir=self.root))
        for rel, text in program.files(pkg).items():
            path = where / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        (where / "mypy.ini").write_text(self.config(program, pkg, incremental=incremental), encoding="utf-8")
        shutil.rmtree(self.stub_dir)
        self.stub_dir.mkdir()
        for rel, text in program.stub_files(pkg).items():
            path = self.stub_dir / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return where

    def check(self, where: Path, pkg: str, cache: Path | str, *extra: str) -> Run:
        return run_mypy(
            ["--config-file", str(where / "mypy.ini"), "--cache-dir", str(cache), *extra, str(where / pkg)]
        )


BASELINE = """{
  "version": 1,
  "tool": "mypy-session",
  "findings": [
    {"fingerprint": "0123456789abcdef0123", "code": "session-not-forwarded", "path": "x.py",
     "function": "f", "message": "m"},
    {"fingerprint": "0123456789abcdef0123-1", "code": "session-nested-scope", "path": "x.py",
     "function": "<module>", "message": "m"}
  ]
}
"""


@pytest.fixture(scope="session")
def workspace() -> Iterator[Workspace]:
    # The strict mode is the point of these tests (tests/conftest.py sets it too).
    debug = os.environ.get(DEBUG_ENV)
    os.environ[DEBUG_ENV] = "1"
    root = Path(tempfile.mkdtemp(prefix="mypy-session-crash-"))
    # mypy raises the recursion limit on its first run; raising it up front keeps
    # hypothesis from warning that a test changed it.
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 2**14))
    yield Workspace(root)
    shutil.rmtree(root, ignore_errors=True)
    if debug is None:
        del os.environ[DEBUG_ENV]
    else:
        os.environ[DEBUG_ENV] = debug


def _compiles(program: Program) -> None:
    for rel, text in program.files("app").items():
        compile(text, rel, "exec")  # a generator bug otherwise: fix tests/program_gen.py


def _fail(program: Program, pkg: str, what: str, *runs: Run) -> None:
    report = [what, program.render(pkg)]
    for run in runs:
        report += [f"--- exit {run.status}", run.stdout, run.stderr, run.captured]
    text = "\n".join(report)
    crash_dir = os.environ.get("MYPY_SESSION_CRASH_DIR")
    if crash_dir:
        Path(crash_dir).mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(program.render().encode()).hexdigest()[:12]
        (Path(crash_dir) / f"crash-{digest}.txt").write_text(text, encoding="utf-8")
    pytest.fail(text, pytrace=False)


def _assert_clean(program: Program, pkg: str, *runs: Run) -> None:
    for run in runs:
        problems = run.problems()
        if problems:
            _fail(program, pkg, "; ".join(problems), run)


# -- the properties ---------------------------------------------------------------------------


def _check_once(workspace: Workspace, program: Program) -> None:
    """One incremental run of a program in a fresh package: it must come out clean."""
    _compiles(program)
    pkg = workspace.fresh_package()
    note(program.render(pkg))
    where = workspace.write(program, pkg, incremental=True)
    try:
        run = workspace.check(where, pkg, workspace.cache_for(program))
        _assert_clean(program, pkg, run)
    finally:
        shutil.rmtree(where, ignore_errors=True)


@_examples(ci=16, long=600)
@given(program=programs())
def test_no_crash(workspace: Workspace, program: Program) -> None:
    _check_once(workspace, program)


@_examples(ci=10, long=400)
@given(program=mutated_cases())
def test_mutated_cases_no_crash(workspace: Workspace, program: Program) -> None:
    """The YAML cases of tests/typecheck, mutated (see `mutated_cases`)."""
    _check_once(workspace, program)


@_examples(ci=1, long=30)
@given(program=programs())
def test_no_crash_without_incremental(workspace: Workspace, program: Program) -> None:
    """Everything from source (SQLAlchemy included), as with `incremental = False`; the
    cache is still written, which is when the plugin stores its function summaries."""
    _compiles(program)
    pkg = workspace.fresh_package()
    note(program.render(pkg))
    where = workspace.write(program, pkg, incremental=False)
    try:
        run = workspace.check(where, pkg, where / ".cache")
        _assert_clean(program, pkg, run)
    finally:
        shutil.rmtree(where, ignore_errors=True)


# Edits applied to one module between the warm run and the last run.
EDITS = ("append_opener", "append_caller", "mark", "drop_session_params", "comment")


def _edit(text: str, kind: str) -> str:
    if kind == "append_opener":
        return text + "\ndef _edited() -> None:\n    with db.session_scope() as s:\n        pass\n"
    if kind == "append_caller":
        return text + "\ndef _edited(session: Session) -> None:\n    _edited2()\n\ndef _edited2() -> None:\n    with db.SessionLocal() as s:\n        pass\n"
    if kind == "mark":
        return text.replace("\ndef svc", "\n@MultiStep\ndef svc", 1).replace("\nasync def svc", "\n@ReadOnly\nasync def svc", 1)
    if kind == "drop_session_params":
        return text.replace("session: Session | None = None", "session_: Session | None = None")
    return text + "\n# edited\n"


@_examples(ci=5, long=150)
@given(program=programs(), edit=st.sampled_from(EDITS), target=st.integers(0, 3))
def test_cold_warm_edited_same_output(
    workspace: Workspace, program: Program, edit: str, target: int
) -> None:
    """SPEC section 8: same findings cold and from a warm cache; and after an edit, the
    warm run agrees with a cold run of the edited program."""
    _compiles(program)
    pkg = workspace.fresh_package()
    note(program.render(pkg))
    cache = workspace.cache_for(program)
    where = workspace.write(program, pkg, incremental=True)
    try:
        cold = workspace.check(where, pkg, cache)
        warm = workspace.check(where, pkg, cache)
        _assert_clean(program, pkg, cold, warm)
        if warm.lines() != cold.lines():
            _fail(program, pkg, "warm output differs from cold output", cold, warm)

        choices = program.editable()
        module = choices[target % len(choices)]
        path = where / pkg / module
        edited_text = _edit(path.read_text(encoding="utf-8"), edit)
        note(f"edit {edit} of {module}")
        path.write_text(edited_text, encoding="utf-8")
        incremental = workspace.check(where, pkg, cache)

        edited = dataclasses.replace(program, sources={**program.sources, module: edited_text.replace(pkg, "PKG")})
        pkg2 = workspace.fresh_package()
        where2 = workspace.write(edited, pkg2, incremental=True)
        try:
            fresh = workspace.check(where2, pkg2, cache)
        finally:
            shutil.rmtree(where2, ignore_errors=True)
        _assert_clean(program, pkg, incremental, fresh)

        def normal(run: Run, root: Path, name: str) -> list[str]:
            text = run.stdout.replace(str(root), "ROOT").replace(name, "PKG")
            return sorted(text.splitlines())

        if normal(incremental, where, pkg) != normal(fresh, where2, pkg2):
            _fail(program, pkg, f"after edit {edit} of {module}: incremental differs from cold", incremental, fresh)
    finally:
        shutil.rmtree(where, ignore_errors=True)


@pytest.mark.skipif(not LONG, reason="~5 s per example: long profile only")
@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
@_examples(ci=1, long=25)
@given(program=programs())
def test_parallel_same_output(workspace: Workspace, program: Program) -> None:
    """SPEC section 8: the same findings with `-n 2` (the workers load the plugin too)."""
    _compiles(program)
    pkg = workspace.fresh_package()
    note(program.render(pkg))
    where = workspace.write(program, pkg, incremental=True)
    try:
        serial = workspace.check(where, pkg, workspace.cache_for(program))
    finally:
        shutil.rmtree(where, ignore_errors=True)
    pkg2 = workspace.fresh_package()
    where2 = workspace.write(program, pkg2, incremental=True)
    try:
        parallel = workspace.check(where2, pkg2, workspace.cache_for(program), "-n", "2")
    finally:
        shutil.rmtree(where2, ignore_errors=True)
    _assert_clean(program, pkg, serial, parallel)

    def normal(run: Run, root: Path, name: str) -> list[str]:
        return sorted(run.stdout.replace(str(root), "ROOT").replace(name, "PKG").splitlines())

    if normal(serial, where, pkg) != normal(parallel, where2, pkg2):
        _fail(program, pkg, "-n 2 output differs from the serial run", serial, parallel)
