"""The audit as Markdown (the report a reviewer reads), JSON or SARIF.

Each says per function where its session code was not analysed, with counts in the
summary; such a function is never PASS."""

from __future__ import annotations

import json
import os
from collections import defaultdict
from functools import lru_cache
from typing import Any, Final

from mypy_session import baseline, errorcodes
from mypy_session.commands import output_formats, sarif
from mypy_session.commands.audit import AUDIT_CODES, BORROWED_COMMIT, Audit, Function
from mypy_session.not_analysed import (
    ANY_RECEIVER, FAILED, UNREACHABLE, UNTYPED, NotAnalysed, describe, remedy,
)
from mypy_session.recorder import Finding

_FIXES = {
    "session-not-forwarded": "pass the held session to the call",
    "session-read-not-forwarded": "pass the held session to the read",
    "session-nested-scope": "use the held session instead of opening a new one",
    "session-mismatch": "pass the innermost held session",
    "session-borrowed-commit": "leave commit/rollback/close to the function that opened the session",
    "session-detached-use": "load the object inside the scope that uses it, with that scope's session",
    "session-callee-opens-scope": "give the callee a session parameter and pass the held session",
    "session-detached-return": "return plain values, or load the object in the caller's session",
    "session-missing-param": "add `session: Session | None = None` and use it",
    "service-boundary": "make the change through the service that owns the attribute",
}
_NOT_ANALYSED: Final = errorcodes.SESSION_NOT_ANALYSED.code


def markdown(audit: Audit) -> str:
    out: list[str] = ["# Transaction-boundary audit", ""]
    summary = audit.summary()
    out.append(
        f"{summary['functions_audited']} functions audited in {len(audit.sources)} files: "
        f"{summary['functions_passed']} PASS, {summary['functions_with_issues']} with issues, "
        f"{summary['functions_not_analysed']} not fully analysed; {summary['issues']} issues."
    )
    out.append("")
    convention = convention_note(summary)
    if convention:
        out += [convention, ""]
    by_module: dict[str, list[Function]] = defaultdict(list)
    for function in audit.functions:
        by_module[function.module].append(function)
    out += ["## Functions", ""]
    for module in sorted(by_module):
        functions = by_module[module]
        out += [f"### `{module}` ({_rel(functions[0].path)})", ""]
        out.append("| Function | Session param | Classification | Call | Line | Session passed? | Status |")
        out.append("|---|---|---|---|---|---|---|")
        for function in functions:
            first = [
                f"`{function.name}` (line {function.line})",
                _param_cell(function),
                _class_cell(function),
            ]
            blank = ["", "", ""]
            own = [f for f in function.findings if not _at_call(f, function)]
            if not function.calls:
                out.append(_row(first + ["—", "", "", function.status]))
                continue
            for index, call in enumerate(function.calls):
                lead = first if index == 0 else blank
                passed = call.session_passed if call.session_passed == "yes" else f"**{call.session_passed}**"
                if call.session_passed == "n/a":
                    passed = "n/a (no session parameter)"
                callee = f"`{call.callee}`" + (f" ({call.chain})" if call.chain else "")
                out.append(_row(lead + [callee, str(call.line), passed, call.verdict]))
            if own:
                codes = ", ".join(sorted({f.code for f in own}))
                out.append(_row(blank + ["(function)", str(own[0].line), "", codes]))
            for fact in function.not_analysed:
                out.append(_row(blank + ["(not analysed)", str(fact.context_line), "", fact.text]))
        out.append("")
    out += ["## Issues", ""]
    if not audit.findings:
        out += ["None.", ""]
    for number, finding in enumerate(audit.findings, 1):
        out.append(f"### {number}. `{finding.code}` at {_rel(finding.path)}:{finding.line}")
        out.append("")
        if finding.function:
            out.append(f"In `{finding.function}`:")
            out.append("")
        line = _source_line(finding.path, finding.line)
        if line:
            out += ["```python", line, "```", ""]
        out.append(finding.message + ".")
        out.append("")
        out.append(f"**Fix**: {fix_for(finding)}.")
        out.append("")
    out += _not_analysed_section(audit)
    out += _boundary_section(audit)
    out += ["## Summary", ""]
    out.append("| | count |")
    out.append("|---|---|")
    for key in (
        "functions_audited",
        "functions_passed",
        "functions_with_issues",
        "functions_not_analysed",
        "calls_audited",
        "calls_passing_session",
        "issues",
    ):
        out.append(f"| {key.replace('_', ' ')} | {summary[key]} |")
    by_code = summary["by_code"]
    assert isinstance(by_code, dict)
    for code, count in by_code.items():
        out.append(f"| `{code}` | {count} |")
    out.append(f"| not analysed | {summary['not_analysed']} |")
    by_reason = summary["not_analysed_by_reason"]
    assert isinstance(by_reason, dict)
    for reason, count in by_reason.items():
        out.append(f"| not analysed: {reason} | {count} |")
    out.append("")
    out += ["## Chains that open their own session", ""]
    if not audit.chains:
        out += ["None.", ""]
    else:
        out.append(
            "Functions without a session parameter that reach a scope opener; a caller "
            "holding a session cannot make them part of its transaction:"
        )
        out.append("")
        out += [f"- `{chain}` opens its own session" for chain in audit.chains]
        out.append("")
    return "\n".join(out)


def convention_note(summary: dict[str, object]) -> str:
    """What to do when committing the caller's session is the project's convention."""
    count = summary.get("functions_committing_borrowed")
    if not isinstance(count, int) or not count:
        return ""
    by_code = summary.get("by_code")
    found = by_code.get(BORROWED_COMMIT, 0) if isinstance(by_code, dict) else 0
    functions = "function commits" if count == 1 else "functions commit"
    return (
        f"{count} {functions} (or roll back, or close) a borrowed session (`{BORROWED_COMMIT}`, {found} in all). "
        f"If committing the caller's session is your project's convention, keep the other "
        f'checks and switch this one off: `disable_error_code = ["{BORROWED_COMMIT}"]` in '
        f"`[tool.mypy]` (or per module in `[[tool.mypy.overrides]]`), or "
        f"`--ignore {BORROWED_COMMIT}` on the command line "
        f"(see docs/error_codes/{BORROWED_COMMIT}.md#a-project-wide-convention)."
    )


def _not_analysed_section(audit: Audit) -> list[str]:
    out = ["## Not analysed", ""]
    if not audit.not_analysed:
        return out + ["None: every function's session code was analysed.", ""]
    out.append(
        "Session code that no check looked at: an issue there would not be reported. "
        "A function listed here is not PASS."
    )
    out.append("")
    out.append("| Function | Line | Not analysed | What to do |")
    out.append("|---|---|---|---|")
    for fact in audit.not_analysed:
        where = f"{_rel(fact.path)}:{fact.context_line}"
        out.append(_row([f"`{fact.function}`", where, fact.text, remedy(fact.reason)]))
    out.append("")
    return out


def _boundary_section(audit: Audit) -> list[str]:
    """The `service-boundary` violations, module by module (only where `guarded` found any)."""
    if not audit.boundary:
        return []
    out = ["## Service boundary", ""]
    out.append(
        "Guarded attributes written, and guarded methods called, outside the modules the "
        "`guarded` setting allows:"
    )
    out.append("")
    for module, findings in audit.boundary.items():
        out += [f"### `{module}` ({len(findings)})", ""]
        out.append("| Line | Function | Violation |")
        out.append("|---|---|---|")
        for finding in findings:
            out.append(_row([str(finding.line), f"`{finding.function or '<module>'}`", finding.message]))
        out.append("")
    return out


def _not_analysed_json(fact: NotAnalysed) -> dict[str, Any]:
    return {
        "reason": fact.reason,
        "line": fact.context_line,
        "after": fact.after,
        "text": fact.text,
    }


def as_json(audit: Audit) -> str:
    data: dict[str, Any] = {
        "functions": [
            {
                "module": f.module,
                "name": f.name,
                "fullname": f.fullname,
                "path": _rel(f.path),
                "line": f.line,
                "session_param": f.session_param,
                "session_param_names": f.param_names,
                "classification": f.classification,
                "declared": f.declared,
                "inferred": f.inferred,
                "writes": f.writes,
                "holds_session": f.holds,
                "calls": [
                    {
                        "callee": c.callee,
                        "line": c.line,
                        "column": c.column + 1,
                        "session_passed": c.session_passed,
                        "status": c.verdict,
                        "chain": c.chain,
                    }
                    for c in f.calls
                ],
                "chains": f.chains,
                "not_analysed": [_not_analysed_json(fact) for fact in f.not_analysed],
                "status": f.status,
            }
            for f in audit.functions
        ],
        "findings": [_finding_json(f) for f in audit.findings],
        "not_analysed": [
            {
                "path": _rel(fact.path),
                "function": fact.function,
                "function_line": fact.line,
                **_not_analysed_json(fact),
                "fix": remedy(fact.reason),
            }
            for fact in audit.not_analysed
        ],
        "chains": audit.chains,
        "service_boundary": {
            module: [_finding_json(f) for f in findings] for module, findings in audit.boundary.items()
        },
        "summary": audit.summary(),
    }
    return json.dumps(data, indent=2) + "\n"


def diagnostics(audit: Audit) -> list[output_formats.Diagnostic]:
    """The audit's findings, then notes for what was not analysed, for the formats that
    list findings (concise, full, json-lines, github, gitlab, junit)."""
    found = [
        output_formats.Diagnostic(
            code=f.code,
            path=f.path,
            line=f.line,
            column=f.column + 1 if f.column >= 0 else 0,
            message=f.message,
            fingerprint=f.fingerprint,
        )
        for f in audit.findings
    ]
    notes = [
        output_formats.Diagnostic(
            code=r.code, path=r.path, line=r.line, column=r.column, message=r.message,
            severity="note", fingerprint=r.fingerprint,
        )
        for r in _not_analysed_results(audit)
    ]
    return sorted(found + notes, key=lambda d: (d.path, d.line, d.column))


def as_sarif(audit: Audit) -> str:
    results = [
        sarif.Result(
            code=f.code,
            path=f.path,
            line=f.line,
            column=f.column + 1 if f.column >= 0 else 0,
            message=f.message,
            fingerprint=f.fingerprint,
        )
        for f in audit.findings
    ]
    results += _not_analysed_results(audit)
    return json.dumps(sarif.log(results, extra_rules=dict(AUDIT_CODES)), indent=2) + "\n"


def _not_analysed_results(audit: Audit) -> list[sarif.Result]:
    """Notes for what was not analysed; none where `session-not-analysed` is enabled and
    already reported it as an issue."""
    reported = {(f.path, f.line) for f in audit.findings if f.code == _NOT_ANALYSED}
    results = []
    for fact in audit.not_analysed:
        if (fact.path, fact.context_line) in reported:
            continue
        message = errorcodes.not_analysed(fact.function.rsplit(".", 1)[-1], fact.text)
        path = baseline.relative_path(fact.path, os.getcwd())
        results.append(
            sarif.Result(
                code=_NOT_ANALYSED,
                path=fact.path,
                line=fact.context_line,
                column=fact.context_column + 1,
                message=message,
                severity="note",
                fingerprint=baseline.fingerprint(_NOT_ANALYSED, path, fact.function, message),
            )
        )
    return results


def fix_for(finding: Finding) -> str:
    """The message's own advice (after its last ';'), else the code's general fix."""
    if finding.code == _NOT_ANALYSED:
        return _not_analysed_fix(finding.message)
    head, sep, advice = finding.message.rpartition("; ")
    if sep and advice:
        return advice
    return _FIXES.get(finding.code, "see the code's documentation page")


def _not_analysed_fix(message: str) -> str:
    """The `session-not-analysed` message names its reason; its last part is no advice."""
    for reason in (UNTYPED, FAILED):
        if describe(reason) in message:
            return remedy(reason)
    if "its receiver is typed Any" in message:
        return remedy(ANY_RECEIVER)
    return remedy(UNREACHABLE)


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "code": f.code,
        "path": _rel(f.path),
        "line": f.line,
        "column": f.column + 1,
        "message": f.message,
        "function": f.function,
        "fingerprint": f.fingerprint,
        "fix": fix_for(f),
    }


def _at_call(finding: Finding, function: Function) -> bool:
    return any(c.line == finding.line and c.column == finding.column for c in function.calls)


def _param_cell(function: Function) -> str:
    if function.session_param == "none":
        return "none"
    return f"{function.session_param} (`{', '.join(function.param_names)}`)"


def _class_cell(function: Function) -> str:
    if function.declared is not None:
        return f"{function.declared} (declared)"
    return function.inferred


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def _rel(path: str) -> str:
    try:
        return os.path.relpath(path).replace(os.sep, "/")
    except ValueError:
        return path


@lru_cache(maxsize=64)
def _lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as stream:
            return stream.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return []


def _source_line(path: str, line: int) -> str:
    lines = _lines(path)
    return lines[line - 1].strip() if 0 < line <= len(lines) else ""

