"""Fix of `session-not-forwarded` and `session-read-not-forwarded` (safe): pass the held
session by the callee's own parameter name (`session=sess`, `db=self.session`)."""

from __future__ import annotations

from mypy_session.fixes import Fix, PassSession
from mypy_session.fixes.context import Context
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    record = context.record(finding.path, finding.line, finding.column)
    if record is None or record.param is None or record.held is None:
        return None
    return Fix(True, [PassSession(finding.path, finding.line, finding.column, record.param, record.held)])
