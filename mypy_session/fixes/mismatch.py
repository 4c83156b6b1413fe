"""Fix of `session-mismatch` (safe): the argument passed for the session parameter is
replaced by the held session."""

from __future__ import annotations

from mypy_session.fixes import Fix, PassSession
from mypy_session.fixes.context import Context
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    record = context.record(finding.path, finding.line, finding.column)
    if record is None or record.param is None or record.held is None or not record.passed_text:
        return None
    edit = PassSession(
        finding.path, finding.line, finding.column, record.param, record.held, replace=record.passed_text
    )
    return Fix(True, [edit])
