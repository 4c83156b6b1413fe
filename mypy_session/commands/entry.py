"""Entry points of the project-wide commands (`mypy-session audit|callers|baseline`). Each parses its own options and hands every other argument to
mypy, so paths, `--config-file` and mypy's flags work as they do for `mypy`."""

from __future__ import annotations

import argparse
import json
import os
import sys

from mypy_session import atomic_write
from mypy_session import baseline as baseline_file
from mypy_session.commands import build, output_formats, render, selection, visibility
from mypy_session.commands.audit import AUDIT_CODES
from mypy_session.commands.audit import Collector as AuditCollector
from mypy_session.commands.audit import assemble
from mypy_session.commands.callers import Collector as CallersCollector
from mypy_session.config import ConfigError


def _parser(command: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"mypy-session {command}",
        allow_abbrev=False,  # `--output` and `--ignore-...` are mypy's
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


def _emit(text: str, output: str | None) -> bool:
    """Write the report to stdout or to `output` (atomically); False, with one line on
    stderr, when the file cannot be written."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return True
    try:
        atomic_write.write_text(output, text)
    except OSError as exc:
        build.fail(f"{output}: cannot write the report: {exc.strerror or exc}")
        return False
    return True


def unwritable_output(output: str | None) -> str | None:
    """Why `--output-file` cannot be written, found before the build; None if it can."""
    if output is None:
        return None
    if os.path.isdir(output):
        return f"{output}: cannot write the report: it is a directory"
    directory = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(directory):
        return f"{output}: cannot write the report: no directory {directory}"
    if not os.access(directory, os.W_OK):
        return f"{output}: cannot write the report: the directory {directory} is read-only"
    return None


def _readable(mypy_args: list[str]) -> bool:
    """The config mypy would use can be read (else one line is printed: exit 2)."""
    from mypy_session.cli import unreadable_config

    problem = unreadable_config(mypy_args)
    if problem is not None:
        build.fail(problem)
        return False
    return True


def _writable(output: str | None) -> bool:
    """`--output-file` can be written (else one line is printed: exit 2)."""
    problem = unwritable_output(output)
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
    parser.add_argument(
        "--output-format",
        "--format",
        dest="format",
        choices=("markdown", *output_formats.FORMATS),
        default="markdown",
        help="markdown (the report), json (the audit as data), or the findings as "
        "concise, full, json-lines, github, gitlab, junit or sarif",
    )
    parser.add_argument("--output-file", help="write the report here instead of stdout")
    selection.add_arguments(parser)
    known, mypy_args = parser.parse_known_args(args)
    try:
        chosen = selection.from_arguments(known, extra_codes=AUDIT_CODES)
    except selection.SelectionError as exc:
        return build.fail(str(exc))
    if not _readable(mypy_args) or not _writable(known.output_file):
        return 2
    collector = AuditCollector()
    outcome = build.run(mypy_args, visit=collector, progress=known.progress)
    if outcome.blocking:
        return _blocked(outcome)
    full_report = assemble(outcome, collector)
    report = full_report.only(chosen.selects) if chosen.active else full_report
    writers = {"markdown": render.markdown, "json": render.as_json, "sarif": render.as_sarif}
    if known.format in writers:
        text = writers[known.format](report)
    else:
        hidden = len(full_report.findings) - len(report.findings)
        summary = output_formats.Summary(hidden=hidden, selection=chosen.describe())
        text = output_formats.render(known.format, render.diagnostics(report), summary)
    if not _emit(text, known.output_file):
        return 2
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
    if not _readable(mypy_args) or not _writable(known.output_file):
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
                "boundary": s.boundary,
            }
            for s in sites
        ]
        return 0 if _emit(json.dumps(data, indent=2) + "\n", known.output_file) else 2
    rows: list[tuple[str, ...]] = [("location", "kind", "target", "function", "session passed")]
    rows += [
        (f"{build.relative(s.path)}:{s.line}", s.kind, s.target, s.function, s.session_passed)
        for s in sites
    ]
    if collector.guarded:  # `guarded` has entries: each site allowed, a violation, or "-"
        rows = [(*row, "boundary" if i == 0 else sites[i - 1].boundary or "-") for i, row in enumerate(rows)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    missing = [name for name in known.name if not any(s.name == name for s in sites)]
    text = "\n".join(lines) + "\n"
    text += f"{len(sites)} sites" + (f"; none found for {', '.join(missing)}" if missing else "") + "\n"
    return 0 if _emit(text, known.output_file) else 2


def _configured_baseline(mypy_args: list[str]) -> str | None:
    """The `baseline` setting of the config mypy would use for these arguments; a bad
    setting raises `ConfigError` (reported before the build)."""
    from mypy.main import process_options

    from mypy_session.config import load_config

    with open(os.devnull, "w") as devnull:
        try:
            _, options = process_options(list(mypy_args), stdout=devnull, stderr=devnull)
        except SystemExit:
            return None  # the build reports the bad arguments
    return load_config(options.config_file).baseline


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
    selection.add_arguments(parser)
    known, mypy_args = parser.parse_known_args(args)
    try:
        chosen = selection.from_arguments(known)
    except selection.SelectionError as exc:
        return build.fail(str(exc))
    if not _readable(mypy_args):
        return 2
    try:
        configured = _configured_baseline(mypy_args)
    except ConfigError as exc:
        return build.fail(str(exc))
    path = known.file or configured
    if path is None:
        return build.fail(
            "no baseline file: set `baseline` in [tool.mypy_session] (or [mypy_session]) "
            "or pass --file"
        )
    problem = _unusable_baseline(path)
    if problem is not None:  # found before the build, not after it
        return build.fail(problem)
    root = os.path.dirname(os.path.abspath(path))
    outcome = build.run(mypy_args, use_baseline=False, root=root, progress=known.progress)
    if outcome.blocking:
        return _blocked(outcome)
    today = {
        baseline_file.Entry(
            baseline_file.relative_path(f.path, root), f.function, f.code, f.message, f.fingerprint, f.context
        )
        for f in outcome.findings
        if chosen.selects(f.code)  # --select / --ignore: the other codes' entries stay as they are
    }
    out = sys.stdout
    if configured is None or os.path.abspath(configured) != os.path.abspath(path):
        print(
            f"mypy-session: note: the config does not name {path} as `baseline`; "
            "the plugin reads it only when it does",
            file=out,
        )
    try:
        # Read again just before writing: another run may have rewritten the file during
        # the build; this run removes only what it saw fixed and adds only what it accepts.
        before = set(baseline_file.read(path))
    except ConfigError as exc:
        return build.fail(str(exc))
    if not os.path.exists(path):
        return _write_baseline(path, today, f"mypy-session: wrote {len(today)} findings to {path}")
    today_marks = {item.fingerprint for item in today}
    known_marks = {item.fingerprint for item in before}
    # An entry seen today is written as seen today (its context follows the code).
    today_by_mark = {item.fingerprint: item for item in today}
    kept = {today_by_mark[item.fingerprint] for item in before if item.fingerprint in today_marks}
    unseen: dict[str, int] = {}
    fixed = set()
    for item in (item for item in before if item.fingerprint not in today_marks):
        reason = outcome.visibility.unseen(os.path.join(root, item.path), item.code)
        if not chosen.selects(item.code):
            kept.add(item)  # a code this run was not asked about
        elif reason is None:
            fixed.add(item)
        else:
            kept.add(item)
            unseen[reason] = unseen.get(reason, 0) + 1
    new = sorted(item for item in today if item.fingerprint not in known_marks)
    if known.accept_new:
        kept |= set(new)
    summary = (
        f"mypy-session: {path}: {len(kept)} findings kept, {len(fixed)} fixed and removed"
        + (f", {len(new)} new added" if known.accept_new else "")
    )
    status = _write_baseline(path, kept, summary)
    if status:
        return status
    if unseen:
        reasons = "; ".join(f"{count} because {reason}" for reason, count in sorted(unseen.items()))
        print(f"mypy-session: kept {sum(unseen.values())} findings this run could not see: {reasons}", file=out)
        if visibility.UNRESOLVED in unseen and outcome.visibility.missing:
            shown = outcome.visibility.missing
            listed = ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8 else "")
            print(f"  modules mypy could not find or skipped: {listed}", file=out)
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


def _unusable_baseline(path: str) -> str | None:
    """Why the baseline file cannot be read or written, in one line; None if it can."""
    try:
        baseline_file.read(path)
    except ConfigError as exc:
        return str(exc)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        return f"{path}: cannot write the baseline: no directory {directory}"
    if not os.access(directory, os.W_OK):
        return f"{path}: cannot write the baseline: the directory {directory} is read-only"
    return None


def _write_baseline(path: str, entries: set[baseline_file.Entry], summary: str) -> int:
    try:
        baseline_file.write(path, entries)
    except OSError as exc:
        return build.fail(f"{path}: cannot write the baseline: {exc.strerror or exc}")
    print(summary)
    return 0
