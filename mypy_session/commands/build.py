"""One in-process mypy build with the plugin on, recording what the plugin decides.

- The plugin is added to mypy's plugins (once, even if the project's config lists it),
  with a `Recorder` attached: every call site the gate lets through and every finding.
- mypy keeps the syntax trees and the types of the checked modules (`preserve_asts`,
  `export_types`), so the command can read them after the build; library modules still
  skip their function bodies (a per-module `preserve_asts = False`), as in a plain run.
- The cache is off: every module is checked, and so recorded, from source, and nothing is
  written (no `.mypy_cache`), so the commands work in a read-only checkout.
- The findings are filtered the way mypy filtered them: one silenced by
  `# type: ignore[...]` or a disabled code is not in mypy's final errors and is dropped.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from mypy import build
from mypy.errors import CompileError
from mypy.main import process_options
from mypy.nodes import Expression, MypyFile
from mypy.options import Options
from mypy.types import Type

from mypy_session import errorcodes  # noqa: F401 - registers the codes before options are read
from mypy_session.commands.progress import Progress
from mypy_session.commands.visibility import Visibility, from_graph
from mypy_session.config import SessionConfig
from mypy_session.knowledge import Knowledge
from mypy_session.recorder import Finding, Recorder

PLUGIN_NAMES: Final = frozenset(("mypy_session.plugin", "mypy_session"))

Visit = Callable[[MypyFile, dict[Expression, Type], Knowledge], None]


@dataclass(frozen=True, slots=True)
class Message:
    """One of mypy's final errors and notes (all codes), as it will be shown."""

    path: str
    line: int
    column: int
    severity: str
    code: str | None
    message: str


@dataclass
class Outcome:
    options: Options
    config: SessionConfig
    sources: list[str]  # the source files checked
    recorder: Recorder
    messages: list[Message] = field(default_factory=list)  # what mypy kept, sorted
    findings: list[Finding] = field(default_factory=list)  # the plugin's, as mypy kept them
    blocking: list[str] = field(default_factory=list)  # formatted blocking errors, if any
    visibility: Visibility = field(default_factory=Visibility)  # what the build could see


def run(
    mypy_args: list[str],
    *,
    visit: Visit | None = None,
    use_baseline: bool = True,
    root: str | None = None,
    progress: bool | None = None,
) -> Outcome:
    """Build the program `mypy_args` name (mypy's own arguments) with the plugin on."""
    from mypy_session.plugin import SessionPlugin

    sources, options = process_options(list(mypy_args))
    options.plugins = [name for name in options.plugins if name not in PLUGIN_NAMES]
    options.incremental = False
    options.cache_dir = os.devnull  # mypy's "no cache": it creates no directory either
    options.export_types = True
    options.preserve_asts = True  # mypy frees a module's tree unless this is set globally
    options.per_module_options["*.*"] = {"preserve_asts": False}  # matches every module
    options._per_module_cache = None
    plugin = SessionPlugin(options)  # a bad setting exits 2 here, with one line
    recorder = Recorder()
    plugin.recorder = recorder
    plugin.use_baseline = use_baseline
    plugin.baseline_root = root
    files = [source.path for source in sources if source.path]
    outcome = Outcome(options, plugin.config, files, recorder)
    ticker = Progress(len(files), enabled=progress)

    shown: list[str] = []

    def flushed(path: str | None, messages: list[str], serious: bool) -> None:
        shown.extend(messages)
        if path is not None:  # called once per checked module that reports (not libraries)
            ticker.step(path)

    try:
        result = build.build(sources, options, extra_plugins=[plugin], flush_errors=flushed)
    except CompileError as exc:
        outcome.blocking = list(exc.messages) or shown or ["mypy stopped on a blocking error"]
        return outcome
    outcome.visibility = from_graph(result.graph)
    gate = plugin.gate()
    if visit is not None and gate is not None:
        wanted = {os.path.abspath(path) for path in files}
        for tree in list(result.files.values()):
            if tree.path and os.path.abspath(tree.path) in wanted:
                visit(tree, result.types, gate.knowledge)
    errors = result.manager.errors
    kept: set[tuple[str, int, str | None, str]] = set()
    for path, infos in errors.error_info_map.items():
        for info in infos:
            if getattr(info, "hidden", False):  # mypy 2.x: shown elsewhere
                continue
            code = info.code.code if info.code is not None else None
            if info.blocker:
                # A file mypy cannot parse: nothing after it was checked, so no finding
                # may be concluded fixed (the baseline must not shrink on a syntax error).
                outcome.blocking.append(f"{path}:{info.line}: error: {info.message}")
            outcome.messages.append(
                Message(path, info.line, info.column, info.severity, code, info.message)
            )
            kept.add((path, info.line, code, info.message))
    outcome.messages.sort(key=lambda m: (m.path, m.line, m.column))
    seen: set[tuple[str, int, int, str, str]] = set()
    for finding in recorder.findings:
        key = (finding.path, finding.line, finding.column, finding.code, finding.message)
        if key in seen or (finding.path, finding.line, finding.code, finding.message) not in kept:
            continue  # a deferred function is checked twice; ignored lines are dropped
        seen.add(key)
        outcome.findings.append(finding)
    outcome.findings.sort(key=lambda f: (f.path, f.line, f.column, f.code))
    return outcome


def fail(message: str) -> int:
    print(f"mypy-session: error: {message}", file=sys.stderr)
    return 2


def relative(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
