"""Run the mypy-session plugin over large public SQLAlchemy code that nobody here wrote.

For each target (a package from PyPI) the script

1. installs the package, pinned, into a virtual environment of its own under the work
   directory (``/tmp/mypy-session-realcode/<target>/venv`` by default), with the venv's
   ordinary ``pip``; nothing is installed into the Python that runs this script;
2. copies the package's ``.py`` files out of ``site-packages`` into ``<target>/src``. The
   plugin treats files under ``site-packages`` as library code (it computes no function
   summaries there, so ``session-callee-opens-scope`` could not fire), so the checked code
   must live outside it, as a project's own code does. mypy still resolves every third-party
   import through the venv (``python_executable``);
3. writes two mypy configs that differ only in ``plugins = ["mypy_session.plugin"]`` (both
   carry the target's ``[tool.mypy_session]`` settings: mypy ignores the section when the
   plugin is not loaded);
4. runs ``python -m mypy`` (the mypy of this interpreter) on a subset of the package, plain
   and with the plugin, side by side in alternating order, each run with its own fresh,
   empty ``--cache-dir``, one at a time; it records wall time, CPU time and peak RSS of each
   mypy process (``os.wait4``);
5. before the timed runs, one untimed run with the plugin and ``MYPY_SESSION_DEBUG=1``:
   the plugin then re-raises what it would otherwise skip quietly, so an exception that a
   normal run hides shows up as a crash (this run also warms the OS file cache);
6. counts crashes (exit status 2 or more, ``INTERNAL ERROR``, ``Traceback``), checks that
   the plugin's output differs from plain mypy's only by the plugin's own error lines, and
   collects the plugin's findings (``[session-*]`` errors) by code;
7. writes ``benchmarks/results/realcode-<target>.json`` and ``.md`` and prints a summary.

Usage: ``python benchmarks/realcode.py --target prefect|airflow|mlflow|all [--rounds N] ...``.
Exit status: 0 when every run completed without a crash and the outputs agree, 1 on a
crash, a timeout or an output difference, 2 when the set-up fails.
"""

from __future__ import annotations

import argparse
import compileall
import dataclasses
import datetime
import difflib
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from typing import NoReturn
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mypy.version

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"
DEFAULT_WORKDIR = Path(os.environ.get("MYPY_SESSION_REALCODE_DIR", "/tmp/mypy-session-realcode"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from instructions import (  # noqa: E402 - the same tools as overhead.py
    Count,
    MypyFailed,
    build_compiled,
    callgrind_run,
    need_valgrind,
)
from overhead import split_output  # noqa: E402

PLUGIN = "mypy_session.plugin"
VARIANTS = ("plain", "plugin")

# `path:line: error: message  [code]` for one of the plugin's codes (SPEC.md, section 3).
PLUGIN_ERROR = re.compile(
    r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*?)  "
    r"\[(?P<code>session-[a-z-]+|service-boundary)\]$"
)
ANY_ERROR = re.compile(r"^[^:]+:\d+: error: ")
SUMMARY = re.compile(r"^(Success: no issues found|Found \d+ errors? in \d+ files?)")
CHECKED = re.compile(r"\((?:checked|in) (\d+) source files?\)")
LOCATION = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):")
CRASH_MARKERS = ("INTERNAL ERROR", "Traceback (most recent call last)")


# --------------------------------------------------------------------------------------
# Targets


@dataclass(frozen=True)
class Target:
    """A package from PyPI, the part of it to check, and the plugin settings for it."""

    name: str
    requirement: str  # what pip installs into the target's venv (pinned)
    distribution: str  # the distribution whose version is reported
    package: str  # the top-level import package copied out of site-packages
    paths: tuple[str, ...]  # what mypy checks, relative to src/
    settings: dict[str, list[str]]  # [tool.mypy_session]
    style: str  # "async" or "sync"
    notes: str = ""
    # Modules mypy itself crashes on (plain mypy too): neither checked nor followed.
    skip_modules: tuple[str, ...] = ()


TARGETS: dict[str, Target] = {
    "prefect": Target(
        name="prefect",
        # 3.9.x needs certifi>=2026.10.19, newer than this machine's package index has.
        requirement="prefect==3.8.8",
        distribution="prefect",
        package="prefect",
        # The whole server: models (AsyncSession parameters everywhere), the API routes and
        # services that open `db.session_context(...)`, orchestration, events.
        paths=("prefect/server",),
        settings={
            # `async with db.session_context(begin_transaction=True) as session:` is
            # the project's opener; it is an untyped @asynccontextmanager method.
            "scope_factories": [
                "prefect.server.database.interface.PrefectDBInterface.session_context",
            ],
        },
        style="async",
        notes="SQLAlchemy 2.x asyncio: `session: AsyncSession` parameters, "
        "`async with db.session_context(begin_transaction=True) as session`.",
    ),
    "airflow": Target(
        name="airflow",
        requirement="apache-airflow-core==3.3.2",
        distribution="apache-airflow-core",
        package="airflow",
        # Airflow core without the providers, the task SDK (other distributions that
        # install into the same package), example DAGs and Alembic migrations.
        paths=(
            "airflow/models",
            "airflow/jobs",
            "airflow/utils",
            "airflow/dag_processing",
            "airflow/api_fastapi",
            "airflow/api",
            "airflow/ti_deps",
            "airflow/serialization",
            "airflow/assets",
            "airflow/executors",
            "airflow/cli",
            "airflow/callbacks",
            "airflow/security",
            "airflow/timetables",
            "airflow/secrets",
            "airflow/listeners",
            "airflow/triggers",
            "airflow/partition_mappers",
            "airflow/state",
        ),
        settings={
            # create_session / create_session_async are covered by the defaults and the
            # shipped marker stub (stubs/airflow/utils/session.pyi); named here as well
            # so the run documents what the project's openers are.
            "scope_factories": [
                "airflow.utils.session.create_session",
                "airflow.utils.session.create_session_async",
            ],
            "session_param_names": ["session"],
        },
        style="sync",
        notes="Sync SQLAlchemy: `@provide_session` with `session: Session = NEW_SESSION`, "
        "`with create_session() as session:`.",
    ),
    "mlflow": Target(
        name="mlflow",
        # 3.18.0 needs mlflow-skinny==3.18.0, which this machine's package index lacks.
        requirement="mlflow==3.17.2",
        distribution="mlflow",
        package="mlflow",
        # The SQLAlchemy stores (tracking, model registry, jobs, workspaces, DB helpers)
        # and the auth server's store.
        paths=("mlflow/store", "mlflow/server/auth/sqlalchemy_store.py"),
        settings={
            # `with self.ManagedSessionMaker(read_only=False) as session:` in every public
            # store method; the attribute holds an untyped @contextmanager factory, so it
            # is named without dots (any call of that name).
            "scope_factories": ["ManagedSessionMaker"],
        },
        style="sync",
        notes="Sync SQLAlchemy repository classes: public methods open "
        "`self.ManagedSessionMaker()`, private helpers take an untyped `session` argument.",
        # mypy 2.4.1 crashes here without the plugin too ("RuntimeError: Invalid type
        # replacement to expand: tuple[*tuple[Any, ...]] | Any", expandtype.py, at
        # `sa.union_all(*branches)` with SQLAlchemy 2.1's TypeVarTuple overloads).
        skip_modules=("mlflow.store.tracking.mcp_server_registry.sqlalchemy_mixin",),
    ),
}


# --------------------------------------------------------------------------------------
# Set-up: venv, source copy, configs


class SetupFailed(Exception):
    pass


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(target: Target, base: Path, reinstall: bool) -> Path:
    """The target's venv with its requirement installed (created or reused)."""
    venv = base / "venv"
    stamp = venv / ".realcode-requirement"
    if reinstall and venv.exists():
        shutil.rmtree(venv)
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == target.requirement:
        log(f"[{target.name}] re-using {venv} ({target.requirement})")
        return venv
    if not venv_python(venv).exists():
        log(f"[{target.name}] creating {venv}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    log(f"[{target.name}] pip install {target.requirement} (into {venv}; this takes minutes)")
    proc = subprocess.run(
        [str(venv_python(venv)), "-m", "pip", "install", "--quiet", target.requirement],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        errors = [line for line in proc.stderr.splitlines() if not line.startswith("WARNING:")]
        raise SetupFailed(
            f"pip install {target.requirement} failed:\n" + "\n".join(errors[-15:])
        )
    stamp.write_text(target.requirement + "\n", encoding="utf-8")
    return venv


def site_packages(venv: Path) -> Path:
    out = subprocess.run(
        [str(venv_python(venv)), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def installed_version(venv: Path, distribution: str) -> str:
    out = subprocess.run(
        [
            str(venv_python(venv)),
            "-c",
            f"import importlib.metadata as m; print(m.version({distribution!r}))",
        ],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() or "unknown"


def ensure_source(target: Target, base: Path, venv: Path) -> Path:
    """Copy the package's Python files out of site-packages into <base>/src (once per
    installed requirement)."""
    src = base / "src"
    stamp = base / ".realcode-source"
    if stamp.exists() and stamp.read_text(encoding="utf-8").strip() == target.requirement:
        return src
    origin = site_packages(venv) / target.package
    if not origin.is_dir():
        raise SetupFailed(f"{origin} does not exist after installing {target.requirement}")
    if src.exists():
        shutil.rmtree(src)

    def ignore(directory: str, names: list[str]) -> list[str]:
        keep = (".py", ".pyi", "py.typed")
        return [
            n
            for n in names
            if n == "__pycache__"
            or (not os.path.isdir(os.path.join(directory, n)) and not n.endswith(keep))
        ]

    log(f"[{target.name}] copying {origin} -> {src / target.package}")
    shutil.copytree(origin, src / target.package, ignore=ignore)
    stamp.write_text(target.requirement + "\n", encoding="utf-8")
    return src


def toml_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"


def mypy_options(venv: Path, target: Target) -> list[str]:
    """The [tool.mypy] lines shared by both variants."""
    exclude = [
        "(^|/)" + re.escape(module.replace(".", "/")) + r"\.py$" for module in target.skip_modules
    ]
    return [
        *([f"exclude = {toml_list(exclude)}"] if exclude else []),
        "ignore_missing_imports = true",
        'follow_imports = "silent"',
        "check_untyped_defs = true",  # legacy, unannotated `session=None` code is checked too
        f"python_executable = {json.dumps(str(venv_python(venv)))}",
        "pretty = false",
        "color_output = false",
        "show_error_codes = true",
        "show_column_numbers = false",
    ]


def write_configs(target: Target, run_dir: Path, venv: Path) -> dict[str, Path]:
    """Two configs, identical except for the plugins line."""
    settings = ["[tool.mypy_session]"]
    settings += [f"{key} = {toml_list(value)}" for key, value in sorted(target.settings.items())]
    configs = {}
    overrides = []
    if target.skip_modules:
        overrides = [
            "",
            "[[tool.mypy.overrides]]",
            f"module = {toml_list(target.skip_modules)}",
            'follow_imports = "skip"',
        ]
    for variant in VARIANTS:
        lines = ["[tool.mypy]", *mypy_options(venv, target)]
        if variant == "plugin":
            lines.append(f"plugins = [{json.dumps(PLUGIN)}]")
        lines += overrides
        lines += ["", *settings]
        path = run_dir / f"mypy-{variant}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        configs[variant] = path
    return configs


def count_source(src: Path, target: Target) -> tuple[int, int]:
    skipped = {src / (module.replace(".", "/") + ".py") for module in target.skip_modules}
    files = lines = 0
    for rel in target.paths:
        root = src / rel
        found = [root] if root.is_file() else sorted(root.rglob("*.py"))
        for path in found:
            if path in skipped:
                continue
            files += 1
            with open(path, "rb") as handle:
                lines += sum(1 for _ in handle)
    return files, lines


# --------------------------------------------------------------------------------------
# Running mypy


@dataclass
class Run:
    variant: str  # "plain", "plugin" or "plugin-debug"
    wall_s: float
    cpu_s: float
    rss_mib: float
    returncode: int
    timed_out: bool
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)

    @property
    def crashed(self) -> bool:
        text = self.stdout + self.stderr
        return (
            self.timed_out
            or self.returncode not in (0, 1)
            or any(marker in text for marker in CRASH_MARKERS)
        )

    def crash_excerpt(self) -> str:
        text = (self.stdout + "\n" + self.stderr).strip().splitlines()
        for index, line in enumerate(text):
            if any(marker in line for marker in CRASH_MARKERS):
                return "\n".join(text[max(0, index - 3) : index + 30])
        if self.timed_out:
            return "timed out"
        return "\n".join(text[-30:])

    def summary_line(self) -> str:
        lines = [line for line in self.stdout.splitlines() if SUMMARY.match(line)]
        return lines[-1] if lines else ""

    def checked_files(self) -> int | None:
        found = CHECKED.search(self.summary_line())
        return int(found.group(1)) if found else None


def max_rss_mib(ru_maxrss: int) -> float:
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def run_mypy(
    variant: str,
    config: Path,
    src: Path,
    paths: Sequence[str],
    cache_dir: Path,
    timeout_s: float,
    plugin_root: Path,
    debug: bool = False,
) -> Run:
    cmd = [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache_dir)]
    cmd += list(paths)
    env = dict(os.environ)
    # The checkout's plugin (or --plugin-root's) comes first, before an installed one.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(plugin_root), env.get("PYTHONPATH", "")] if p
    )
    env.pop("MYPY_SESSION_DEBUG", None)
    if debug:
        env["MYPY_SESSION_DEBUG"] = "1"
    timed_out = threading.Event()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, cwd=src, stdout=out, stderr=err, env=env, start_new_session=True
        )

        def kill() -> None:
            timed_out.set()
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        timer = threading.Timer(timeout_s, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return Run(
        variant=variant,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        rss_mib=max_rss_mib(usage.ru_maxrss),
        returncode=proc.returncode,
        timed_out=timed_out.is_set(),
        stdout=stdout,
        stderr=stderr,
    )


# --------------------------------------------------------------------------------------
# Output


@dataclass
class Finding:
    path: str
    line: int
    code: str
    message: str
    source: str  # the source line, stripped


def findings_of(stdout: str, src: Path) -> list[Finding]:
    found = []
    for line in stdout.splitlines():
        match = PLUGIN_ERROR.match(line)
        if match is None:
            continue
        path, lineno = match["path"], int(match["line"])
        found.append(
            Finding(path, lineno, match["code"], match["message"], source_line(src / path, lineno))
        )
    return found


_source_cache: dict[Path, list[str]] = {}


def source_line(path: Path, lineno: int) -> str:
    if path not in _source_cache:
        try:
            _source_cache[path] = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            _source_cache[path] = []
    text = _source_cache[path]
    return text[lineno - 1].strip() if 0 < lineno <= len(text) else ""


def without_plugin_lines(stdout: str) -> list[str]:
    """mypy's own output: no summary, no plugin error line, no note attached to one."""
    return split_output(stdout).other_lines


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


@dataclass
class TargetResult:
    target: str
    requirement: str
    installed_version: str
    style: str
    paths: list[str]
    settings: dict[str, list[str]]
    mypy_options: list[str]
    skipped_modules: list[str]
    source_files: int
    source_lines: int
    checked_files: int | None
    runs: list[dict[str, object]]
    pairs: list[dict[str, object]]
    wall_plain_s: float
    wall_plugin_s: float
    cpu_plain_s: float
    cpu_plugin_s: float
    rss_plain_mib: float
    rss_plugin_mib: float
    ratio_wall: float
    ratio_cpu: float
    ratio_rss: float
    crashes: int
    crash_details: list[str]
    debug_run: str  # what the MYPY_SESSION_DEBUG=1 run found
    mypy_errors_plain: int
    outputs_agree: bool
    output_difference: list[str]
    plugin_outputs_identical: bool
    findings_by_code: dict[str, int]
    findings: list[dict[str, object]]

    @property
    def ok(self) -> bool:
        return self.crashes == 0 and self.outputs_agree and self.plugin_outputs_identical


@dataclass
class InstructionCounts:
    """{mode: {variant: instructions}} of one target, and what the counted runs printed."""

    target: str
    installed_version: str
    sqlalchemy: str  # in the target's venv, which mypy follows the imports into
    paths: list[str]
    source_files: int
    source_lines: int
    counts: dict[str, dict[str, int]]
    outputs_agree: bool  # plain and plugin output identical apart from the plugin's lines
    output_difference: list[str]
    findings_by_code: dict[str, int]


def count_instructions(target: Target, args: argparse.Namespace) -> InstructionCounts:
    """One cold run per variant under callgrind, each with its own fresh, empty cache dir
    (counts do not depend on the machine's load; about 50x slower than a plain run), and
    with --mode warm/both one warm run on the cache the counted cold run wrote. `--jobs`
    variants at once (1: one valgrind process at a time)."""
    base = args.workdir / target.name
    base.mkdir(parents=True, exist_ok=True)
    venv = ensure_venv(target, base, args.reinstall)
    version = installed_version(venv, target.distribution)
    src = ensure_source(target, base, venv)
    missing = [p for p in target.paths if not (src / p).exists()]
    if missing:
        raise SetupFailed(f"not in {target.requirement}: {', '.join(missing)}")
    files, lines = count_source(src, target)
    run_dir = Path(tempfile.mkdtemp(prefix="instr-", dir=base))
    configs = write_configs(target, run_dir, venv)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(args.plugin_root), env.get("PYTHONPATH", "")] if p)
    env.pop("MYPY_SESSION_DEBUG", None)
    # The plugin's modules with their bytecode caches, as an installed package has them.
    compileall.compile_dir(str(args.plugin_root / "mypy_session"), quiet=1)
    modes = ("cold", "warm") if args.mode == "both" else (args.mode,)

    def one(variant: str) -> dict[str, Count]:
        cache = run_dir / f"cache-{variant}"
        mypy_args = ["--config-file", str(configs[variant]), "--cache-dir", str(cache), *target.paths]
        got: dict[str, Count] = {}
        if "cold" not in modes:  # fill the cache with an uncounted run
            fill = [sys.executable, "-m", "mypy", *mypy_args]
            subprocess.run(fill, cwd=src, capture_output=True, env={**env, "PYTHONHASHSEED": "0"})
        for mode in modes:
            profile = None
            if args.callgrind_out is not None:
                profile = args.callgrind_out / f"callgrind.{target.name}.{mode}.{variant}"
            log(f"[{target.name}] callgrind: {mode} {variant} ({files} files, {lines} lines)")
            got[mode] = callgrind_run(mypy_args, src, env, profile)
            log(f"[{target.name}]   {mode} {variant}: {got[mode].instructions:,} instructions")
        return got

    try:
        with ThreadPoolExecutor(max_workers=args.jobs) as pool:
            runs = dict(zip(args.variants, pool.map(one, args.variants)))
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    first = modes[0]
    difference: list[str] = []
    if len(runs) == len(VARIANTS):
        plain_text = without_plugin_lines(runs["plain"][first].stdout)
        plugin_text = without_plugin_lines(runs["plugin"][first].stdout)
        difference = list(
            difflib.unified_diff(plain_text, plugin_text, "plain", "plugin", lineterm="", n=1)
        )[:40]
    findings = findings_of(runs["plugin"][first].stdout, src) if "plugin" in runs else []
    return InstructionCounts(
        target=target.name,
        installed_version=version,
        sqlalchemy=installed_version(venv, "SQLAlchemy"),
        paths=list(target.paths),
        source_files=files,
        source_lines=lines,
        counts={mode: {v: runs[v][mode].instructions for v in runs} for mode in modes},
        outputs_agree=not difference,
        output_difference=difference,
        findings_by_code=dict(sorted(Counter(f.code for f in findings).items())),
    )


def print_counts(result: InstructionCounts, env: dict[str, str], args: argparse.Namespace) -> None:
    plugin_form = "compiled wheel" if args.compiled else "sources"
    print(
        f"{result.target} {result.installed_version}: {', '.join(result.paths)} "
        f"({result.source_files} files, {result.source_lines} lines); mypy {env['mypy']}, "
        f"SQLAlchemy {result.sqlalchemy}, plugin {plugin_form}, {env['mypy_session_commit']}"
    )
    for mode, counts in result.counts.items():
        if len(counts) < len(VARIANTS):
            (variant, count), = counts.items()
            print(f"{result.target}: instructions, one {mode} run: {variant} {count:,}")
            continue
        plain, plugin = counts["plain"], counts["plugin"]
        print(f"{result.target}: instructions, one {mode} run each: plain {plain:,}, plugin {plugin:,}")
        print(f"  plugin/plain ({mode}): {plugin / plain:.4f}")
    codes = ", ".join(f"{c} {n}" for c, n in result.findings_by_code.items()) or "none"
    print(f"  plugin findings: {codes}")
    if len(args.variants) < len(VARIANTS):
        print("  plain vs plugin output: not compared (one variant counted)")
    elif result.outputs_agree:
        print("  plain vs plugin output: identical apart from the plugin's lines")
    else:
        print("  DIFFERENCE: plain and plugin outputs differ in more than the plugin's lines")
        for line in result.output_difference:
            print(f"    {line}")


def measure(target: Target, args: argparse.Namespace) -> TargetResult:
    base = args.workdir / target.name
    base.mkdir(parents=True, exist_ok=True)
    venv = ensure_venv(target, base, args.reinstall)
    version = installed_version(venv, target.distribution)
    src = ensure_source(target, base, venv)
    missing = [p for p in target.paths if not (src / p).exists()]
    if missing:
        raise SetupFailed(f"not in {target.requirement}: {', '.join(missing)}")
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=base))
    configs = write_configs(target, run_dir, venv)
    files, lines = count_source(src, target)
    log(f"[{target.name}] {target.distribution} {version}: checking {files} files, {lines} lines")

    def one(variant: str, index: int, debug: bool = False) -> Run:
        config = configs["plugin" if variant.startswith("plugin") else "plain"]
        cache = run_dir / f"cache-{variant}-{index}"
        run = run_mypy(
            variant, config, src, target.paths, cache, args.timeout, args.plugin_root, debug=debug
        )
        state = "CRASH" if run.crashed else f"exit {run.returncode}"
        log(
            f"[{target.name}]   {variant:<12} wall {run.wall_s:7.1f} s  cpu {run.cpu_s:7.1f} s"
            f"  rss {run.rss_mib:6.0f} MiB  {state}"
        )
        return run

    runs: list[Run] = []
    debug_run = "skipped (--no-debug-run)"
    if args.debug_run:
        log(f"[{target.name}] untimed run with MYPY_SESSION_DEBUG=1 (also warms the file cache)")
        debug = one("plugin-debug", 0, debug=True)
        runs.append(debug)
        debug_run = (
            "no exception: the plugin skipped nothing"
            if not debug.crashed
            else "the plugin raised (a normal run would skip this call quietly):\n"
            + debug.crash_excerpt()
        )
    pairs: list[tuple[Run, Run]] = []
    for index in range(args.rounds):
        order = VARIANTS if index % 2 == 0 else tuple(reversed(VARIANTS))
        got = {variant: one(variant, index + 1) for variant in order}
        runs += [got[v] for v in order]
        pairs.append((got["plain"], got["plugin"]))
    shutil.rmtree(run_dir, ignore_errors=True)

    timed = [run for pair in pairs for run in pair]
    # The debug run counts only for "the plugin skipped something", reported separately.
    crashes = [run for run in timed if run.crashed]
    plain_runs = [p for p, _ in pairs]
    plugin_runs = [q for _, q in pairs]
    reference = plugin_runs[0]
    plugin_outputs_identical = all(r.stdout == reference.stdout for r in plugin_runs[1:])
    plain_text = without_plugin_lines(plain_runs[0].stdout)
    plugin_text = without_plugin_lines(reference.stdout)
    difference = list(
        difflib.unified_diff(plain_text, plugin_text, "plain", "plugin", lineterm="", n=1)
    )[:40]
    findings = findings_of(reference.stdout, src)
    by_code = dict(sorted(Counter(f.code for f in findings).items()))

    def med(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")

    return TargetResult(
        target=target.name,
        requirement=target.requirement,
        installed_version=version,
        style=target.style,
        paths=list(target.paths),
        settings=target.settings,
        mypy_options=mypy_options(venv, target),
        skipped_modules=list(target.skip_modules),
        source_files=files,
        source_lines=lines,
        checked_files=reference.checked_files(),
        runs=[
            {
                "variant": r.variant,
                "wall_s": round(r.wall_s, 2),
                "cpu_s": round(r.cpu_s, 2),
                "rss_mib": round(r.rss_mib, 1),
                "returncode": r.returncode,
                "timed_out": r.timed_out,
                "crashed": r.crashed,
                "summary": r.summary_line(),
            }
            for r in runs
        ],
        pairs=[
            {
                "order": "plain,plugin" if i % 2 == 0 else "plugin,plain",
                "ratio_wall": round(ratio(q.wall_s, p.wall_s), 3),
                "ratio_cpu": round(ratio(q.cpu_s, p.cpu_s), 3),
                "ratio_rss": round(ratio(q.rss_mib, p.rss_mib), 3),
            }
            for i, (p, q) in enumerate(pairs)
        ],
        wall_plain_s=round(med([r.wall_s for r in plain_runs]), 2),
        wall_plugin_s=round(med([r.wall_s for r in plugin_runs]), 2),
        cpu_plain_s=round(med([r.cpu_s for r in plain_runs]), 2),
        cpu_plugin_s=round(med([r.cpu_s for r in plugin_runs]), 2),
        rss_plain_mib=round(med([r.rss_mib for r in plain_runs]), 1),
        rss_plugin_mib=round(med([r.rss_mib for r in plugin_runs]), 1),
        ratio_wall=round(med([ratio(q.wall_s, p.wall_s) for p, q in pairs]), 3),
        ratio_cpu=round(med([ratio(q.cpu_s, p.cpu_s) for p, q in pairs]), 3),
        ratio_rss=round(med([ratio(q.rss_mib, p.rss_mib) for p, q in pairs]), 3),
        crashes=len(crashes),
        crash_details=[f"{r.variant}: {r.crash_excerpt()}" for r in crashes],
        debug_run=debug_run,
        mypy_errors_plain=sum(1 for line in plain_text if ANY_ERROR.match(line)),
        outputs_agree=not difference,
        output_difference=difference,
        plugin_outputs_identical=plugin_outputs_identical,
        findings_by_code=by_code,
        findings=[asdict(f) for f in findings],
    )


# --------------------------------------------------------------------------------------
# Reports


def environment(plugin_root: Path) -> dict[str, str]:
    """Versions and where the plugin came from (read-only git commands only)."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "--no-optional-locks", "status", "--porcelain", "--", "mypy_session"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if commit and dirty:
        commit += " + uncommitted changes in mypy_session/"
    if plugin_root.resolve() != REPO_ROOT:
        commit = f"plugin from {plugin_root} (checkout at {commit or 'unknown'})"
    version_file = plugin_root / "mypy_session" / "version.py"
    found = re.search(r'__version__[^=]*=\s*"([^"]+)"', version_file.read_text(encoding="utf-8"))
    plugin_version = found.group(1) if found else "unknown"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "mypy": mypy.version.__version__,
        "mypy_session": plugin_version,
        "mypy_session_commit": commit or "unknown",
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "load_average": " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "",
    }


def markdown(result: TargetResult, env: dict[str, str], rounds: int) -> str:
    r = result
    out = [
        f"# mypy-session on real code: {r.target}",
        "",
        "Generated by `python benchmarks/realcode.py --target "
        f"{r.target}`; do not edit (the hand review lives in `realcode-review.md`).",
        "",
        f"- when: {env['date']}, {env['machine']}, load average {env['load_average']}",
        f"- Python {env['python']}, mypy {env['mypy']}, mypy-session {env['mypy_session']} "
        f"(commit {env['mypy_session_commit']})",
        f"- target: `{r.requirement}` (installed {r.installed_version}), {r.style} SQLAlchemy",
        f"- checked: {', '.join(f'`{p}`' for p in r.paths)}: {r.source_files} files, "
        f"{r.source_lines} lines ({r.checked_files} files checked by mypy)",
        "- mypy options (both variants): "
        + ", ".join(f"`{o}`" for o in r.mypy_options if not o.startswith("python_executable")),
        *(
            [
                "- not checked nor followed (plain mypy crashes on them): "
                + ", ".join(f"`{m}`" for m in r.skipped_modules)
            ]
            if r.skipped_modules
            else []
        ),
        "- `[tool.mypy_session]`: "
        + ("; ".join(f"`{k} = {toml_list(v)}`" for k, v in r.settings.items()) or "(defaults)"),
        "",
        f"## Time ({rounds} cold pair(s), each run with its own fresh cache dir)",
        "",
        "| | plain | plugin | ratio (median of pairs) |",
        "|---|---|---|---|",
        f"| wall | {r.wall_plain_s:.1f} s | {r.wall_plugin_s:.1f} s | {r.ratio_wall:.3f} |",
        f"| CPU | {r.cpu_plain_s:.1f} s | {r.cpu_plugin_s:.1f} s | {r.ratio_cpu:.3f} |",
        f"| peak RSS | {r.rss_plain_mib:.0f} MiB | {r.rss_plugin_mib:.0f} MiB | {r.ratio_rss:.3f} |",
        "",
        "Pairs: "
        + ", ".join(
            f"{p['order']} wall {p['ratio_wall']} cpu {p['ratio_cpu']}" for p in r.pairs
        ),
        "",
        "## Checks",
        "",
        f"- crashes (exit status >= 2, INTERNAL ERROR, Traceback, timeout): **{r.crashes}**",
        f"- run with `MYPY_SESSION_DEBUG=1`: {r.debug_run.splitlines()[0]}",
        f"- mypy's own errors (plain run): {r.mypy_errors_plain}",
        "- plain and plugin output identical apart from the plugin's lines: "
        + ("yes" if r.outputs_agree else "**NO**"),
        "- plugin output identical in every timed run: "
        + ("yes" if r.plugin_outputs_identical else "**NO**"),
        "",
    ]
    if r.debug_run.count("\n"):
        out += ["```", r.debug_run, "```", ""]
    if r.crash_details:
        out += ["```", *r.crash_details, "```", ""]
    if r.output_difference:
        out += ["```diff", *r.output_difference, "```", ""]
    total = sum(r.findings_by_code.values())
    out += [f"## Findings: {total}", "", "| code | count |", "|---|---|"]
    out += [f"| `{code}` | {count} |" for code, count in r.findings_by_code.items()]
    out.append("")
    for code in r.findings_by_code:
        out += [f"### `{code}`", ""]
        for f in r.findings:
            if f["code"] == code:
                out.append(f"- `{f['path']}:{f['line']}` {f['message']}")
                if f["source"]:
                    out.append(f"  - `{f['source']}`")
        out.append("")
    return "\n".join(out)


def print_table(results: list[TargetResult]) -> None:
    head = (
        f"{'target':<9} {'files':>5} {'lines':>7} {'plain s':>8} {'plugin s':>8} "
        f"{'wall x':>7} {'cpu x':>6} {'crash':>5} {'mypy err':>8}  findings by code"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        codes = ", ".join(f"{c} {n}" for c, n in r.findings_by_code.items()) or "none"
        print(
            f"{r.target:<9} {r.source_files:>5} {r.source_lines:>7} {r.wall_plain_s:>8.1f} "
            f"{r.wall_plugin_s:>8.1f} {r.ratio_wall:>7.3f} {r.ratio_cpu:>6.3f} {r.crashes:>5} "
            f"{r.mypy_errors_plain:>8}  {codes}"
        )
    for r in results:
        notes = []
        if not r.outputs_agree:
            notes.append("DIFFERENCE between plain and plugin output (see the .md file)")
        if not r.plugin_outputs_identical:
            notes.append("MISMATCH between the plugin runs")
        if "no exception" not in r.debug_run and "skipped" not in r.debug_run:
            notes.append("MYPY_SESSION_DEBUG=1 run raised: " + r.debug_run.splitlines()[-1])
        for note in notes:
            print(f"{r.target}: {note}")


class OneLineErrors(argparse.ArgumentParser):
    """Bad input: one line naming the problem, exit status 2 (no usage block)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = OneLineErrors(
        description="Run mypy-session over public SQLAlchemy code from PyPI.",
    )
    parser.add_argument("--target", choices=[*TARGETS, "all"], default="all")
    parser.add_argument(
        "--rounds", type=int, default=2, help="timed plain/plugin pairs per target (2)"
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=DEFAULT_WORKDIR,
        help=f"venvs and source copies ({DEFAULT_WORKDIR}; env MYPY_SESSION_REALCODE_DIR)",
    )
    parser.add_argument(
        "--results", type=Path, default=RESULTS_DIR, help="where the .json/.md files go"
    )
    parser.add_argument(
        "--timeout", type=float, default=900.0, help="seconds before a mypy run is killed (900)"
    )
    parser.add_argument("--reinstall", action="store_true", help="recreate the target venvs")
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instead of timing, count the instructions of one cold (and one warm) run per variant (valgrind)",
    )
    parser.add_argument(
        "--mode",
        choices=["cold", "warm", "both"],
        default="both",
        help="with --instructions: which runs to count (both: a cold run, then a warm one on its cache)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="with --instructions: valgrind processes at once (1: the variants one after the other)",
    )
    parser.add_argument(
        "--callgrind-out",
        type=Path,
        help="with --instructions: keep callgrind's profiles in this directory "
        "(callgrind.<target>.<mode>.<variant>, for callgrind_annotate)",
    )
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="measure the mypyc-compiled wheel built from this checkout (default: the sources)",
    )
    parser.add_argument(
        "--variants",
        default="plain,plugin",
        help="with --instructions: count only these (plain,plugin; e.g. plugin after a change)",
    )
    parser.add_argument(
        "--paths",
        help="check only these paths of the target, comma-separated, relative to the "
        "package's parent (e.g. prefect/server/models,prefect/server/api)",
    )
    parser.add_argument(
        "--plugin-root",
        type=Path,
        default=REPO_ROOT,
        help="directory holding the mypy_session package to measure (this checkout)",
    )
    parser.add_argument(
        "--no-debug-run",
        dest="debug_run",
        action="store_false",
        help="skip the untimed MYPY_SESSION_DEBUG=1 run",
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    variants = {v.strip() for v in args.variants.split(",") if v.strip()}
    if not variants or not variants <= set(VARIANTS):
        parser.error("--variants: plain, plugin or plain,plugin")
    args.variants = tuple(v for v in VARIANTS if v in variants)
    if args.compiled and args.plugin_root != REPO_ROOT:
        parser.error("--compiled builds the wheel from this checkout: leave out --plugin-root")
    if not args.instructions:
        given = [
            option
            for option, value in [
                ("--callgrind-out", args.callgrind_out),
                ("--jobs", args.jobs != 1),
                ("--mode", args.mode != "both"),
                ("--variants", args.variants != VARIANTS),
            ]
            if value
        ]
        if given:
            parser.error(f"{', '.join(given)} only with --instructions")
    if args.callgrind_out is not None:
        if not args.callgrind_out.is_dir():
            parser.error(f"--callgrind-out: {args.callgrind_out} is not a directory")
        args.callgrind_out = args.callgrind_out.resolve()
    if not (args.plugin_root / "mypy_session").is_dir():
        parser.error(f"--plugin-root: no mypy_session package in {args.plugin_root}")
    if args.paths is not None:
        paths = tuple(p.strip().strip("/") for p in args.paths.split(",") if p.strip())
        if not paths:
            parser.error("--paths: no path given")
        if args.target == "all":
            parser.error("--paths needs one --target")
        package = TARGETS[args.target].package
        outside = [p for p in paths if p.split("/")[0] != package or ".." in p.split("/")]
        if outside:
            parser.error(f"--paths: not inside the package {package!r}: {', '.join(outside)}")
        args.paths = paths
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    names = list(TARGETS) if args.target == "all" else [args.target]
    targets = [TARGETS[name] for name in names]
    if args.paths is not None:
        targets = [dataclasses.replace(targets[0], paths=args.paths)]
    if args.instructions and (missing := need_valgrind()) is not None:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    if args.compiled:
        try:
            args.plugin_root = build_compiled(args.workdir / "compiled", log)
        except MypyFailed as exc:
            print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
            log(str(exc))
            return 2
    env = environment(args.plugin_root)
    if args.compiled:
        env["mypy_session_commit"] = "compiled wheel built from " + env["mypy_session_commit"].split(
            "(checkout at ", 1
        )[-1].rstrip(")")
    args.results.mkdir(parents=True, exist_ok=True)
    results: list[TargetResult] = []
    if args.instructions:
        agree = True
        for target in targets:  # one target at a time
            try:
                counted = count_instructions(target, args)
            except (SetupFailed, subprocess.CalledProcessError) as exc:
                print(f"error: [{target.name}] set-up failed: {str(exc).splitlines()[0]}", file=sys.stderr)
                return 2
            except MypyFailed as exc:
                print(f"error: [{target.name}] {str(exc).splitlines()[0]}", file=sys.stderr)
                log(str(exc))
                return 2
            print_counts(counted, env, args)
            agree = agree and counted.outputs_agree
        return 0 if agree else 1
    for target in targets:  # one target at a time, one mypy process at a time
        name = target.name
        try:
            result = measure(target, args)
        except (SetupFailed, subprocess.CalledProcessError) as exc:
            log(f"[{name}] set-up failed: {exc}")
            return 2
        results.append(result)
        data = {"environment": env, "rounds": args.rounds, **asdict(result)}
        # A subset (--paths) does not overwrite the results of the whole target.
        stem = f"realcode-{name}" + ("-paths" if args.paths is not None else "")
        json_path = args.results / f"{stem}.json"
        json_path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        md_path = args.results / f"{stem}.md"
        md_path.write_text(markdown(result, env, args.rounds) + "\n", encoding="utf-8")
        log(f"[{name}] wrote {json_path} and {md_path}")
    print()
    print_table(results)
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
