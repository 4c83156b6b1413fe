"""Build hook: compile the plugin's analysis with mypyc when building a wheel.

mypy itself ships compiled with mypyc; a plugin in plain Python runs its hooks several
times slower than the checker around it. Compiling the modules that run inside mypy's
hooks cuts the plugin's cost by about a third (benchmarks/README.md, "Compiled").

- Only a regular wheel is compiled. An editable install (`pip install -e .`) stays pure
  Python, so an edited source file takes effect at once.
- Set MYPY_SESSION_PURE_PYTHON=1 to build a pure-Python wheel.
- When compiling fails (no C compiler, an unsupported Python), the build says why on
  stderr and falls back to the pure-Python wheel, which behaves the same, only slower.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

# The modules that run inside mypy's hooks and the end-of-module walk, including the
# attribute hooks of legacy models (loaded at start-up with the default settings, as
# `vocabulary` already was). plugin.py stays pure Python: its class subclasses mypy's
# Plugin, which a separately compiled module cannot do. So do the modules only a warm run
# loads (config, fullnames, errorcodes, marker_stubs...): loading the compiled library
# costs more than it saves there. The command line (cli.py, commands/, fixes/, baseline,
# recorder) runs once per command and is not worth compiling.
COMPILED = (
    "mypy_session/checks/__init__.py",
    "mypy_session/checks/borrowed_commit.py",
    "mypy_session/checks/callee_opens_scope.py",
    "mypy_session/checks/detached.py",
    "mypy_session/checks/mismatch.py",
    "mypy_session/checks/missing_param.py",
    "mypy_session/checks/nested_scope.py",
    "mypy_session/checks/not_analysed.py",
    "mypy_session/checks/not_forwarded.py",
    "mypy_session/checks/unresolved_settings.py",
    "mypy_session/any_receiver_calls.py",
    "mypy_session/any_receivers.py",
    "mypy_session/callable_wrappers.py",
    "mypy_session/compat.py",
    "mypy_session/conditional_openers.py",
    "mypy_session/daemon_deps.py",
    "mypy_session/decorators.py",
    "mypy_session/escaping_objects.py",
    "mypy_session/facts.py",
    "mypy_session/gate.py",
    "mypy_session/held.py",
    "mypy_session/injected_parameters.py",
    "mypy_session/kept_findings.py",
    "mypy_session/knowledge.py",
    "mypy_session/legacy_models.py",
    "mypy_session/nested_functions.py",
    "mypy_session/not_analysed.py",
    "mypy_session/ownership.py",
    "mypy_session/receiver_sessions.py",
    "mypy_session/relationships.py",
    "mypy_session/report.py",
    "mypy_session/scopes.py",
    "mypy_session/settings_resolution.py",
    "mypy_session/typed_openers.py",
    "mypy_session/untyped_sessions.py",
    "mypy_session/vocabulary.py",
)

PURE_ENV = "MYPY_SESSION_PURE_PYTHON"

_SETUP = """
import sys
from setuptools import setup
from mypyc.build import mypycify

files, target = sys.argv.pop(1).split(","), sys.argv.pop(1)
setup(name="mypy_session_compiled", packages=[], py_modules=[], ext_modules=mypycify(files, opt_level="3", target_dir=target))
"""


class MypycHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        if os.environ.get(PURE_ENV, "") not in ("", "0"):
            self._say(f"{PURE_ENV} is set: building a pure-Python wheel")
            return
        self._work = tempfile.mkdtemp(prefix="mypy-session-mypyc-")
        try:
            built = self._compile(Path(self._work))
        except Exception as exc:  # noqa: BLE001 - any failure means: ship pure Python
            self._say(f"compiling with mypyc failed, building a pure-Python wheel instead: {exc}")
            return
        for path in built:
            build_data["force_include"][str(path)] = str(path.relative_to(Path(self._work) / "lib"))
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        self._say(f"compiled {len(COMPILED)} modules with mypyc")

    def finalize(self, version: str, build_data: dict[str, Any], artifact_path: str) -> None:
        work = getattr(self, "_work", None)
        if work is not None:
            shutil.rmtree(work, ignore_errors=True)

    def _compile(self, work: Path) -> list[Path]:
        setup = work / "setup.py"
        setup.write_text(_SETUP, encoding="utf-8")
        cmd = [
            sys.executable,
            str(setup),
            ",".join(str(Path(self.root, path)) for path in COMPILED),
            str(work / "c"),  # the generated C stays out of the source tree
            "build_ext",
            "--build-lib",
            str(work / "lib"),
            "--build-temp",
            str(work / "tmp"),
        ]
        # Run from the work directory: setuptools would read (and judge) our pyproject.toml.
        proc = subprocess.run(
            cmd, cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        if proc.returncode != 0:
            raise RuntimeError(proc.stdout[-3000:])
        built = sorted(p for p in (work / "lib").rglob("*") if p.suffix in (".so", ".pyd"))
        if not built:
            raise RuntimeError("mypyc produced no extension modules")
        return built

    def _say(self, message: str) -> None:
        print(f"mypy-session build: {message}", file=sys.stderr)
