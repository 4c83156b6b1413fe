"""What `mypy-session check` shows: `--select` / `--ignore` and `--output-format`.

Without them `check` is mypy, output and exit status. With them, mypy runs as it would
(the same files, the same incremental cache, every module checked that it needs), with
`--output json`; its errors are read back, filtered by the selection and written in the
format asked for. With a selection, the exit status comes from the selected errors alone:
0 none, 1 some, 2 a usage or configuration error or a blocking error (a file mypy cannot
parse: then every error is shown, since nothing after it was checked).
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from mypy_session.commands import output_formats, selection
from mypy_session.commands.entry import _emit, unwritable_output
from mypy_session.commands.output_formats import Diagnostic, Summary

RunMypy = Callable[[list[str], "TextIO | None"], int]

_PLUGIN_NOTE = "mypy-session:"  # the plugin's own notes (a setting that names nothing)


def options_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mypy-session check", add_help=False, allow_abbrev=False)
    parser.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=(*output_formats.FORMATS, "text"),
        default=None,
    )
    parser.add_argument("--output-file")
    selection.add_arguments(parser)
    return parser


def check(args: list[str], run_mypy: RunMypy) -> int:
    """`check [our options] [mypy args]`; `run_mypy(args, stdout)` runs mypy with the plugin."""
    known, mypy_args = options_parser().parse_known_args(args)
    try:
        chosen = selection.from_arguments(known)
    except selection.SelectionError as exc:
        return _fail(str(exc))
    fmt = known.format or "text"
    if fmt == "text" and not chosen.active and known.output_file is None:
        return run_mypy(mypy_args, None)  # mypy's own output
    problem = unwritable_output(known.output_file)
    if problem is not None:
        return _fail(problem)
    buffer = io.StringIO()
    status = run_mypy([*mypy_args, "--output", "json"], buffer)
    diagnostics = read_json_output(buffer.getvalue())
    if status == 2 and not diagnostics:
        return 2  # mypy (or the plugin) already said why, on stderr
    if status == 2:
        shown, hidden = diagnostics, 0  # a blocking error: show everything mypy said
    else:
        shown = [d for d in diagnostics if _selected(chosen, d)]
        hidden = sum(1 for d in diagnostics if d.severity == "error" and not _selected(chosen, d))
    summary = Summary(hidden=hidden, selection=chosen.describe())
    text = output_formats.render(fmt, shown, summary)
    if not _emit(text, known.output_file):
        return 2
    if status == 2 or not chosen.active:
        return status
    return 1 if any(d.severity == "error" for d in shown) else 0


def _selected(chosen: selection.Selection, d: Diagnostic) -> bool:
    if d.code is None and d.severity == "note" and d.message.startswith(_PLUGIN_NOTE):
        return True  # says why findings may be missing: kept under any selection
    return chosen.selects(d.code)


def read_json_output(text: str) -> list[Diagnostic]:
    """mypy's `--output json` lines as diagnostics; any other line goes to stderr."""
    out = []
    for line in text.splitlines():
        item = _json_object(line)
        if item is None:
            if line.strip():
                print(line, file=sys.stderr)
            continue
        column = item.get("column", -1)
        end_column = item.get("end_column")
        end_line = item.get("end_line")
        out.append(
            Diagnostic(
                code=item.get("code"),
                path=str(item.get("file", "")),
                line=int(item.get("line", 1) or 1),
                column=column + 1 if isinstance(column, int) and column >= 0 else 0,
                message=str(item.get("message", "")),
                severity=str(item.get("severity", "error")),
                hint=item.get("hint") or None,
                end_line=end_line if isinstance(end_line, int) and end_line > 0 else None,
                end_column=end_column + 1 if isinstance(end_column, int) and end_column >= 0 else None,
            )
        )
    return out


def _json_object(line: str) -> dict[str, Any] | None:
    if not line.startswith("{"):
        return None
    try:
        item = json.loads(line)
    except ValueError:
        return None
    return item if isinstance(item, dict) else None


def _fail(message: str) -> int:
    print(f"mypy-session: error: {message}", file=sys.stderr)
    return 2
