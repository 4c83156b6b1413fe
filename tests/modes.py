"""The mode-consistency harness behind tests/test_modes.py (SPEC section 8: the same
findings cold, with a warm incremental cache, under dmypy and with `-n 2`).

Three kinds of corpus are turned into scratch projects:

- the example app `examples/bakery`, copied as is (its own pyproject.toml);
- the sources of the YAML cases under tests/typecheck (pytest-mypy-plugins format), each case
  turned into a package of one combined project (`main` and its `files:` live in the package
  `yc_<case>`; imports of the case's own modules and the fully qualified names in its
  `[mypy_session]` settings are renamed to match; its `[mypy]` settings become a per-module
  section). Cases whose plugin settings would change other cases (`session_param_names`,
  `commit_methods`...) go to a small project of their own;
- a generated service layer from benchmarks/corpus.py.

Each project knows one edit of a callee's signature (a session parameter added or removed,
a marker added to an undecorated function) and what it must change in the findings, so
that "the incremental run matches a cold run" cannot pass because nothing happened.

A finding is a plugin error: file, line, code and message. Findings of two runs are compared
as sorted lists; a mismatch is shown as the findings only one of the two runs reported.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import io
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import yaml
from mypy.options import PER_MODULE_OPTIONS

from mypy_session import errorcodes
from tests.helpers import MYPY_2

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "bakery"
TYPECHECK = REPO / "tests" / "typecheck"
BASE_INI = REPO / "tests" / "mypy.ini"
CORPUS_SCRIPT = REPO / "benchmarks" / "corpus.py"

# The plugin's own codes (read from the package, so new checks are covered as they land).
PLUGIN_CODES = frozenset(
    code.code
    for code in vars(errorcodes).values()
    if getattr(code, "category", None) == errorcodes.CATEGORY
)


def is_plugin_code(code: str) -> bool:
    return code in PLUGIN_CODES or code.startswith("session-") or code == "service-boundary"


# --------------------------------------------------------------------------------------
# Findings


@dataclass(frozen=True, order=True)
class Finding:
    path: str
    line: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.code}] {self.message}"


_ERROR = re.compile(
    r"^(?P<path>[^:\n]+):(?P<line>\d+)(?::\d+)?(?::\d+:\d+)?: error: (?P<message>.*?)"
    r"  \[(?P<code>[a-z0-9-]+)\]$"
)


def parse_findings(output: str, root: Path) -> list[Finding]:
    """The plugin's errors in mypy's (or dmypy's) output, sorted."""
    found = []
    for line in output.splitlines():
        match = _ERROR.match(line)
        if match is None or not is_plugin_code(match["code"]):
            continue
        path = Path(match["path"])
        if path.is_absolute():
            try:
                path = path.relative_to(root)
            except ValueError:
                pass
        found.append(Finding(path.as_posix(), int(match["line"]), match["code"], match["message"]))
    return sorted(found)


def diff(label_a: str, a: Sequence[Finding], label_b: str, b: Sequence[Finding]) -> str:
    """'' when both runs reported the same findings, else a readable list of differences."""
    count_a, count_b = Counter(a), Counter(b)
    if count_a == count_b:
        return ""
    only_a = sorted((count_a - count_b).elements())
    only_b = sorted((count_b - count_a).elements())
    out = [f"findings differ: {label_a} ({len(a)}) vs {label_b} ({len(b)})"]
    out.append(f"  only in {label_a} ({len(only_a)}):")
    out += [f"    - {f}" for f in only_a] or ["    (none)"]
    out.append(f"  only in {label_b} ({len(only_b)}):")
    out += [f"    + {f}" for f in only_b] or ["    (none)"]
    return "\n".join(out)


# --------------------------------------------------------------------------------------
# Running mypy and the daemon


@dataclass
class Run:
    label: str
    command: list[str]
    status: int
    stdout: str
    stderr: str
    seconds: float  # wall clock
    cpu: float  # user + system of the process and its children (not of a daemon)
    findings: list[Finding]

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.command)}\n(exit {self.status}, {self.seconds:.1f} s)\n"
            f"--- stdout ---\n{self.stdout[-6000:]}\n--- stderr ---\n{self.stderr[-6000:]}"
        )


class RunFailed(AssertionError):
    pass


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # The plugin re-raises instead of skipping code it cannot handle: a bug in one mode is
    # a crash here (and a failing test), not a finding silently missing from that mode.
    env["MYPY_SESSION_DEBUG"] = "1"
    env.pop("MYPY_SESSION_CONFIG_FILE", None)
    env.pop("MYPYPATH", None)
    return env


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _execute(label: str, root: Path, command: list[str], timeout: float = 900) -> Run:
    start, cpu = time.monotonic(), _cpu()
    proc = subprocess.run(
        command, cwd=root, capture_output=True, text=True, env=_env(), timeout=timeout
    )
    seconds, cpu = time.monotonic() - start, _cpu() - cpu
    run = Run(label, command, proc.returncode, proc.stdout, proc.stderr, seconds, cpu, [])
    both = proc.stdout + proc.stderr
    if any(s in both for s in ("Traceback (most recent call last)", "INTERNAL ERROR", "Daemon crashed")):
        raise RunFailed(f"{label}: crashed\n{run.describe()}")
    run.findings = parse_findings(proc.stdout, root)
    return run


@dataclass
class Project:
    """A scratch project on disk, how to check it, its edit and what the edit must change."""

    name: str
    root: Path
    targets: tuple[str, ...]
    flags: tuple[str, ...] = ()
    edits: tuple[Edit, ...] = ()
    expect: tuple[Expect, ...] = ()
    extra_check: Callable[[list[Finding], list[Finding]], None] | None = None
    runs: list[Run] = field(default_factory=list)
    _before: dict[str, str] = field(default_factory=dict)  # edited files' text before the edit

    def mypy(self, label: str, cache: Path, *extra: str) -> Run:
        command = [
            sys.executable, "-m", "mypy", "--cache-dir", str(cache), *extra, *self.flags, *self.targets
        ]
        run = _execute(label, self.root, command)
        self.runs.append(run)
        if run.status not in (0, 1):
            raise RunFailed(f"{label}: mypy stopped\n{run.describe()}")
        return run

    def apply_edits(self) -> None:
        """Apply the edit; `change_problem` then checks what it changed."""
        self._before = {e.path: (self.root / e.path).read_text(encoding="utf-8") for e in self.expect}
        for edit in self.edits:
            edit.apply(self.root)

    def change_problem(self, before: list[Finding], after: list[Finding]) -> str:
        """'' when the edit changed the findings where expected (cold before vs cold after)."""
        problems = []
        if Counter(before) == Counter(after):
            problems.append("the edit changed no finding")
        for expect in self.expect:
            old_text = self._before[expect.path]
            new_text = (self.root / expect.path).read_text(encoding="utf-8")
            problem = expect.check(before, after, old_text, new_text)
            if problem:
                problems.append(problem)
        if self.extra_check is not None:
            try:
                self.extra_check(before, after)
            except AssertionError as exc:
                problems.append(str(exc))
        if not problems:
            return ""
        return (
            f"{self.name}: the edit did not change the findings as expected:\n  "
            + "\n  ".join(problems)
            + "\n"
            + diff("cold before the edit", before, "cold after the edit", after)
        )

    def timings(self) -> str:
        return ", ".join(f"{r.label} {r.seconds:.1f}s (cpu {r.cpu:.1f}s)" for r in self.runs)


@dataclass(frozen=True)
class Edit:
    """Replace `old` (which must occur exactly once) by `new` in one file."""

    path: str
    old: str
    new: str

    def apply(self, root: Path) -> None:
        file = root / self.path
        text = file.read_text(encoding="utf-8")
        count = text.count(self.old)
        if count != 1:
            raise AssertionError(
                f"edit anchor found {count} times in {self.path} (update tests/modes.py): {self.old!r}"
            )
        file.write_text(text.replace(self.old, self.new), encoding="utf-8")


@dataclass(frozen=True)
class Expect:
    """On the line of `path` that contains `anchor` (located before and after the edit), a
    finding with `code_before` before the edit (if given), none with it after (if it
    differs), and one with `code_after` after the edit (if given)."""

    path: str
    anchor: str
    code_before: str | None
    code_after: str | None

    def _line(self, text: str) -> int:
        lines = [n for n, t in enumerate(text.splitlines(), 1) if self.anchor in t]
        if len(lines) != 1:
            raise AssertionError(
                f"anchor found on {len(lines)} lines of {self.path} (update tests/modes.py): {self.anchor!r}"
            )
        return lines[0]

    def check(self, before: list[Finding], after: list[Finding], old: str, new: str) -> str:
        line_before, line_after = self._line(old), self._line(new)
        codes_before = {f.code for f in before if f.path == self.path and f.line == line_before}
        codes_after = {f.code for f in after if f.path == self.path and f.line == line_after}
        where = f"{self.path}:{line_before}->{line_after} ({self.anchor.strip()!r})"
        if self.code_before and self.code_before not in codes_before:
            return f"{where}: expected {self.code_before} before the edit, got {sorted(codes_before)}"
        if self.code_before and self.code_before != self.code_after and self.code_before in codes_after:
            return f"{where}: {self.code_before} still reported after the edit"
        if self.code_after and self.code_after not in codes_after:
            return f"{where}: expected {self.code_after} after the edit, got {sorted(codes_after)}"
        return ""


class Daemon:
    """`mypy-session dmypy` with a status file of its own; always stopped by `close()`."""

    def __init__(self, project: Project, state: Path) -> None:
        self.project = project
        state.mkdir(parents=True, exist_ok=True)
        self.status_file = state / "dmypy.json"
        self.log_file = state / "dmypy.log"

    def _client(self, label: str, *args: str, timeout: float = 900) -> Run:
        command = [
            sys.executable, "-m", "mypy_session", "dmypy", "--status-file", str(self.status_file), *args
        ]
        try:
            run = _execute(label, self.project.root, command, timeout=timeout)
        except RunFailed as exc:
            raise RunFailed(f"{exc}\n--- daemon log ---\n{self._log()}") from None
        self.project.runs.append(run)
        return run

    def _log(self) -> str:
        try:
            return self.log_file.read_text(encoding="utf-8", errors="replace")[-6000:]
        except OSError:
            return "(no log)"

    def _checked(self, run: Run) -> Run:
        # dmypy exits 2 when the daemon fails (died, stuck, not started), 1 on errors found
        if run.status not in (0, 1):
            raise RunFailed(f"{run.label}: dmypy failed\n{run.describe()}\n--- daemon log ---\n{self._log()}")
        return run

    def run(self, cache: Path) -> Run:
        # --timeout: an orphaned daemon (a killed test run) goes away by itself.
        return self._checked(
            self._client(
                "dmypy run",
                "run", "--timeout", "900", "--log-file", str(self.log_file), "--",
                "--cache-dir", str(cache), *self.project.flags, *self.project.targets,
            )
        )

    def check(self) -> Run:
        return self._checked(self._client("dmypy check", "check", *self.project.targets))

    def _record_daemon_cpu(self, pid: int) -> None:
        """The daemon is not a child of ours: read its CPU time from /proc (Linux)."""
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            ticks = int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
            cpu = ticks / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return
        self.project.runs.append(Run("daemon process", [], 0, "", "", 0.0, cpu, []))

    def close(self) -> None:
        pid = None
        try:
            pid = json.loads(self.status_file.read_text(encoding="utf-8")).get("pid")
        except (OSError, ValueError, AttributeError):
            pass
        if pid is None:
            return
        self._record_daemon_cpu(pid)
        try:
            self._client("dmypy stop", "stop", timeout=60)
        except (RunFailed, subprocess.TimeoutExpired):
            pass
        # Only the daemon this object started, by its recorded id.
        for _ in range(50):
            try:
                os.kill(pid, 0)
            except (ProcessLookupError, PermissionError):
                return
            time.sleep(0.1)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --------------------------------------------------------------------------------------
# The mode checks (each collects every mismatch and fails once, with all the diffs)


def check_cold_warm_parallel(
    project: Project, caches: Path, parallel: bool = True, parallel_warm: bool = False
) -> None:
    cold = project.mypy("cold", caches / "serial")
    problems = [diff("cold", cold.findings, "warm", project.mypy("warm", caches / "serial").findings)]
    if parallel:
        again = project.mypy("-n 2 cold", caches / "parallel", "-n", "2")
        problems.append(diff("cold", cold.findings, "-n 2 cold", again.findings))
    if parallel and parallel_warm:
        warm = project.mypy("-n 2 warm", caches / "parallel", "-n", "2")
        problems.append(diff("cold", cold.findings, "-n 2 warm", warm.findings))
    report(project, problems)


def check_signature_edit(project: Project, caches: Path, parallel: bool = False) -> None:
    before = project.mypy("cold", caches / "serial")
    if parallel:
        project.mypy("-n 2 cold", caches / "parallel", "-n", "2")
    project.apply_edits()
    incremental = project.mypy("incremental after the edit", caches / "serial")
    after = project.mypy("cold after the edit", caches / "serial-after-edit")
    problems = [diff("cold after the edit", after.findings, "incremental after the edit", incremental.findings)]
    if parallel:
        again = project.mypy("-n 2 incremental after the edit", caches / "parallel", "-n", "2")
        problems.append(diff("cold after the edit", after.findings, "-n 2 incremental after the edit", again.findings))
    report(project, problems, project.change_problem(before.findings, after.findings))


def check_daemon(project: Project, caches: Path, state: Path) -> None:
    cold = project.mypy("cold", caches / "serial")
    daemon = Daemon(project, state)
    problems = []
    change = ""
    try:
        problems.append(diff("cold", cold.findings, "dmypy run", daemon.run(caches / "daemon").findings))
        if project.edits:
            project.apply_edits()
            checked = daemon.check()
            after = project.mypy("cold after the edit", caches / "serial-after-edit")
            problems.append(diff("cold after the edit", after.findings, "dmypy check after the edit", checked.findings))
            change = project.change_problem(cold.findings, after.findings)
    finally:
        daemon.close()
    report(project, problems, change)


class ModesDisagree(AssertionError):
    """Two modes reported different findings (a crash is a RunFailed instead)."""


def report(project: Project, problems: Iterable[str], change: str = "") -> None:
    """Fail with every mode mismatch (and a failed edit expectation, if any)."""
    total = sum(run.cpu for run in project.runs)
    print(f"{project.name}: {len(project.runs)} runs, cpu {total:.1f}s: {project.timings()}")
    found = [p for p in problems if p]
    if found:
        raise ModesDisagree(
            f"{project.name}: modes disagree\n\n" + "\n\n".join([*found, change]).rstrip()
            + f"\n\nruns: {project.timings()}"
        )
    if change:
        raise AssertionError(change)


# --------------------------------------------------------------------------------------
# Corpus (a): the example app


def bakery(dest: Path) -> Project:
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(".mypy_cache", "__pycache__", ".dmypy.json"))
    svc = "bakery/services/"
    return Project(
        name="bakery",
        root=dest,
        targets=("bakery",),
        # mypy 1.x rejects a plugin's code on the command line (it checks before it loads
        # plugins): there the off-by-default check stays off.
        flags=("--enable-error-code", "session-detached-return") if MYPY_2 else (),
        edits=(
            # A cross-module callee gains a session parameter: its callers' findings change.
            Edit(
                svc + "ingredient_service.py",
                "def low_stock_report() -> list[IngredientInfo]:",
                "def low_stock_report(session: Session | None = None) -> list[IngredientInfo]:",
            ),
            # A marker on an undecorated callee: a deliberate own transaction.
            Edit(
                svc + "finished_goods_inventory_service.py",
                "\ndef publish_storefront_availability() -> None:",
                "\n@OwnTransaction\ndef publish_storefront_availability() -> None:",
            ),
            Edit(
                svc + "finished_goods_inventory_service.py",
                "from mypy_session import ",
                "from mypy_session import OwnTransaction, ",
            ),
        ),
        expect=(
            Expect(svc + "ingredient_service.py", "def low_stock_report(", "session-missing-param", None),
            Expect(
                svc + "production_service.py",
                "for info in low_stock_report():",
                "session-callee-opens-scope",
                "session-read-not-forwarded",
            ),
            Expect(svc + "assembly_service.py", "publish_storefront_availability()  #", "session-callee-opens-scope", None),
        ),
    )


# --------------------------------------------------------------------------------------
# Corpus (c): a generated service layer


def _corpus_module() -> ModuleType:
    """benchmarks/corpus.py, imported by path (benchmarks/ is not a package)."""
    name = "_mypy_session_bench_corpus"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, CORPUS_SCRIPT)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while defining
        spec.loader.exec_module(module)
    return sys.modules[name]


def generated(dest: Path, modules: int, functions: int, seed: int = 0, drop_rate: float = 0.05) -> Project:
    corpus = _corpus_module()
    dest.mkdir(parents=True, exist_ok=True)
    corpus.generate(dest, modules=modules, functions=functions, seed=seed, drop_rate=drop_rate)
    (dest / "pyproject.toml").write_text(
        '[tool.mypy]\nstrict = true\nplugins = ["mypy_session.plugin"]\n', encoding="utf-8"
    )
    package = dest / corpus.PACKAGE
    services = sorted((package / "services").glob("svc_*.py"))
    texts = {p: p.read_text(encoding="utf-8") for p in services}

    # Edit 1: the shared helper called most often gains a session parameter, so every call
    # of it made where a session is held (in many modules) becomes session-not-forwarded.
    helpers = [name for name, *_ in corpus.COMMON_HELPERS]
    helper = max(helpers, key=lambda h: sum(t.count(f"{h}(") for t in texts.values()))
    common = package / "common.py"
    match = re.search(rf"^def {helper}\((.*)\) -> ", common.read_text(encoding="utf-8"), re.M)
    assert match, helper
    edits = [
        Edit(f"{corpus.PACKAGE}/common.py", match.group(0),
             f"def {helper}({match.group(1)}, session: Session | None = None) -> "),
        Edit(f"{corpus.PACKAGE}/common.py", "from __future__ import annotations\n",
             "from __future__ import annotations\n\nfrom sqlalchemy.orm import Session\n"),
    ]
    expect: list[Expect] = []

    # Edit 2: the callee of a deliberately dropped cross-module call is marked ReadOnly
    # (a decorator added to an undecorated function): the finding's code changes.
    manifest = json.loads((dest / corpus.MANIFEST).read_text(encoding="utf-8"))
    for drop in manifest["dropped"]:
        site = dest / drop["path"]
        line = site.read_text(encoding="utf-8").splitlines()[drop["line"] - 1]
        call = next(n for n in ast.walk(ast.parse(line.strip())) if isinstance(n, ast.Call))
        callee = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
        homes = [p for p, t in texts.items() if re.search(rf"^def {callee}\(", t, re.M)]
        if len(homes) != 1 or homes[0] == site:
            continue  # async, or not cross-module
        home = homes[0].relative_to(dest).as_posix()
        edits += [
            Edit(home, f"\ndef {callee}(", f"\n@ReadOnly\ndef {callee}("),
            Edit(home, "from __future__ import annotations\n",
                 "from __future__ import annotations\n\nfrom mypy_session import ReadOnly\n"),
        ]
        anchor = line.strip()
        if sum(anchor in t for t in site.read_text(encoding="utf-8").splitlines()) == 1:
            expect.append(Expect(drop["path"], anchor, "session-not-forwarded", "session-read-not-forwarded"))
        break

    def helper_calls_flagged(before: list[Finding], after: list[Finding]) -> None:
        new = [f for f in Counter(after) - Counter(before)
               if f.code == "session-not-forwarded" and f'"{helper}"' in f.message]
        modules = {f.path for f in new}
        assert len(modules) >= 2, f"expected calls of {helper} flagged in 2+ modules, got {sorted(modules)}"

    return Project(
        name=f"generated-{modules}x{functions}",
        root=dest,
        targets=(corpus.PACKAGE,),
        edits=tuple(edits),
        expect=tuple(expect),
        extra_check=helper_calls_flagged,
    )


# --------------------------------------------------------------------------------------
# Corpus (b): the sources of the YAML cases


class Unsupported(Exception):
    """A case that cannot be placed in the combined project (the reason is the message)."""


GroupKey = tuple[tuple[str, str, str], ...]  # (section, key, value) settings of a project


@dataclass
class Case:
    name: str  # the YAML case name
    source: str  # "dir/test-x.yml::case"
    package: str  # yc_<case>
    files: dict[str, str]  # path in the project -> text
    per_module: dict[str, dict[str, str]]  # mypy section -> settings
    mergeable: dict[str, list[str]]  # [mypy_session] list settings that only add names
    global_settings: GroupKey  # settings that would affect other cases
    stand_ins: dict[str, str] = field(default_factory=dict)  # top-level path -> text (see _STAND_INS)


@dataclass
class YamlCorpus:
    groups: dict[GroupKey, list[Case]]
    skipped: dict[str, str]  # source -> reason


# [mypy_session] settings that only add fully qualified names to a default list, so the
# renamed names of one case cannot change another case.
_ADDITIVE = ("session_types", "scope_factories")

# Third-party packages the plugin knows by their module name (`ownership`: FastAPI's and
# Starlette's `Depends`). A case's stand-in for one keeps its name, at the top of the
# project, shared by the cases that bring the same text: renamed into the case's package
# (`yc_<case>.fastapi.Depends`) it would be another program, whose findings differ.
_STAND_INS = frozenset(("fastapi", "starlette"))
_ABSENT = "stand_ins"  # the group key's section for the stand-ins a case must not see


def _imported_tops(texts: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for text in texts:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue  # reported by `_rewrite_imports`
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
    return found


def _package_name(case: str, taken: set[str]) -> str:
    base = "yc_" + re.sub(r"\W", "_", case).strip("_").lower()
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}_{n}"
    taken.add(name)
    return name


def _module_name(path: str) -> str:
    if not path.endswith((".py", ".pyi")) or path.startswith(("/", "..")):
        raise Unsupported(f"file {path!r} is not a module")
    name = path.rsplit(".", 1)[0].replace("/", ".")
    if name.endswith(".__init__"):
        name = name[: -len(".__init__")]
    if not all(part.isidentifier() for part in name.split(".")):
        raise Unsupported(f"file {path!r} is not a module")
    return name


def _rename(name: str, tops: set[str], package: str) -> str:
    return f"{package}.{name}" if name.split(".")[0] in tops else name


def _rewrite_imports(text: str, tops: set[str], package: str) -> str:
    """Point imports of the case's own modules into its package, keeping line numbers."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        raise Unsupported(f"does not parse: {exc}") from None
    lines = text.splitlines(keepends=True)
    # (line index, start col, end col, replacement), applied right to left.
    changes: list[tuple[int, int, int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] not in tops:
                continue
            line = lines[node.lineno - 1]
            pattern = re.compile(r"from\s+" + re.escape(node.module) + r"(?=\s)")
            match = pattern.match(line, node.col_offset)
            if match is None:
                raise Unsupported(f"cannot rewrite the import on line {node.lineno}")
            changes.append((node.lineno - 1, match.start(), match.end(), f"from {package}.{node.module}"))
        elif isinstance(node, ast.Import):
            if not any(a.name.split(".")[0] in tops for a in node.names):
                continue
            if node.end_lineno != node.lineno:
                raise Unsupported(f"multi-line import on line {node.lineno}")
            parts = []
            for alias in node.names:
                if alias.name.split(".")[0] in tops:
                    if "." in alias.name:
                        raise Unsupported(f"dotted import of a case module: {alias.name}")
                    parts.append(f"from {package} import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
                else:
                    parts.append(f"import {alias.name}" + (f" as {alias.asname}" if alias.asname else ""))
            changes.append((node.lineno - 1, node.col_offset, node.end_col_offset or 0, "; ".join(parts)))
    for index, start, end, new in sorted(changes, reverse=True):
        line = lines[index]
        lines[index] = line[:start] + new + line[end:]
    return "".join(lines)


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def convert_case(raw: dict, source: str, taken: set[str]) -> Case:
    for key in ("parametrized", "env"):
        if raw.get(key):
            raise Unsupported(f"uses {key!r}")
    if raw.get("skip") not in (None, False, "False", "false"):
        raise Unsupported("skipped in the YAML suite")
    if not isinstance(raw.get("main"), str):
        raise Unsupported("no main")
    sources = {"main.py": raw["main"]}
    for entry in raw.get("files") or []:
        sources[entry["path"]] = entry.get("content") or ""
    modules = {path: _module_name(path) for path in sources}
    stand_ins = {path: sources.pop(path) for path, name in modules.items() if name.split(".")[0] in _STAND_INS}
    brought = {name.split(".")[0] for name in modules.values()}
    # A case that imports a framework it does not bring (FastAPI not installed) must not
    # see another case's stand-in: a project of its own.
    absent = sorted((_imported_tops(sources.values()) & _STAND_INS) - brought)
    tops = brought - _STAND_INS
    package = _package_name(raw["case"], taken)
    files = {f"{package}/__init__.py": ""}
    for path, text in sources.items():
        parts = path.split("/")[:-1]
        for i in range(len(parts)):
            files.setdefault("/".join([package, *parts[: i + 1], "__init__.py"]), "")
        files[f"{package}/{path}"] = _rewrite_imports(text, tops, package)

    # Settings, joined to the base config the way pytest-mypy-plugins does.
    config_text = raw.get("mypy_config") or ""
    if config_text and "[mypy]" not in config_text:
        config_text = "[mypy]\n" + config_text
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    try:
        parser.read_string(config_text)
    except configparser.Error as exc:
        raise Unsupported(f"mypy_config does not parse: {exc}") from None
    per_module: dict[str, dict[str, str]] = {}
    mergeable: dict[str, list[str]] = {}
    global_settings: list[tuple[str, str, str]] = []
    for section in parser.sections():
        items = dict(parser.items(section))
        if section == "mypy":
            for key in items:
                if key not in PER_MODULE_OPTIONS:
                    raise Unsupported(f"global mypy setting {key!r}")
            if items:
                per_module[f"mypy-{package}.*"] = items
        elif section.startswith("mypy-"):
            patterns = [_rename(p, tops, package) for p in _split(section[len("mypy-"):])]
            if any(not p.startswith(package + ".") for p in patterns):
                raise Unsupported(f"section [{section}] is about other modules")
            per_module[f"mypy-{','.join(patterns)}"] = items
        elif section == "mypy_session":
            for key, value in items.items():
                names = _split(value)
                renamed = [_rename(n, tops, package) for n in names]
                if key in _ADDITIVE and all(n.split(".")[0] in tops for n in names):
                    mergeable.setdefault(key, []).extend(renamed)
                else:
                    global_settings.append((section, key, ", ".join(renamed)))
        else:
            for key, value in items.items():
                global_settings.append((section, key, value))
    if absent:
        global_settings.append((_ABSENT, "absent", ", ".join(absent)))
    return Case(
        raw["case"], source, package, files, per_module, mergeable, tuple(sorted(global_settings)), stand_ins
    )


def load_yaml_corpus() -> YamlCorpus:
    groups: dict[GroupKey, list[Case]] = {}
    skipped: dict[str, str] = {}
    taken: set[str] = set()
    for file in sorted(TYPECHECK.rglob("test-*.yml")):
        for raw in yaml.safe_load(file.read_text(encoding="utf-8")) or []:
            source = f"{file.relative_to(TYPECHECK).as_posix()}::{raw.get('case')}"
            try:
                case = convert_case(raw, source, taken)
            except Unsupported as exc:
                skipped[source] = str(exc)
                continue
            group = groups.setdefault(case.global_settings, [])
            clash = _stand_in_clash(case, group)
            if clash:
                skipped[source] = clash
                continue
            group.append(case)
    # The combined project first, then one project per set of non-combinable settings.
    groups = dict(sorted(groups.items(), key=lambda item: (item[0] != (), item[0])))
    return YamlCorpus(groups, skipped)


def _stand_in_clash(case: Case, group: list[Case]) -> str:
    """Why `case` cannot join `group`: another text for a stand-in the group shares."""
    for other in group:
        for path, text in case.stand_ins.items():
            if other.stand_ins.get(path, text) != text:
                return f"its {path!r} differs from that of {other.name!r}"
    return ""


def group_id(settings: GroupKey) -> str:
    if not settings:
        return "yaml-combined"
    return "yaml-" + "-".join(re.sub(r"[^a-z0-9]+", "_", f"{k}={v}".lower()).strip("_") for _, k, v in settings)


def _ini_value(value: str) -> str:
    return value.replace("\n", "\n    ")


def write_yaml_project(dest: Path, settings: GroupKey, cases: list[Case]) -> Project:
    base = configparser.ConfigParser(interpolation=None)
    base.optionxform = str  # type: ignore[assignment,method-assign]
    base.read(BASE_INI)
    out = io.StringIO()
    out.write("[mypy]\n")
    for key, value in base.items("mypy"):
        out.write(f"{key} = {_ini_value(value)}\n")
    plugin: dict[str, list[str]] = {}
    for case in cases:
        for key, names in case.mergeable.items():
            plugin.setdefault(key, []).extend(names)
    sections: dict[str, dict[str, str]] = {}
    for section, key, value in settings:
        if section == "mypy_session":
            plugin[key] = [value]
        elif section == _ABSENT:
            continue
        else:
            sections.setdefault(section, {})[key] = value
    if plugin:
        out.write("\n[mypy_session]\n")
        for key, values in plugin.items():
            out.write(f"{key} = {', '.join(values)}\n")
    for section, items in sections.items():
        out.write(f"\n[{section}]\n" + "".join(f"{k} = {_ini_value(v)}\n" for k, v in items.items()))
    for case in cases:
        for section, items in case.per_module.items():
            out.write(f"\n[{section}]\n" + "".join(f"{k} = {_ini_value(v)}\n" for k, v in items.items()))
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "mypy.ini").write_text(out.getvalue(), encoding="utf-8")
    for case in cases:
        for path, text in [*case.stand_ins.items(), *case.files.items()]:
            file = dest / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")

    by_name = {case.name: case for case in cases}
    edits: list[Edit] = []
    expect: list[Expect] = []
    if not settings:
        for name, case_edits, case_expect in YAML_EDITS:
            edited = by_name.get(name)
            if edited is None:
                raise AssertionError(f"YAML case {name!r} (edited by tests/modes.py) is missing from the combined project")
            package = edited.package
            edits += [Edit(f"{package}/{e.path}", e.old, e.new) for e in case_edits]
            expect += [Expect(f"{package}/{x.path}", x.anchor, x.code_before, x.code_after) for x in case_expect]
    return Project(
        name=group_id(settings),
        root=dest,
        targets=tuple(sorted({case.package for case in cases})),
        edits=tuple(edits),
        expect=tuple(expect),
    )


_ANNOTATION = re.compile(r"# E: (?P<message>.*?)  \[(?P<code>[a-z0-9-]+)\]")


def check_reproduces_yaml_expectations(project: Project) -> None:
    """The combined project reproduces the YAML cases: its cold plugin findings are exactly
    the `# E: message  [code]` annotations (on plugin codes) of the cases' sources."""
    expected = []
    for file in sorted(project.root.rglob("*.py")):
        path = file.relative_to(project.root).as_posix()
        for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
            for match in _ANNOTATION.finditer(text):
                if is_plugin_code(match["code"]):
                    expected.append(Finding(path, number, match["code"], match["message"]))
    cold = next(run for run in project.runs if run.label == "cold")
    problem = diff("YAML annotations", sorted(expected), "cold run of the combined project", cold.findings)
    assert not problem, f"{project.name}: the combined project does not reproduce the YAML cases\n{problem}"


# Signature edits in the combined YAML project: (case, edits, expected changes), with paths
# relative to the case's package.
YAML_EDITS: list[tuple[str, list[Edit], list[Expect]]] = [
    (
        # The ReadOnly callee loses its session parameter in its own module.
        "markers_across_modules",
        [Edit("services.py", "def describe(slug: str, session: Session | None = None) -> str:", "def describe(slug: str) -> str:")],
        [
            Expect("main.py", 'describe("x")', "session-read-not-forwarded", None),
            Expect("services.py", "def describe(", None, "session-missing-param"),
        ],
    ),
    (
        # A plain callee two modules away gains an (untyped) session parameter.
        "chain_across_modules",
        [Edit("restock.py", "def tidy() -> None:", "def tidy(session=None) -> None:")],
        [Expect("main.py", "tidy()", None, "session-not-forwarded")],
    ),
]


# --------------------------------------------------------------------------------------
# The daemon's limits (docs/known-problems.md, "Under dmypy, some edits reach callers only
# when they are re-checked"): edits that are not signature edits. mypy's fine-grained
# update re-checks a caller when a trigger fires for what it uses (the callee's symbol
# snapshot changed) and re-checks every target that had errors before; a caller without
# errors whose callee changed only in what the plugin knows about it (a body, a marker next
# to another decorator, a marker stub) keeps its old, empty, result. Each case's caller is
# such a target. Kept as strict expected failures, so a fix shows up.

_LIMITS_FILES = {
    "mypy.ini": (
        "[mypy]\nplugins = mypy_session.plugin\ncheck_untyped_defs = True\n"
        "[mypy_session]\nmarker_stubs = markers\n"
    ),
    "markers/vendor/legacy.pyi": "from mypy_session import OwnTransaction\n@OwnTransaction\ndef lookup(key, session=None): ...\n",
    "db.py": (
        "from contextlib import contextmanager\nfrom typing import Iterator\n"
        "from sqlalchemy.orm import Session, sessionmaker\nSessionLocal = sessionmaker()\n\n"
        "@contextmanager\ndef session_scope() -> Iterator[Session]:\n    with SessionLocal() as s:\n        yield s\n"
    ),
    "vendor/__init__.py": "",
    "vendor/legacy.py": "def lookup(key, session=None):\n    return key\n",
    "app/__init__.py": "",
    "app/inventory.py": "def consume_fifo() -> None:\n    pass\n",
    "app/services.py": (
        "from collections.abc import Callable\nfrom typing import ParamSpec, TypeVar\n"
        "from sqlalchemy.orm import Session\nfrom mypy_session import OwnTransaction, ReadOnly\n"
        "from app.inventory import consume_fifo\n\n"
        'P = ParamSpec("P")\nR = TypeVar("R")\n\n'
        "def traced(fn: Callable[P, R]) -> Callable[P, R]:\n    return fn\n\n"
        "@OwnTransaction\n@traced\ndef describe(key: int, session: Session | None = None) -> str:\n    return str(key)\n\n"
        "def restock() -> None:\n    consume_fifo()\n"
    ),
    "app/caller.py": (
        "from sqlalchemy.orm import Session\n"
        "from app.services import describe, restock\nfrom vendor.legacy import lookup\n\n"
        "def assemble(session: Session) -> None:\n"
        "    restock()\n    lookup(1)\n    describe(2)\n"
    ),
}

# Edits the plugin's own facts follow under dmypy (the caller depends on the callee's
# facts, `mypy_session/daemon_deps.py`): name -> (edits, expected change of the findings).
# Each was a documented daemon limit before.
DAEMON_FACT_EDITS: dict[str, tuple[tuple[Edit, ...], Expect]] = {
    # a body-only edit that makes a callee (here two calls away) open a scope
    "body-only-edit-of-a-callee": (
        (Edit("app/inventory.py", "def consume_fifo() -> None:\n    pass\n",
              "from db import session_scope\n\ndef consume_fifo() -> None:\n"
              "    with session_scope() as s:\n        s.flush()\n"),),
        Expect("app/caller.py", "restock()", None, "session-callee-opens-scope"),
    ),
    # swapping one marker for another on a function that keeps a decorator
    "marker-swap-next-to-another-decorator": (
        (Edit("app/services.py", "@OwnTransaction\n@traced", "@ReadOnly\n@traced"),),
        Expect("app/caller.py", "describe(2)", None, "session-read-not-forwarded"),
    ),
    # removing the marker from such a function
    "marker-removed-next-to-another-decorator": (
        (Edit("app/services.py", "@OwnTransaction\n@traced", "@traced"),),
        Expect("app/caller.py", "describe(2)", None, "session-not-forwarded"),
    ),
}

# What dmypy still misses: name -> (documented in docs/known-problems.md, edits, expected
# change of the cold findings).
DAEMON_LIMITS: dict[str, tuple[bool, tuple[Edit, ...], Expect]] = {
    # editing a marker stub (not a module of the build: nothing tells dmypy it changed)
    "marker-stub-edit": (
        True,
        (Edit("markers/vendor/legacy.pyi", "@OwnTransaction\n", ""),),
        Expect("app/caller.py", "lookup(1)", None, "session-not-forwarded"),
    ),
}


def daemon_limit(dest: Path, which: str) -> Project:
    for name, text in _LIMITS_FILES.items():
        file = dest / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    if which in DAEMON_FACT_EDITS:
        edits, expect = DAEMON_FACT_EDITS[which]
    else:
        _, edits, expect = DAEMON_LIMITS[which]
    return Project(
        name=f"daemon-limit-{which}", root=dest, targets=("app", "vendor", "db.py"), edits=edits, expect=(expect,)
    )
