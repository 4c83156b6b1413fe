"""`session-callee-opens-scope`: a call, where a session is held, to a function without a
session parameter that opens a scope of its own, directly or through a chain of calls."""

from __future__ import annotations

from mypy_session import errorcodes
from mypy_session.report import Report
from mypy_session.facts import CallSite


def check_callee_opens_scope(site: CallSite, report: Report) -> None:
    """Report the call with the chain that reaches the opener."""
    opens = site.callee.opens
    if opens is None or site.callee.params or site.in_own_transaction or site.with_context:
        # a `with` context: reported as `session-nested-scope`
        return
    held = site.held
    if held is None:
        return
    name = site.callee.display
    chain = " -> ".join((name.rsplit(".", 1)[-1], *opens))
    message = errorcodes.callee_opens_scope(name, chain, held.text)
    report(message, site.context, errorcodes.SESSION_CALLEE_OPENS_SCOPE)
