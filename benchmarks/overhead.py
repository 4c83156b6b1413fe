"""Measure what the mypy-session plugin adds to a mypy run (SPEC.md, section 8).

The benchmark generates a SQLAlchemy service-layer corpus (``corpus.py``), writes two mypy
configurations that differ only in ``plugins = [...]``, and runs ``python -m mypy`` on the
corpus with and without the plugin, side by side:

* runs come in pairs, one of each variant, in alternating order (plain then plugin, then
  plugin then plain, ...) so that drift on a shared machine falls on both sides equally;
* cold runs each get their own fresh, empty ``--cache-dir``;
* warm runs re-use a cache written by an earlier identical run of the same variant, with no
  file changed in between (mypy replays results from the cache);
* for every run it records wall-clock time, CPU time (user + system) and peak RSS of the
  mypy process, read from the kernel with ``os.wait4``.

It reports, for cold and warm runs, each pair and the median / min / max of the paired
ratios plugin / plain.  It also checks that the plugin's output differs from plain mypy's
only by lines carrying the plugin's error codes, and that the plugin's output is the same
cold and warm; a ``MISMATCH`` or ``DIFFERENCE`` line and exit status 1 report a failure.
The numbers themselves are never asserted on.

Usage: ``python benchmarks/overhead.py [--quick] [--mode cold|warm|both] [--json] ...``.
"""

from __future__ import annotations

import argparse
import compileall
import difflib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import mypy.version

from corpus import MANIFEST, PACKAGE, generate
from instructions import MypyFailed, build_compiled, callgrind_mypy, need_valgrind

REPO_ROOT = Path(__file__).resolve().parent.parent
# Where the mypy processes import mypy_session from: this checkout (pure Python), or with
# --compiled the unpacked mypyc wheel built from it.
PLUGIN_ROOT = REPO_ROOT
VARIANTS = ("plain", "plugin")
# A line of mypy output that carries one of the plugin's error codes (SPEC.md, section 3).
PLUGIN_ERROR = re.compile(r"\[(session-[a-z-]+|service-boundary)\]$")
SUMMARY = re.compile(r"^(Success: no issues found|Found \d+ errors? in \d+ files?)")
LOCATION = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+):")


# --------------------------------------------------------------------------------------
# Running mypy


@dataclass
class Run:
    """One mypy process."""

    variant: str
    mode: str
    wall_s: float
    cpu_s: float
    rss_mib: float
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def max_rss_mib(ru_maxrss: int) -> float:
    """``ru_maxrss`` is in KiB on Linux and in bytes on macOS."""
    return ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else ru_maxrss / 1024


def count_instructions(
    corpus: Path,
    config: Path,
    cache_dir: Path,
    *,
    warm: bool = False,
    out_file: Path | None = None,
) -> int:
    """Instructions executed by one mypy run, counted by valgrind's callgrind: a cold run,
    or with `warm` a run on the cache an uncounted run has just written.

    Unlike time, the count does not depend on what else the machine is doing, so one
    run per variant gives a ratio that is not noise (about 50x slower than a plain run).
    With `out_file`, callgrind's profile of the run is kept there.
    """
    args = ["--config-file", str(config), "--cache-dir", str(cache_dir), PACKAGE]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in [str(PLUGIN_ROOT), env.get("PYTHONPATH", "")] if p)
    if warm:
        fill = [sys.executable, "-m", "mypy", *args]
        subprocess.run(fill, cwd=corpus, capture_output=True, env={**env, "PYTHONHASHSEED": "0"})
    return callgrind_mypy(args, corpus, env, out_file)


def run_mypy(variant: str, mode: str, corpus: Path, config: Path, cache_dir: Path) -> Run:
    """Run ``python -m mypy`` on the corpus in a child process and measure it."""
    cmd = [
        sys.executable,
        "-m",
        "mypy",
        "--config-file",
        str(config),
        "--cache-dir",
        str(cache_dir),
        PACKAGE,
    ]
    env = dict(os.environ)
    # Make an uninstalled checkout's plugin importable; harmless when it is installed.
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in [str(PLUGIN_ROOT), env.get("PYTHONPATH", "")] if p
    )
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=corpus, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    run = Run(
        variant=variant,
        mode=mode,
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        rss_mib=max_rss_mib(usage.ru_maxrss),
        returncode=proc.returncode,
        stdout=stdout,
        stderr=stderr,
    )
    check_run(run, cmd)
    return run


def check_run(run: Run, cmd: Sequence[str]) -> None:
    bad = run.returncode not in (0, 1) or "INTERNAL ERROR" in run.stdout + run.stderr
    if bad or "Traceback (most recent call last)" in run.stderr:
        raise MypyFailed(
            f"mypy ({run.variant}, {run.mode}) exited with status {run.returncode}\n"
            f"command: {' '.join(cmd)}\n"
            f"--- stdout (last 40 lines)\n{tail(run.stdout, 40)}\n"
            f"--- stderr (last 40 lines)\n{tail(run.stderr, 40)}"
        )


def tail(text: str, n: int) -> str:
    return "\n".join(text.splitlines()[-n:])


# --------------------------------------------------------------------------------------
# Set-up


def write_configs(workdir: Path, plugin: str, settings: str = "") -> dict[str, Path]:
    """Two mypy configs, identical except for the ``plugins`` line (and `settings`, TOML
    lines for the plugin's own config, e.g. a `[tool.mypy_session.guarded]` table)."""
    base = [
        "[tool.mypy]",
        "strict = true",
        "pretty = false",
        "color_output = false",
        "show_error_codes = true",
    ]
    configs = {}
    for variant in VARIANTS:
        lines = list(base)
        if variant == "plugin":
            lines.append(f"plugins = [{json.dumps(plugin)}]")
            if settings:
                lines.append(settings.replace("\\n", "\n"))
        path = workdir / f"mypy-{variant}.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        configs[variant] = path
    return configs


def prepare_corpus(
    corpus_arg: Path | None, workdir: Path, modules: int, functions: int, seed: int
) -> tuple[Path, dict[str, object]]:
    """Generate the corpus (or reuse one made earlier with ``--corpus``); return its manifest."""
    corpus = corpus_arg if corpus_arg is not None else workdir / "corpus"
    manifest_path = corpus / MANIFEST
    if manifest_path.exists():
        log(f"re-using the corpus in {corpus} (its own size and seed apply)")
    elif corpus.exists() and any(corpus.iterdir()):
        log(f"error: {corpus} is not empty and has no {MANIFEST}; give an empty directory")
        raise SystemExit(2)
    else:
        log(f"generating corpus: {modules} modules x {functions} functions, seed {seed}")
        generate(corpus, modules=modules, functions=functions, seed=seed)
    manifest: dict[str, object] = json.loads(manifest_path.read_text(encoding="utf-8"))
    return corpus, manifest


@contextmanager
def work_directory(keep: bool) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="mypy-session-bench-"))
    try:
        yield path
    finally:
        if keep:
            log(f"kept work directory {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Measuring


@dataclass
class Pair:
    order: str  # "plain,plugin" or "plugin,plain"
    plain: Run
    plugin: Run

    def ratio(self, metric: str) -> float:
        value: float = getattr(self.plugin, metric) / getattr(self.plain, metric)
        return value


class Bench:
    """Runs the paired measurements and keeps every run for the output checks."""

    def __init__(self, corpus: Path, configs: dict[str, Path], workdir: Path) -> None:
        self.corpus = corpus
        self.configs = configs
        self.workdir = workdir
        self.counter = 0
        self.runs: list[Run] = []
        self.warm_caches: dict[str, Path] = {}

    def fresh_cache(self) -> Path:
        self.counter += 1
        path = self.workdir / f"cache-{self.counter:03d}"
        path.mkdir()
        return path

    def run(self, variant: str, mode: str, cache: Path) -> Run:
        result = run_mypy(variant, mode, self.corpus, self.configs[variant], cache)
        self.runs.append(result)
        return result

    def prime(self) -> None:
        """One untimed cold run per variant: warms the OS file cache and the interpreter's
        bytecode, writes the caches the warm runs re-use, and gives reference outputs."""
        # Write the plugin's bytecode first, as any installed package has it. (Some
        # machines set PYTHONDONTWRITEBYTECODE, which would make every measured run
        # compile the plugin from source; mypy itself is compiled with mypyc.)
        compileall.compile_dir(str(PLUGIN_ROOT / "mypy_session"), quiet=1)
        for variant in VARIANTS:
            cache = self.fresh_cache()
            result = self.run(variant, "prime", cache)
            self.warm_caches[variant] = cache
            log(f"[prime] {variant}: {result.wall_s:.2f} s")

    def pairs(self, mode: str, rounds: int) -> list[Pair]:
        pairs = []
        for i in range(rounds):
            order = VARIANTS if i % 2 == 0 else VARIANTS[::-1]
            runs: dict[str, Run] = {}
            for variant in order:
                if mode == "cold":
                    cache = self.fresh_cache()
                    runs[variant] = self.run(variant, mode, cache)
                    shutil.rmtree(cache, ignore_errors=True)
                else:
                    runs[variant] = self.run(variant, mode, self.warm_caches[variant])
            pair = Pair(",".join(order), runs["plain"], runs["plugin"])
            log(
                f"[{mode} {i + 1}/{rounds}] plain {pair.plain.wall_s:.2f} s, "
                f"plugin {pair.plugin.wall_s:.2f} s, ratio {pair.ratio('wall_s'):.3f}"
            )
            pairs.append(pair)
        return pairs


@dataclass
class Spread:
    median: float
    min: float
    max: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        return cls(statistics.median(values), min(values), max(values))


@dataclass
class ModeSummary:
    mode: str
    pairs: list[dict[str, object]]
    wall_ratio: Spread
    cpu_ratio: Spread
    rss_ratio: Spread
    plain_wall_median_s: float
    plugin_wall_median_s: float
    plain_rss_median_mib: float
    plugin_rss_median_mib: float


def summarize(mode: str, pairs: list[Pair]) -> ModeSummary:
    rows: list[dict[str, object]] = []
    for pair in pairs:
        rows.append(
            {
                "order": pair.order,
                "plain_wall_s": round(pair.plain.wall_s, 3),
                "plugin_wall_s": round(pair.plugin.wall_s, 3),
                "wall_ratio": round(pair.ratio("wall_s"), 4),
                "plain_cpu_s": round(pair.plain.cpu_s, 3),
                "plugin_cpu_s": round(pair.plugin.cpu_s, 3),
                "cpu_ratio": round(pair.ratio("cpu_s"), 4),
                "plain_rss_mib": round(pair.plain.rss_mib, 1),
                "plugin_rss_mib": round(pair.plugin.rss_mib, 1),
                "rss_ratio": round(pair.ratio("rss_mib"), 4),
            }
        )
    return ModeSummary(
        mode=mode,
        pairs=rows,
        wall_ratio=Spread.of([p.ratio("wall_s") for p in pairs]),
        cpu_ratio=Spread.of([p.ratio("cpu_s") for p in pairs]),
        rss_ratio=Spread.of([p.ratio("rss_mib") for p in pairs]),
        plain_wall_median_s=statistics.median(p.plain.wall_s for p in pairs),
        plugin_wall_median_s=statistics.median(p.plugin.wall_s for p in pairs),
        plain_rss_median_mib=statistics.median(p.plain.rss_mib for p in pairs),
        plugin_rss_median_mib=statistics.median(p.plugin.rss_mib for p in pairs),
    )


# --------------------------------------------------------------------------------------
# Output checks


@dataclass
class SplitOutput:
    plugin_lines: list[str]  # errors with a plugin code, and notes attached to them
    other_lines: list[str]  # everything else except the summary line


def split_output(stdout: str) -> SplitOutput:
    plugin_lines: list[str] = []
    other: list[str] = []
    last_plugin_location: str | None = None
    for line in stdout.splitlines():
        if SUMMARY.match(line):
            continue
        match = LOCATION.match(line)
        location = match.group(0) if match else None
        if PLUGIN_ERROR.search(line):
            plugin_lines.append(line)
            last_plugin_location = location
        elif " note: " in line and location is not None and location == last_plugin_location:
            plugin_lines.append(line)
        else:
            other.append(line)
            last_plugin_location = None
    return SplitOutput(plugin_lines, other)


@dataclass
class Checks:
    plain_error_lines: int
    plugin_error_lines: int
    plugin_codes: dict[str, int]
    deliberate_drops: int
    deliberate_drops_reported: int
    only_plugin_errors_differ: bool
    difference: list[str]
    runs_compared: int
    plugin_cold_warm_identical: bool
    plugin_mismatch: list[str]
    plain_cold_warm_identical: bool

    @property
    def ok(self) -> bool:
        return self.only_plugin_errors_differ and self.plugin_cold_warm_identical


def excerpt_diff(a: str, b: str, a_name: str, b_name: str, limit: int = 20) -> list[str]:
    diff = difflib.unified_diff(
        a.splitlines(), b.splitlines(), a_name, b_name, lineterm="", n=1
    )
    return list(diff)[:limit]


def describe(run: Run) -> str:
    return "the first cold run" if run.mode == "prime" else f"a {run.mode} run"


def check_outputs(runs: list[Run], manifest: dict[str, object]) -> Checks:
    by_variant = {v: [r for r in runs if r.variant == v] for v in VARIANTS}
    plain_ref, plugin_ref = by_variant["plain"][0], by_variant["plugin"][0]
    plain_split, plugin_split = split_output(plain_ref.stdout), split_output(plugin_ref.stdout)

    difference: list[str] = []
    if plain_split.plugin_lines:
        difference.append("plain mypy printed lines with plugin codes:")
        difference += plain_split.plugin_lines[:10]
    if plain_split.other_lines != plugin_split.other_lines:
        difference += excerpt_diff(
            "\n".join(plain_split.other_lines),
            "\n".join(plugin_split.other_lines),
            "plain (non-plugin lines)",
            "plugin (non-plugin lines)",
        )

    errors = [line for line in plugin_split.plugin_lines if PLUGIN_ERROR.search(line)]
    codes = Counter(m.group(1) for line in errors if (m := PLUGIN_ERROR.search(line)))
    reported = {
        (m.group("path"), int(m.group("line")))
        for line in errors
        if "[session-not-forwarded]" in line and (m := LOCATION.match(line))
    }
    dropped = manifest.get("dropped", [])
    assert isinstance(dropped, list)
    drops = {(str(d["path"]), int(d["line"])) for d in dropped}

    def mismatches(variant: str) -> list[str]:
        ref = by_variant[variant][0]
        for other in by_variant[variant][1:]:
            if other.stdout != ref.stdout:
                same_lines = sorted(other.stdout.splitlines()) == sorted(ref.stdout.splitlines())
                order_note = " (same lines, different order)" if same_lines else ""
                head = [f"{describe(ref)} vs {describe(other)}{order_note}"]
                return head + excerpt_diff(
                    ref.stdout, other.stdout, f"{variant} {ref.mode}", f"{variant} {other.mode}"
                )
        return []

    plugin_mismatch = mismatches("plugin")
    return Checks(
        plain_error_lines=sum(1 for line in plain_split.other_lines if ": error: " in line),
        plugin_error_lines=len(errors),
        plugin_codes=dict(sorted(codes.items())),
        deliberate_drops=len(drops),
        deliberate_drops_reported=len(drops & reported),
        only_plugin_errors_differ=not difference,
        difference=difference,
        runs_compared=len(by_variant["plugin"]),
        plugin_cold_warm_identical=not plugin_mismatch,
        plugin_mismatch=plugin_mismatch,
        plain_cold_warm_identical=not mismatches("plain"),
    )


# --------------------------------------------------------------------------------------
# Reporting


def print_mode(summary: ModeSummary) -> None:
    title = {
        "cold": "cold: each run with its own fresh, empty --cache-dir",
        "warm": "warm: each run re-uses the cache of an earlier identical run, nothing changed",
    }[summary.mode]
    print(f"\n{title}")
    print(
        f"  {'pair':>4}  {'order':<12} {'plain':>8} {'plugin':>8} {'ratio':>6}   "
        f"{'cpu plain':>9} {'plugin':>8} {'ratio':>6}   {'RSS plain':>9} {'plugin':>8} {'ratio':>6}"
    )
    for i, row in enumerate(summary.pairs, start=1):
        print(
            f"  {i:>4}  {row['order']!s:<12}"
            f" {row['plain_wall_s']:>7.2f}s {row['plugin_wall_s']:>7.2f}s {row['wall_ratio']:>6.3f}"
            f"   {row['plain_cpu_s']:>8.2f}s {row['plugin_cpu_s']:>7.2f}s {row['cpu_ratio']:>6.3f}"
            f"   {row['plain_rss_mib']:>6.0f}MiB {row['plugin_rss_mib']:>5.0f}MiB"
            f" {row['rss_ratio']:>6.3f}"
        )
    for label, spread in [
        ("wall time", summary.wall_ratio),
        ("CPU time", summary.cpu_ratio),
        ("peak RSS", summary.rss_ratio),
    ]:
        print(
            f"  {label:<9} plugin/plain: median {spread.median:.3f}  "
            f"(min {spread.min:.3f}, max {spread.max:.3f})"
        )
    print(
        f"  medians: wall {summary.plain_wall_median_s:.2f} s -> "
        f"{summary.plugin_wall_median_s:.2f} s, peak RSS {summary.plain_rss_median_mib:.0f} MiB -> "
        f"{summary.plugin_rss_median_mib:.0f} MiB"
    )


def print_checks(checks: Checks) -> None:
    print("\nchecks")
    print(f"  plain mypy error lines: {checks.plain_error_lines}")
    codes = ", ".join(f"{code}: {n}" for code, n in checks.plugin_codes.items()) or "none"
    print(f"  plugin error lines ([session-...] codes): {checks.plugin_error_lines} ({codes})")
    print(
        f"  deliberately dropped sessions reported as session-not-forwarded: "
        f"{checks.deliberate_drops_reported} of {checks.deliberate_drops}"
    )
    if checks.only_plugin_errors_differ:
        print("  plain vs plugin output: identical apart from the plugin's errors")
    else:
        print("  DIFFERENCE: plain and plugin outputs differ in more than the plugin's errors")
        for line in checks.difference:
            print(f"    {line}")
    if checks.plugin_cold_warm_identical:
        print(f"  plugin output cold vs warm: identical ({checks.runs_compared} runs)")
    else:
        print("  MISMATCH: plugin output is not the same in every run, cold and warm")
        for line in checks.plugin_mismatch:
            print(f"    {line}")
    if not checks.plain_cold_warm_identical:
        print("  warning: plain mypy's own output differs between runs (not the plugin's doing)")


# --------------------------------------------------------------------------------------
# Main


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time mypy with and without the mypy-session plugin, side by side."
    )
    parser.add_argument("--modules", type=int, help="service modules in the corpus (300)")
    parser.add_argument("--functions", type=int, default=20, help="units per module (20)")
    parser.add_argument("--rounds", type=int, help="pairs per mode (5)")
    parser.add_argument("--mode", choices=["cold", "warm", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (0)")
    parser.add_argument("--plugin", default="mypy_session.plugin", help="plugin module")
    parser.add_argument("--corpus", type=Path, help="generate into / re-use this directory")
    parser.add_argument("--quick", action="store_true", help="smoke test: 40 modules, 2 rounds")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--compiled",
        action="store_true",
        help="measure the mypyc-compiled wheel built from this checkout (default: the sources)",
    )
    parser.add_argument(
        "--plugin-settings",
        default="",
        help="TOML appended to the plugin variant's config (\\n for newlines), e.g. a guarded table",
    )
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="instead of timing, count instructions of one run per variant and mode (valgrind)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="with --instructions: valgrind processes at once (2; 1 on a shared machine)",
    )
    parser.add_argument(
        "--callgrind-out",
        type=Path,
        help="with --instructions: keep callgrind's profiles in this directory",
    )
    parser.add_argument(
        "--variants",
        default="plain,plugin",
        help="with --instructions: count only these (plain,plugin; e.g. plugin after a change)",
    )
    ns = parser.parse_args(argv)
    ns.variants = tuple(v.strip() for v in ns.variants.split(",") if v.strip())
    if not ns.variants or any(v not in VARIANTS for v in ns.variants):
        parser.error("--variants: plain, plugin or plain,plugin")
    if ns.variants != VARIANTS and not ns.instructions:
        parser.error("--variants needs --instructions")
    ns.variants = tuple(v for v in VARIANTS if v in ns.variants)
    if ns.jobs < 1:
        parser.error("--jobs must be at least 1")
    if ns.callgrind_out is not None:
        if not ns.instructions:
            parser.error("--callgrind-out needs --instructions")
        if not ns.callgrind_out.is_dir():
            parser.error(f"--callgrind-out: {ns.callgrind_out} is not a directory")
        ns.callgrind_out = ns.callgrind_out.resolve()
    if ns.modules is None:
        ns.modules = 40 if ns.quick else 300
    if ns.rounds is None:
        ns.rounds = 2 if ns.quick else 5
    if ns.rounds < 1 or ns.modules < 1 or ns.functions < 1:
        parser.error("--rounds, --modules and --functions must be at least 1")
    return ns


def report_instructions(
    bench: "Bench",
    configs: dict[str, Path],
    modes: Sequence[str],
    jobs: int = 2,
    profiles: Path | None = None,
    variants: Sequence[str] = VARIANTS,
) -> int:
    """Print the instruction counts of one run per variant and mode, and their ratio
    (`jobs` valgrind processes at once; with `profiles`, callgrind's output files are
    kept there as callgrind.<mode>.<variant>; `variants`: count only these, e.g. the plugin
    alone after a change, against a plain count of the same corpus made before)."""
    missing = need_valgrind()
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return 2
    compileall.compile_dir(str(PLUGIN_ROOT / "mypy_session"), quiet=1)
    for mode in modes:
        # A count does not depend on what else the machine is doing: by default both
        # variants at once; --jobs 1 runs them one after the other (a shared machine).
        caches = {variant: bench.fresh_cache() for variant in variants}
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = {
                variant: pool.submit(
                    count_instructions,
                    bench.corpus,
                    configs[variant],
                    caches[variant],
                    warm=mode == "warm",
                    out_file=None if profiles is None else profiles / f"callgrind.{mode}.{variant}",
                )
                for variant in variants
            }
            try:
                counts = {variant: future.result() for variant, future in futures.items()}
            except MypyFailed as exc:
                print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
                print(exc, file=sys.stderr)
                return 2
        for variant in variants:
            log(f"[instructions] {mode} {variant}: {counts[variant]:,}")
        if len(counts) < len(VARIANTS):
            (variant, count), = counts.items()
            print(f"instructions, one {mode} run: {variant} {count:,}")
            continue
        plain, plugin = (counts[v] for v in VARIANTS)
        print(f"instructions, one {mode} run each: plain {plain:,}, plugin {plugin:,}")
        print(f"  plugin/plain ({mode}): {plugin / plain:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    ns = parse_args(argv)
    started = time.perf_counter()
    with work_directory(ns.keep) as workdir:
        corpus, manifest = prepare_corpus(ns.corpus, workdir, ns.modules, ns.functions, ns.seed)
        configs = write_configs(workdir, ns.plugin, ns.plugin_settings)
        if ns.compiled:
            global PLUGIN_ROOT
            try:
                PLUGIN_ROOT = build_compiled(workdir, log)
            except MypyFailed as exc:
                print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
                log(str(exc))
                return 2
        bench = Bench(corpus.resolve(), configs, workdir)
        if ns.instructions:
            modes = ("cold", "warm") if ns.mode == "both" else (ns.mode,)
            return report_instructions(
                bench, configs, modes, ns.jobs, ns.callgrind_out, ns.variants
            )
        summaries: list[ModeSummary] = []
        try:
            bench.prime()
            if ns.mode in ("cold", "both"):
                summaries.append(summarize("cold", bench.pairs("cold", ns.rounds)))
            if ns.mode in ("warm", "both"):
                summaries.append(summarize("warm", bench.pairs("warm", ns.rounds)))
            else:  # still compare a warm run with the cold ones
                for variant in VARIANTS:
                    bench.run(variant, "warm", bench.warm_caches[variant])
        except MypyFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        checks = check_outputs(bench.runs, manifest)
    elapsed = time.perf_counter() - started

    info = {
        "mypy": mypy.version.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "plugin": ns.plugin,
        "compiled": ns.compiled,
        "rounds": ns.rounds,
        "mode": ns.mode,
        "corpus": {k: v for k, v in manifest.items() if k != "dropped"},
    }
    if ns.json:
        document = {
            **info,
            "results": {s.mode: asdict(s) for s in summaries},
            "checks": asdict(checks),
            "ok": checks.ok,
            "elapsed_s": round(elapsed, 1),
        }
        print(json.dumps(document, indent=2))
    else:
        corpus_info = info["corpus"]
        assert isinstance(corpus_info, dict)
        print("mypy-session overhead benchmark")
        print(
            f"  mypy {info['mypy']}, Python {info['python']}, {info['cpus']} CPUs, "
            f"plugin {ns.plugin!r} ({'mypyc wheel' if ns.compiled else 'sources'}), "
            f"{ns.rounds} pairs per mode"
        )
        print(
            f"  corpus: {corpus_info['files']} files, {corpus_info['lines']} lines, "
            f"{corpus_info['calls']} calls of which {corpus_info['session_calls']} pass a "
            f"session and {corpus_info['dropped_session_calls']} drop it"
        )
        for summary in summaries:
            print_mode(summary)
        print_checks(checks)
        print(f"\ntotal time {elapsed:.0f} s")
    return 0 if checks.ok else 1


if __name__ == "__main__":
    sys.exit(main())
