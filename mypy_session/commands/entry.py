"""Entry points of the project-wide commands (`mypy-session audit|callers|baseline`) and of
`check --format sarif`. Each parses its own options and hands every other argument to
mypy, so paths, `--config-file` and mypy's flags work as they do for `mypy`."""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from mypy_session import baseline as baseline_file
from mypy_session.commands import build, render, sarif
from mypy_session.commands.audit import Collector as AuditCollector
from mypy_session.commands.audit import assemble
from mypy_session.commands.callers import Collector as CallersCollector


def output_options(
    args: list[str], formats: tuple[str, ...], command: str
) -> tuple[str, str | None, list[str]]:
    """(--format, --output-file, the rest for mypy)."""
    parser = argparse.ArgumentParser(prog=f"mypy-session {command}", add_help=False)
    parser.add_argument("--format", choices=formats, default=formats[0])
    parser.add_argument("--output-file")
    known, rest = parser.parse_known_args(args)
    return known.format, known.output_file, rest


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"mypy-session {command}",
        description=description,
        epilog="Every other argument (paths, --config-file, mypy flags) goes to mypy.",
    )
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress line per batch of modules (default: on a terminal, not in CI)",
    )
    return parser


def _emit(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(output, "w", encoding="utf-8") as stream:
        stream.write(text)


def _readable(mypy_args: list[str]) -> bool:
    """The config mypy would use can be read (else one line is printed: exit 2)."""
    from mypy_session.cli import unreadable_config

    problem = unreadable_config(mypy_args)
    if problem is not None:
        build.fail(problem)
        return False
    return True


def _blocked(outcome: build.Outcome) -> int:
    for message in outcome.blocking:
        print(message, file=sys.stderr)
    return 2


def audit(args: list[str]) -> int:
    parser = _parser("audit", "The transaction-boundary audit of a project.")
    parser.add_argument("--format", choices=("markdown", "json", "sarif"), default="markdown")
    parser.add_argument("--output-file", help="write the report here instead of stdout")
    known, mypy_args = parser.parse_known_args(args)
    if not _readable(mypy_args):
        return 2
    collector = AuditCollector()
    outcome = build.run(mypy_args, visit=collector, progress=known.progress)
    if outcome.blocking:
        return _blocked(outcome)
    report = assemble(outcome, collector)
    writer = {"markdown": render.markdown, "json": render.as_json, "sarif": render.as_sarif}
    _emit(writer[known.format](report), known.output_file)
    return 1 if report.findings else 0


def callers(args: list[str]) -> int:
    parser = _parser(
        "callers",
        "Every call of a function or method and every write to an attribute, resolved by "
        "type. NAME is a fully qualified name or its tail (Class.method, module.func). "
        "Paths and other mypy arguments follow `--`; without them, the files the config "
        "lists, else the current directory.",
    )
    parser.add_argument("name", nargs="+", metavar="NAME", help="what to look for")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--output-file")
    parser.add_argument("--config-file", help="mypy's config file (as for mypy)")
    ours, mypy_args = (args[: args.index("--")], args[args.index("--") + 1 :]) if "--" in args else (args, [])
    known = parser.parse_args(ours)
    if known.config_file:
        mypy_args = ["--config-file", known.config_file, *mypy_args]
    if not _readable(mypy_args):
        return 2
    if not _has_targets(mypy_args):
        mypy_args.append(".")
    collector = CallersCollector(list(known.name))
    outcome = build.run(mypy_args, visit=collector, progress=known.progress)
    if outcome.blocking:
        return _blocked(outcome)
    sites = sorted(collector.sites, key=lambda s: (s.name, s.path, s.line, s.column))
    if known.format == "json":
        data = [
            {
                "name": s.name,
                "target": s.target,
                "kind": s.kind,
                "path": build.relative(s.path),
                "line": s.line,
                "column": s.column + 1,
                "function": s.function,
                "session_passed": s.session_passed,
            }
            for s in sites
        ]
        _emit(json.dumps(data, indent=2) + "\n", known.output_file)
        return 0
    rows = [("location", "kind", "target", "function", "session passed")]
    rows += [
        (f"{build.relative(s.path)}:{s.line}", s.kind, s.target, s.function, s.session_passed)
        for s in sites
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    missing = [name for name in known.name if not any(s.name == name for s in sites)]
    text = "\n".join(lines) + "\n"
    text += f"{len(sites)} sites" + (f"; none found for {', '.join(missing)}" if missing else "") + "\n"
    _emit(text, known.output_file)
    return 0


def _configured_baseline(mypy_args: list[str]) -> str | None:
    """The `baseline` setting of the config mypy would use for these arguments."""
    from mypy.main import process_options

    from mypy_session.config import ConfigError, load_config

    with open(os.devnull, "w") as devnull:
        try:
            _, options = process_options(list(mypy_args), stdout=devnull, stderr=devnull)
        except SystemExit:
            return None  # the build reports the bad arguments
    try:
        return load_config(options.config_file).baseline
    except ConfigError:
        return None  # the build reports the bad setting


def _has_targets(mypy_args: list[str]) -> bool:
    """Do the arguments, or the config's `files`, name what to check?"""
    from mypy.main import process_options

    with open(os.devnull, "w") as devnull:
        try:
            sources, _ = process_options(list(mypy_args), stdout=devnull, stderr=devnull)
        except SystemExit:
            return False
    return bool(sources)


def baseline(args: list[str]) -> int:
    parser = _parser(
        "baseline",
        "Record today's findings so that the plugin reports only new ones. Run again (or "
        "with --update) to drop the findings that were fixed; new findings are never "
        "added unless --accept-new is given.",
    )
    parser.add_argument("--file", help="the baseline file (default: the `baseline` setting)")
    parser.add_argument("--update", action="store_true", help="drop fixed findings (the default when the file exists)")
    parser.add_argument("--accept-new", action="store_true", help="also add today's new findings, listing each")
    known, mypy_args = parser.parse_known_args(args)
    if not _readable(mypy_args):
        return 2
    configured = _configured_baseline(mypy_args)
    path = known.file or configured
    if path is None:
        return build.fail(
            "no baseline file: set `baseline` in [tool.mypy_session] (or [mypy_session]) "
            "or pass --file"
        )
    root = os.path.dirname(os.path.abspath(path))
    outcome = build.run(mypy_args, use_baseline=False, root=root, progress=known.progress)
    if outcome.blocking:
        return _blocked(outcome)
    today = {
        baseline_file.Entry(
            baseline_file.relative_path(f.path, root), f.function, f.code, f.message, f.fingerprint
        )
        for f in outcome.findings
    }
    out = sys.stdout
    if configured is None or os.path.abspath(configured) != os.path.abspath(path):
        print(
            f"mypy-session: note: the config does not name {path} as `baseline`; "
            "the plugin reads it only when it does",
            file=out,
        )
    exists = os.path.exists(path)
    if not exists:
        baseline_file.write(path, today)
        print(f"mypy-session: wrote {len(today)} findings to {path}", file=out)
        return 0
    before = set(baseline_file.read(path))
    known_marks = {item.fingerprint for item in before}
    today_marks = {item.fingerprint for item in today}
    kept = {item for item in before if item.fingerprint in today_marks}
    fixed = before - kept
    new = sorted(item for item in today if item.fingerprint not in known_marks)
    if known.accept_new:
        kept |= set(new)
    baseline_file.write(path, kept)
    print(
        f"mypy-session: {path}: {len(kept)} findings kept, {len(fixed)} fixed and removed"
        + (f", {len(new)} new added" if known.accept_new else ""),
        file=out,
    )
    for item in new:
        verb = "added" if known.accept_new else "new, not added"
        print(f"  {verb}: {item.path}: {item.function or '<module>'}: [{item.code}] {item.message}", file=out)
    if new and not known.accept_new:
        print(
            "mypy-session: the new findings stay reported; fix them, or accept them "
            "with `mypy-session baseline --accept-new`",
            file=out,
        )
    return 0


def check_sarif(
    mypy_args: list[str], output: str | None, run: Callable[[list[str], TextIO], int]
) -> int:
    """Run `check` with mypy's JSON output and write it as SARIF; mypy's exit status."""
    buffer = io.StringIO()
    status = run([*mypy_args, "--output", "json"], buffer)
    results = []
    for line in buffer.getvalue().splitlines():
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        column = item.get("column", -1)
        message = item.get("message", "")
        if item.get("hint"):
            message = f"{message}\n{item['hint']}"
        results.append(
            sarif.Result(
                code=item.get("code"),
                path=item.get("file", ""),
                line=int(item.get("line", 1) or 1),
                column=column + 1 if isinstance(column, int) and column >= 0 else 0,
                message=message,
                severity=item.get("severity", "error"),
            )
        )
    _emit(json.dumps(sarif.log(results), indent=2) + "\n", output)
    return status
