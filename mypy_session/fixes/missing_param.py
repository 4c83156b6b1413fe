"""Fix of `session-missing-param` (unsafe): the marked function gets
`session: Session | None = None` and its body routes through pattern B
(`thread_session.thread`). Unsafe: the signature changes (a subclass overriding it, a caller
passing arguments by position through `*args`, code reading the signature)."""

from __future__ import annotations

from mypy_session.fixes import Fix
from mypy_session.fixes.context import Context
from mypy_session.fixes.thread_session import thread
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    fix = Fix(False)
    if not finding.function or not thread(finding.function, context, fix, set()):
        return None
    return fix
