"""Running mypy and the command line in a scratch project, for the plain pytest tests."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from mypy.options import Options

# mypy 2 added parallel checking (-n) and validates plugin error codes named on the
# command line only after loading plugins; the oldest supported mypy (1.11) does neither.
MYPY_2 = hasattr(Options(), "num_workers")

DB_MODULE = '''
from contextlib import contextmanager
from typing import Iterator
from sqlalchemy.orm import Session, sessionmaker
SessionLocal = sessionmaker()

@contextmanager
def session_scope() -> Iterator[Session]:
    with SessionLocal() as s:
        yield s
'''


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str

    @property
    def errors(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if ": error:" in line]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def run(root: Path, *args: str, module: str = "mypy") -> Result:
    env = dict(os.environ)
    env.pop("MYPY_SESSION_DEBUG", None)  # as users run it
    env.pop("MYPY_SESSION_CONFIG_FILE", None)
    proc = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=root,
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def run_with_plugins(root: Path, plugins: list[str], settings: str = "", *args: str) -> Result:
    """mypy on `root` with exactly these plugins, in this order (mypy runs only the first
    hook that a plugin returns for a name), from a mypy.ini written for the run; each
    plugin list gets its own cache directory."""
    (root / "mypy.ini").write_text(
        f"[mypy]\nplugins = {', '.join(plugins)}\n" + textwrap.dedent(settings).lstrip("\n"),
        encoding="utf-8",
    )
    cache = ".mypy_cache/" + "+".join(p.replace(".", "_") for p in plugins)
    return run(root, "--cache-dir", cache, *args)
