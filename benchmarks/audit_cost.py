"""`mypy-session audit` against a cold `mypy` run on the same tree, side by side.

Issue bar: the audit costs at most 1.2x a cold mypy run (with the plugin, as the project
runs it). Both run on the generated service-layer corpus (benchmarks/corpus.py), or on a
tree you name, alternately, with a fresh cache directory for mypy each time; the median of
the per-pair ratios is printed. `--instructions` counts instructions with callgrind
instead (one run each; repeatable on a noisy machine).

    python benchmarks/audit_cost.py                       # 150-module corpus, 3 pairs
    python benchmarks/audit_cost.py --tree examples/bakery --config examples/bakery/pyproject.toml
    python benchmarks/audit_cost.py --instructions --modules 60
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from corpus import PACKAGE, generate  # noqa: E402

REPO_ROOT = HERE.parent


def command(kind: str, config: Path, target: str, cache: Path) -> list[str]:
    if kind == "mypy":
        return [sys.executable, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache), target]
    return [sys.executable, "-m", "mypy_session", "audit", "--format", "json", "--no-progress",
            "--config-file", str(config), target]


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1) or "Traceback" in proc.stderr:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def instructions(cmd: list[str], cwd: Path) -> int:
    python = os.path.realpath(sys.executable)
    full = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, *cmd[1:]]
    proc = subprocess.run(full, cwd=cwd, capture_output=True, text=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", proc.stderr)
    if found is None:
        raise SystemExit(f"valgrind did not report a count:\n{proc.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modules", type=int, default=150)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tree", type=Path, help="audit this tree instead of a generated corpus")
    parser.add_argument("--config", type=Path, help="the mypy config for --tree")
    parser.add_argument("--instructions", action="store_true", help="count instructions (callgrind)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mypy-session-audit-"))
    try:
        if args.tree is not None:
            cwd, target = args.tree.resolve(), "."
            config = (args.config or args.tree / "pyproject.toml").resolve()
        else:
            cwd, target = work / "corpus", PACKAGE
            generate(cwd, modules=args.modules, functions=20, seed=0)
            config = work / "mypy.toml"
            config.write_text('[tool.mypy]\nstrict = true\nplugins = ["mypy_session.plugin"]\n')
        ratios = []
        rounds = 1 if args.instructions else args.rounds
        for index in range(rounds):
            cache = work / f"cache-{index}"
            mypy_cmd = command("mypy", config, target, cache)
            audit_cmd = command("audit", config, target, cache)
            measure = instructions if args.instructions else timed
            plain = measure(mypy_cmd, cwd)
            audit = measure(audit_cmd, cwd)
            shutil.rmtree(cache, ignore_errors=True)
            ratios.append(audit / plain)
            unit = "instructions" if args.instructions else "s"
            print(f"pair {index + 1}: cold mypy {plain:,.2f} {unit}, audit {audit:,.2f} {unit}, ratio {audit / plain:.3f}")
        print(f"audit / cold mypy: median {statistics.median(ratios):.3f} over {len(ratios)} pair(s) (bar: 1.2)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
