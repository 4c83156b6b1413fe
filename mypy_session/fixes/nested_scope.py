"""Fix of `session-nested-scope` (unsafe): the `with` uses the held session instead of
opening a second one. Where the held session is an optional parameter the opener stays
for the `None` case (pattern B); where it is the `with` target itself the `with` is
unwrapped. Unsafe: the work no longer commits on its own when the block ends; a caller
that relied on that (an audit row that must survive a rollback) should be marked
`OwnTransaction` instead. An opener that is not a `with` item is left alone."""

from __future__ import annotations

from mypy_session import held as held_kinds
from mypy_session.fixes import Fix, Import, ReuseHeld
from mypy_session.fixes.context import Context
from mypy_session.recorder import Finding


def plan(finding: Finding, context: Context) -> Fix | None:
    record = context.record(finding.path, finding.line, finding.column, opener=True)
    if record is None or record.held is None:
        return None
    optional = record.held_optional and record.held_kind == held_kinds.PARAMETER
    return Fix(
        False,
        [
            ReuseHeld(finding.path, finding.line, finding.column, record.held, optional),
            Import(finding.path, "contextlib", "nullcontext"),
        ],
    )
