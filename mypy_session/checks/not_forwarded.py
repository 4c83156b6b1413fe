"""`session-not-forwarded` and `session-read-not-forwarded`: a session is held, the callee
takes one, and nothing is passed for it."""

from __future__ import annotations

from mypy_session import errorcodes, fullnames
from mypy_session.report import Report
from mypy_session.facts import NOTHING, CallSite


def check_forwarded(site: CallSite, report: Report) -> None:
    """Report a call that passes nothing for the session parameter while one is held."""
    if not would_report(site):
        return
    held, callee = site.held, site.callee
    assert held is not None and site.param is not None
    if callee.marker == fullnames.READ:
        message = errorcodes.read_not_forwarded(callee.display, held.text, site.param)
        report(message, site.context, errorcodes.SESSION_READ_NOT_FORWARDED)
        return
    message = errorcodes.not_forwarded(callee.display, held.text, site.param)
    report(message, site.context, errorcodes.SESSION_NOT_FORWARDED)


def would_report(site: CallSite) -> bool:
    """Whether `check_forwarded` reports this call (`check_nested_scope` then does not:
    one finding for one mistake, and passing the session is the safe fix)."""
    if site.param is None or site.passed != NOTHING or site.held is None:
        return False
    if site.in_own_transaction:
        # An opener called inside an OwnTransaction function opens its own scope on
        # purpose (`site.in_own_transaction` is only set for openers).
        return False
    # A required parameter left out is already mypy's own `call-arg` error; an
    # OwnTransaction callee runs in its own transaction on purpose.
    return not site.required and site.callee.marker != fullnames.OWN
