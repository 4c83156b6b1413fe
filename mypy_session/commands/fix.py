"""`mypy-session fix PATHS [mypy args] [--diff] [--unsafe-fixes] [--select CODES]`: the
audit's last manual step, automated (SPEC section 7, docs/commands/fix.md).

One recording build (`build.run`, as for `audit`) gives the findings and the facts of
each call; each finding is planned by the module of its code (`mypy_session.fixes`), and
the edits are applied with libcst (imported here only, never by the plugin). Safe fixes
run by default, unsafe ones with `--unsafe-fixes`, as in ruff.

- A fix counts only if every one of its edits applies, in every file it touches (a chain
  threaded across modules is changed everywhere or nowhere).
- A file that does not parse, that no longer compiles after the edits, or that changed
  since the analysis is left untouched and named; the fixes touching it are dropped.
- Writes are atomic and keep the file's mode (`atomic_write`).
- Exit status: 0 when nothing is left to fix; 1 when findings remain, or with `--diff`
  when changes would be made; 2 for bad arguments or a build that mypy stopped.
"""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from mypy_session import atomic_write
from mypy_session.commands import build, selection
from mypy_session.recorder import Finding

if TYPE_CHECKING:
    from mypy_session.fixes import Edit, Fix

# The codes a fix exists for; every other selected finding is counted as remaining.
_PLANNERS: Final = {
    "session-not-forwarded": "not_forwarded",
    "session-read-not-forwarded": "not_forwarded",
    "session-mismatch": "mismatch",
    "session-nested-scope": "nested_scope",
    "session-borrowed-commit": "borrowed_commit",
    "session-missing-param": "missing_param",
    "session-callee-opens-scope": "callee_opens_scope",
    "session-detached-use": "detached_use",
}
class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise SystemExit(build.fail(f"fix: {message}"))


def fix(args: list[str]) -> int:
    parser = _Parser(
        prog="mypy-session fix",
        allow_abbrev=False,  # `--sel...` abbreviations would take mypy's flags
        description="Fix the findings of PATHS: safe fixes by default, unsafe ones on request.",
        epilog="Every other argument (paths, --config-file, mypy flags) goes to mypy.",
    )
    parser.add_argument("--diff", action="store_true", help="show the changes; write nothing")
    parser.add_argument("--unsafe-fixes", action="store_true", help="also apply the unsafe fixes")
    selection.add_arguments(parser)
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None)
    try:
        known, mypy_args = parser.parse_known_args(args)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    unknown = [
        arg for arg in mypy_args if arg.startswith(("--select", "--ignore", "--unsafe"))
    ]
    if unknown:
        return build.fail(f"fix: unrecognised argument {unknown[0]}")
    try:
        chosen = selection.from_arguments(known)
    except selection.SelectionError as exc:
        return build.fail(f"fix: {exc}")
    from mypy_session.cli import unreadable_config

    problem = unreadable_config(mypy_args)
    if problem is not None:
        return build.fail(problem)
    wrong = _bad_mypy_arguments(mypy_args)
    if wrong is not None:
        return build.fail(f"fix: {wrong}")
    return _run(mypy_args, chosen, diff=known.diff, unsafe=known.unsafe_fixes, progress=known.progress)


def _run(
    mypy_args: list[str],
    chosen: selection.Selection,
    *,
    diff: bool,
    unsafe: bool,
    progress: bool | None,
) -> int:
    import importlib

    from mypy_session.fixes.context import Collector, Context

    before = _read_sources(mypy_args)
    collector = Collector()
    outcome = build.run(mypy_args, visit=collector, progress=progress)
    if outcome.blocking:
        for message in outcome.blocking:
            print(message, file=sys.stderr)
        print("mypy-session: fix: mypy stopped on the error above; no file was changed", file=sys.stderr)
        return 2
    findings = [finding for finding in outcome.findings if chosen.selects(finding.code)]
    for path in {finding.path for finding in findings} - set(before):
        # a module mypy followed an import into: as it is now (after the analysis)
        text = _current(path)
        if text is not None:
            before[path] = text
    context = Context(
        outcome.recorder.calls, collector, modern_unions=outcome.options.python_version >= (3, 10)
    )
    planned: list[tuple[Finding, Fix]] = []
    for finding in findings:
        name = _PLANNERS.get(finding.code)
        if name is None:
            continue
        plan: Callable[..., Fix | None] = importlib.import_module(f"mypy_session.fixes.{name}").plan
        try:
            found = plan(finding, context)
        except Exception:  # a shape the planner does not understand: no fix, never a crash
            if os.environ.get("MYPY_SESSION_DEBUG"):
                raise
            found = None
        if found is not None:
            planned.append((finding, found))
    held_back = 0
    if not unsafe:
        # "J more with --unsafe-fixes": the unsafe fixes that would apply, all together
        every, _, _ = _settle(planned, before, {})
        held_back = sum(1 for _, item in every if not item.safe)
        planned = [(f, item) for f, item in planned if item.safe]
    planned, texts, untouched = _settle(planned, before, {})
    changed = {path: text for path, text in texts.items() if text != before.get(path)}
    if not diff:
        stale = {path: "changed since the analysis" for path in changed if _current(path) != before.get(path)}
        if stale:  # the fixes touching them are dropped everywhere, then applied again
            planned, texts, untouched = _settle(planned, before, {**untouched, **stale})
            changed = {path: text for path, text in texts.items() if text != before.get(path)}
    if diff:
        for path in sorted(changed):
            shown = build.relative(path)
            sys.stdout.writelines(
                difflib.unified_diff(
                    before[path].splitlines(keepends=True),
                    changed[path].splitlines(keepends=True),
                    f"a/{shown}",
                    f"b/{shown}",
                )
            )
    else:
        for path in sorted(changed):
            try:
                atomic_write.write_text(path, changed[path])
            except OSError as exc:
                untouched[path] = f"cannot be written: {exc.strerror or exc}"
        # a fix is done only where all its files were written
        planned = [(f, item) for f, item in planned if not (item.paths & set(untouched))]
        changed = {path: text for path, text in changed.items() if path not in untouched}

    for path, why in sorted(untouched.items()):
        print(f"mypy-session: {build.relative(path)}: left untouched: {why}", file=sys.stderr)
    fixed = {id(f) for f, _ in planned}
    remaining = [f for f in findings if id(f) not in fixed]
    for finding in remaining:
        print(f"{build.relative(finding.path)}:{finding.line}: error: {finding.message}  [{finding.code}]")
    verb = "would fix" if diff else "fixed"
    files = "file" if len(changed) == 1 else "files"
    summary = f"{verb} {len(planned)} of {len(findings)} findings in {len(changed)} {files}"
    if not unsafe:
        summary += f"; {held_back} more with --unsafe-fixes"
    print(summary)
    if diff and changed:
        return 1
    return 1 if remaining else 0


def _settle(
    planned: list[tuple[Finding, Fix]], before: dict[str, str], untouched: dict[str, str]
) -> tuple[list[tuple[Finding, Fix]], dict[str, str], dict[str, str]]:
    """The fixes whose edits all apply, with the files' new texts: a fix with an edit that
    does not apply, or in a file left untouched, is dropped, and the rest are applied
    again without it (a chain across modules changes everywhere or nowhere)."""
    untouched = dict(untouched)
    while True:
        by_path: dict[str, set[Edit]] = {}
        for _, item in planned:
            for edit in item.edits:
                by_path.setdefault(edit.path, set()).add(edit)
        texts, failed = _rewrite_all(by_path, before, untouched)
        kept = [
            (f, item)
            for f, item in planned
            if not (set(item.edits) & failed) and not (item.paths & set(untouched))
        ]
        if len(kept) == len(planned):
            return kept, texts, untouched
        planned = kept


def _rewrite_all(
    by_path: dict[str, set[Edit]], before: dict[str, str], untouched: dict[str, str]
) -> tuple[dict[str, str], set[Edit]]:
    """The new text of every file with edits, and the edits that did not apply."""
    import libcst

    from mypy_session.fixes.rewrite import rewrite

    texts: dict[str, str] = {}
    failed: set[Edit] = set()
    for path, edits in by_path.items():
        if path in untouched:
            continue
        source = before.get(path)
        if source is None:
            untouched[path] = "cannot be read"
            continue
        ordered = sorted(edits, key=repr)
        try:
            result = rewrite(source, ordered)
        except libcst.ParserSyntaxError as exc:
            untouched[path] = f"does not parse ({str(exc).splitlines()[0]})"
            continue
        failed |= set(ordered) - set(result.applied)
        try:
            compile(result.code, path, "exec", dont_inherit=True)
        except SyntaxError as exc:  # never write broken code
            untouched[path] = f"would not compile after fixing ({exc.msg}); please report this"
            continue
        texts[path] = result.code
    return texts, failed


def _bad_mypy_arguments(mypy_args: list[str]) -> str | None:
    """mypy's own complaint about the arguments left for it, in one line; None if none."""
    import io

    from mypy.main import process_options

    errors = io.StringIO()
    with open(os.devnull, "w") as devnull:
        try:
            process_options(list(mypy_args), stdout=devnull, stderr=errors)
        except SystemExit:
            lines = [line for line in errors.getvalue().splitlines() if line.strip()]
            return lines[-1].split("error: ", 1)[-1] if lines else "bad arguments for mypy"
    return None


def _read_sources(mypy_args: list[str]) -> dict[str, str]:
    """The text of every file mypy will check, as it is before the analysis."""
    from mypy.main import process_options

    with open(os.devnull, "w") as devnull:
        try:
            sources, _ = process_options(list(mypy_args), stdout=devnull, stderr=devnull)
        except SystemExit:
            return {}
    texts: dict[str, str] = {}
    for source in sources:
        if source.path:
            text = _current(source.path)
            if text is not None:
                texts[source.path] = text
    return texts


def _current(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return f.read()
    except (OSError, UnicodeDecodeError):
        return None
