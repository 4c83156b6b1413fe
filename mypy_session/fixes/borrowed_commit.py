"""Fix of `session-borrowed-commit` (unsafe): a borrowed `commit()` becomes `flush()`,
which sends the pending writes (and so gets generated keys) without ending the caller's
transaction. Unsafe: code that needs the commit itself (to release locks, to make rows
visible to another connection) changes behaviour. `rollback()` and `close()` have no
mechanical fix and are left alone."""

from __future__ import annotations

import re

from mypy_session.fixes import Fix, RenameMethod
from mypy_session.fixes.context import Context
from mypy_session.recorder import Finding

_ENDED = re.compile(r'^"(?:[^"]*)\.(\w+)\(\)" ends a transaction')


def plan(finding: Finding, context: Context) -> Fix | None:
    match = _ENDED.match(finding.message)
    if match is None or match.group(1) != "commit":
        return None
    return Fix(False, [RenameMethod(finding.path, finding.line, finding.column, "commit", "flush")])
