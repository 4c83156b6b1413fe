"""Fix of `session-callee-opens-scope` (unsafe): every function of the chain, across
modules, gets an optional session parameter and opens its scope only when none is passed
(`thread_session.thread`); the call passes the held session. Unsafe: signatures change, and
the callee's work joins the caller's transaction (it no longer commits on its own)."""

from __future__ import annotations

from mypy_session.fixes import Fix, PassSession
from mypy_session.fixes.context import Context
from mypy_session.fixes.thread_session import thread
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    record = context.record(finding.path, finding.line, finding.column)
    if record is None or record.opens is None or record.held is None:
        return None
    fix = Fix(False)
    if not thread(record.callee_fullname, context, fix, set()):
        return None
    fix.edits.append(
        PassSession(finding.path, finding.line, finding.column, context.param_name, record.held)
    )
    return fix
