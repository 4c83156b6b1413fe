"""Fix of `session-detached-use` (unsafe): the loading statement moves into the later
scope, with the statements between (the scope starts earlier), and the load passes that
scope's session. Unsafe: the statements between now run inside the transaction. Left
alone where the load is not a plain `name = call(...)` in the same block as the scope,
where the statements between call session code, open scopes or define functions, or
where the scope's `with` needs a name they assign."""

from __future__ import annotations

from mypy_session.fixes import Fix, MoveIntoScope, PassSession
from mypy_session.fixes.context import Context
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    record = context.record(finding.path, finding.line, finding.column)
    if (
        record is None
        or record.param is None
        or record.detached_scope_line is None
        or record.detached_scope_held is None
    ):
        return None
    scope = record.detached_scope_line
    between = [
        other
        for other in context.calls_in.get(record.function, [])
        if other.path == record.path and finding.line < other.line < scope
    ]
    if between:
        return None  # session code between the load and the scope would join it
    held = record.detached_scope_held
    return Fix(
        False,
        [
            MoveIntoScope(finding.path, finding.line, finding.column, scope, record.param, held),
            PassSession(finding.path, finding.line, finding.column, record.param, held),
        ],
    )
