"""Shared by overhead.py and realcode.py: count the instructions of a mypy run with
valgrind's callgrind, and build the mypyc-compiled wheel that a regular install runs.

Instructions, unlike time, do not depend on what else the machine is doing, so one run
per variant gives a ratio that is not noise (callgrind is about 50x slower than a plain
run). Instructions are not time: memory and cache misses are not in the count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CRASH_MARKERS = ("INTERNAL ERROR", "Traceback (most recent call last)")
# The wheel's build log names how many modules mypyc compiled (hatch_build.py).
COMPILED_MARKER = re.compile(r"compiled (\d+) modules with mypyc")


class MypyFailed(Exception):
    """mypy crashed, or stopped on a configuration or plugin-loading error."""


@dataclass
class Count:
    """One mypy process run under callgrind."""

    instructions: int
    returncode: int
    stdout: str = field(repr=False)
    stderr: str = field(repr=False)


def need_valgrind() -> str | None:
    """None when valgrind is there, else the one-line reason it is needed."""
    if shutil.which("valgrind") is None:
        return "--instructions needs valgrind (apt-get install valgrind)"
    return None


def callgrind_mypy(
    args: Sequence[str], cwd: Path, env: dict[str, str], out_file: Path | None = None
) -> int:
    """Instructions executed by `python -m mypy ARGS`, counted by valgrind's callgrind."""
    return callgrind_run(args, cwd, env, out_file).instructions


def callgrind_run(
    args: Sequence[str], cwd: Path, env: dict[str, str], out_file: Path | None = None
) -> Count:
    """`python -m mypy ARGS` under callgrind: its count, exit status and output. With
    `out_file`, callgrind's profile is kept there (read it with `callgrind_annotate`).
    A crash of mypy (exit status 2 or more, INTERNAL ERROR, a traceback) raises
    MypyFailed: a count of a run that stopped early means nothing."""
    # Not a shim script: valgrind must see Python. In a virtual environment keep its own
    # path (a symlink to the interpreter): Python finds the environment from that path,
    # and the resolved one would run without the environment's packages (no mypy).
    python = sys.executable if sys.prefix != sys.base_prefix else os.path.realpath(sys.executable)
    # A fixed hash seed: set and dict orders, and so the work done, are the same each run.
    env = {**env, "PYTHONHASHSEED": env.get("PYTHONHASHSEED", "0")}
    # Valgrind writes its own lines to a file of their own: mypy's stderr stays mypy's.
    handle, name = tempfile.mkstemp(prefix="callgrind-", suffix=".log")
    os.close(handle)
    log_file = Path(name)
    cmd = [
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out_file if out_file is not None else '/dev/null'}",
        f"--log-file={log_file}",
        python,
        "-m",
        "mypy",
        *args,
    ]
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, env=env)
        report = log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
    finally:
        log_file.unlink(missing_ok=True)
    found = re.search(r"I\s+refs:\s+([\d,]+)", report)
    if found is None:
        raise MypyFailed(f"valgrind did not report a count:\n{(report + proc.stderr)[-2000:]}")
    crashed = proc.returncode not in (0, 1) or any(
        marker in proc.stdout + proc.stderr for marker in CRASH_MARKERS
    )
    if crashed:
        text = (proc.stdout + "\n" + proc.stderr).strip()
        raise MypyFailed(
            f"mypy exited with status {proc.returncode} under callgrind "
            f"(python -m mypy {' '.join(args)}):\n{text[-2000:]}"
        )
    return Count(int(found.group(1).replace(",", "")), proc.returncode, proc.stdout, proc.stderr)


def build_compiled(workdir: Path, log: Callable[[str], None]) -> Path:
    """Build the wheel as a regular install would (mypyc-compiled, hatch_build.py) and
    unpack it under `workdir`/site: the plugin the measured runs import (put that
    directory first on PYTHONPATH). Raises MypyFailed when the wheel is not compiled."""
    log("building the compiled wheel (about 30 s)")
    dist, site = workdir / "dist", workdir / "site"
    shutil.rmtree(dist, ignore_errors=True)
    shutil.rmtree(site, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(dist), str(REPO_ROOT)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    text = proc.stdout + proc.stderr
    compiled = COMPILED_MARKER.search(text)
    if proc.returncode != 0 or compiled is None or compiled.group(1) != str(expected_compiled()):
        raise MypyFailed(f"the compiled wheel was not built:\n{text[-2000:]}")
    (wheel,) = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def expected_compiled() -> int:
    """How many modules hatch_build.py compiles (its COMPILED tuple)."""
    text = (REPO_ROOT / "hatch_build.py").read_text(encoding="utf-8")
    block = re.search(r"^COMPILED = \((.*?)^\)", text, re.S | re.M)
    return len(re.findall(r'"mypy_session/[^"]+\.py"', block.group(1))) if block else -1

