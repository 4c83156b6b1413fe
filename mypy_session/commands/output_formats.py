"""Findings as text or as the files CI systems read, under ruff's format names
(`--output-format` of `check` and `audit`; SPEC section 7).

- `concise`: one line per finding, in mypy's layout with the column
  (`path:line:col: error: message  [code]`), then a summary line;
- `full`: the same, with mypy's notes for the finding and the source line with a caret;
- `json`: a JSON array of findings; `json-lines`: one JSON object per line;
- `github`: GitHub Actions workflow commands (`::error file=...,line=...::message`), which
  the runner shows as annotations on the pull request's diff;
- `gitlab`: a GitLab Code Quality report (a JSON array), with fingerprints that stay the
  same across runs and line shifts;
- `junit`: JUnit XML, one test case per finding, grouped by file;
- `sarif`: SARIF 2.1.0 (`sarif.py`).

Paths are shown relative to the current directory, with forward slashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Final
from xml.sax.saxutils import escape, quoteattr

from mypy_session.commands import sarif

FORMATS: Final = ("concise", "full", "json", "json-lines", "github", "gitlab", "junit", "sarif")
_DOCS: Final = "docs/error_codes/{}.md"  # in the mypy-session documentation
_MYPY_DOCS: Final = "https://mypy.readthedocs.io/en/stable/_refs.html#code-{}"
_LINE_NUMBER: Final = re.compile(r"\bline \d+")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One finding to show: mypy's or the plugin's."""

    code: str | None
    path: str
    line: int  # 1-based
    column: int  # 1-based, 0 when unknown
    message: str
    severity: str = "error"  # "error" or "note"
    hint: str | None = None  # mypy's notes attached to the error
    end_line: int | None = None
    end_column: int | None = None  # 1-based, exclusive
    fingerprint: str | None = None  # the baseline's, where the finding has one

    @property
    def shown_path(self) -> str:
        return _relative(self.path)


@dataclass(frozen=True, slots=True)
class Summary:
    """What the text formats say at the end."""

    hidden: int = 0  # errors left out by --select / --ignore
    selection: str = ""  # the options, as written


def render(fmt: str, diagnostics: Sequence[Diagnostic], summary: Summary | None = None) -> str:
    """The findings in format `fmt` (one of `FORMATS`)."""
    writer: dict[str, Callable[[Sequence[Diagnostic], Summary], str]] = {
        "concise": _concise,
        "full": _full,
        "text": _text,
        "json": _json,
        "json-lines": _json_lines,
        "github": _github,
        "gitlab": _gitlab,
        "junit": _junit,
        "sarif": _sarif,
    }
    return writer[fmt](diagnostics, summary or Summary())


# -- text ------------------------------------------------------------------------------


def _head(d: Diagnostic) -> str:
    where = f"{d.shown_path}:{d.line}" + (f":{d.column}" if d.column > 0 else "")
    code = f"  [{d.code}]" if d.code and d.severity == "error" else ""
    return f"{where}: {d.severity}: {d.message}{code}"


def _notes(d: Diagnostic) -> list[str]:
    where = f"{d.shown_path}:{d.line}" + (f":{d.column}" if d.column > 0 else "")
    return [f"{where}: note: {line}" for line in (d.hint or "").splitlines() if line]


def _concise(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    return "".join(_head(d) + "\n" for d in diagnostics) + _summary_line(diagnostics, summary)


def _text(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    """mypy's own look: each error with its notes (the default of a filtered `check`)."""
    lines = []
    for d in diagnostics:
        lines += [_head(d), *_notes(d)]
    return "".join(line + "\n" for line in lines) + _summary_line(diagnostics, summary)


def _full(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    out = []
    for d in diagnostics:
        out += [_head(d), *_notes(d)]
        source = _source_line(d.path, d.line)
        if source is not None:
            stripped = source.lstrip()
            indent = len(source) - len(stripped)
            out.append("    " + stripped.rstrip())
            if d.column > indent:
                width = 1
                if d.end_line == d.line and d.end_column is not None and d.end_column > d.column:
                    width = d.end_column - d.column
                width = max(1, min(width, len(source.rstrip()) - d.column + 1))
                out.append("    " + " " * (d.column - 1 - indent) + "^" * width)
        out.append("")
    return "".join(line + "\n" for line in out) + _summary_line(diagnostics, summary)


def _summary_line(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    errors = [d for d in diagnostics if d.severity == "error"]
    files = len({d.path for d in errors})
    hidden = ""
    if summary.selection:
        hidden = f" ({summary.selection}; {summary.hidden} other {_plural(summary.hidden, 'error')} not shown)"
    if not errors:
        return f"Success: no issues found{hidden}\n"
    return f"Found {len(errors)} {_plural(len(errors), 'error')} in {files} {_plural(files, 'file')}{hidden}\n"


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


# -- JSON ------------------------------------------------------------------------------


def _as_dict(d: Diagnostic) -> dict[str, Any]:
    """ruff's field names where they fit (`filename`, `location.row`), plus mypy's."""
    return {
        "code": d.code,
        "severity": d.severity,
        "message": d.message,
        "hint": d.hint,
        "filename": d.shown_path,
        "location": {"row": d.line, "column": d.column},
        "end_location": {"row": d.end_line or d.line, "column": d.end_column or d.column},
        "url": _url(d.code),
    }


def _json(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    marks = fingerprints(diagnostics)
    items = [{**_as_dict(d), "fingerprint": mark} for d, mark in zip(diagnostics, marks)]
    return json.dumps(items, indent=2) + "\n"


def _json_lines(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    marks = fingerprints(diagnostics)
    return "".join(
        json.dumps({**_as_dict(d), "fingerprint": mark}) + "\n" for d, mark in zip(diagnostics, marks)
    )


def _url(code: str | None) -> str | None:
    if code is None:
        return None
    if code.startswith("session-") or code == "service-boundary":
        return _DOCS.format(code)
    return _MYPY_DOCS.format(code)


def fingerprints(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """A stable identity per finding: the baseline's fingerprint where it has one, else a
    hash of its code, file and message (line numbers in it masked), numbered among
    identical findings of the file. Unchanged by edits that only move the line."""
    seen: dict[str, int] = defaultdict(int)
    marks = []
    for d in diagnostics:
        if d.fingerprint is not None:
            marks.append(d.fingerprint)
            continue
        text = "\0".join((d.code or "", d.severity, Path(d.shown_path).as_posix(), _LINE_NUMBER.sub("line N", d.message)))
        base = hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
        marks.append(base if seen[base] == 0 else f"{base}-{seen[base]}")
        seen[base] += 1
    return marks


# -- CI --------------------------------------------------------------------------------


def _github(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    """GitHub Actions workflow commands, one per finding. Properties escape `%`, CR, LF,
    `:` and `,`; the message escapes `%`, CR and LF (the runner's rules)."""
    out = []
    for d in diagnostics:
        command = "error" if d.severity == "error" else "notice"
        props = [f"file={_gh_property(d.shown_path)}", f"line={d.line}"]
        if d.column > 0:
            props.append(f"col={d.column}")
        if d.end_line is not None:
            props.append(f"endLine={d.end_line}")
        if d.column > 0 and d.end_column is not None and d.end_line in (None, d.line):
            props.append(f"endColumn={d.end_column}")
        tool = "mypy-session" if _is_ours(d.code) else "mypy"
        title = f"{tool} ({d.code})" if d.code else tool
        props.append(f"title={_gh_property(title)}")
        message = d.message + (f"\n{d.hint}" if d.hint else "")
        out.append(f"::{command} {','.join(props)}::{_gh_data(message)}")
    return "".join(line + "\n" for line in out)


def _gh_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _gh_property(text: str) -> str:
    return _gh_data(text).replace(":", "%3A").replace(",", "%2C")


_GITLAB_SEVERITY: Final = {"error": "major", "note": "info"}


def _gitlab(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    """GitLab Code Quality: a JSON array of issues, each with `description`,
    `check_name`, `fingerprint`, `severity` and `location.path` / `location.lines.begin`
    (the fields GitLab reads; `tests/data/gitlab-codequality-schema.json`)."""
    marks = fingerprints(diagnostics)
    issues = []
    for d, mark in zip(diagnostics, marks):
        issues.append(
            {
                "type": "issue",
                "check_name": d.code or "mypy",
                "description": d.message,
                "categories": ["Bug Risk"],
                "severity": _GITLAB_SEVERITY.get(d.severity, "major"),
                "fingerprint": mark,
                "location": {
                    "path": Path(d.shown_path).as_posix(),
                    "lines": {"begin": d.line, "end": max(d.end_line or d.line, d.line)},
                },
            }
        )
    return json.dumps(issues, indent=2) + "\n"


def _junit(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    """JUnit XML, as ruff writes it: a test suite per file, a failing test case per
    finding; no findings is one passing case, so the report is never empty."""
    errors = [d for d in diagnostics if d.severity == "error"]
    by_file: dict[str, list[Diagnostic]] = defaultdict(list)
    for d in errors:
        by_file[d.shown_path].append(d)
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="mypy-session" tests="{max(1, len(errors))}" failures="{len(errors)}" errors="0">',
    ]
    if not errors:
        out.append('  <testsuite name="mypy-session" tests="1" disabled="0" errors="0" failures="0">')
        out.append('    <testcase name="No errors found" classname="mypy-session"/>')
        out.append("  </testsuite>")
    for path, items in sorted(by_file.items()):
        out.append(
            f'  <testsuite name={quoteattr(path)} tests="{len(items)}" disabled="0" errors="0" failures="{len(items)}">'
        )
        for d in items:
            name = f"mypy-session.{d.code or 'error'}"
            text = f"line {d.line}, col {d.column}, {d.message}"
            out.append(
                f"    <testcase name={quoteattr(name)} classname={quoteattr(path)} "
                f'line="{d.line}" column="{d.column}">'
            )
            out.append(f"      <failure message={quoteattr(d.message)}>{escape(text)}</failure>")
            out.append("    </testcase>")
        out.append("  </testsuite>")
    out.append("</testsuites>")
    return "\n".join(out) + "\n"


def _sarif(diagnostics: Sequence[Diagnostic], summary: Summary) -> str:
    return json.dumps(sarif.log(sarif_results(diagnostics)), indent=2) + "\n"


def sarif_results(diagnostics: Sequence[Diagnostic]) -> list[sarif.Result]:
    return [
        sarif.Result(
            code=d.code,
            path=d.path,
            line=d.line,
            column=d.column,
            message=d.message + (f"\n{d.hint}" if d.hint else ""),
            severity=d.severity,
            fingerprint=d.fingerprint,
        )
        for d in diagnostics
    ]


# -- helpers ---------------------------------------------------------------------------


def _is_ours(code: str | None) -> bool:
    return code is not None and (code.startswith("session-") or code == "service-boundary")


def _relative(path: str) -> str:
    try:
        rel = os.path.relpath(path) if os.path.isabs(path) else path
    except ValueError:  # another drive (Windows)
        return path
    return rel.replace(os.sep, "/")


@lru_cache(maxsize=64)
def _lines(path: str) -> tuple[str, ...]:
    try:
        with open(path, encoding="utf-8") as stream:
            return tuple(stream.read().splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


def _source_line(path: str, line: int) -> str | None:
    lines = _lines(path)
    return lines[line - 1] if 0 < line <= len(lines) else None
