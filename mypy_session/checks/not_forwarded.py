"""`session-not-forwarded` and `session-read-not-forwarded`: a session is held, the callee
takes one, and nothing is passed for it."""

from __future__ import annotations

from mypy_session import errorcodes, fullnames
from mypy_session.report import Report
from mypy_session.facts import NOTHING, CallSite


def check_forwarded(site: CallSite, report: Report) -> None:
    """Report a call that passes nothing for the session parameter while one is held."""
    if site.param is None or site.passed != NOTHING:
        return
    held, callee = site.held, site.callee
    if held is None:
        return
    if site.required or callee.marker == fullnames.OWN:
        # A required parameter left out is already mypy's own `call-arg` error; an
        # OwnTransaction callee runs in its own transaction on purpose.
        return
    if callee.marker == fullnames.READ:
        message = errorcodes.read_not_forwarded(callee.display, held.text, site.param)
        report(message, site.context, errorcodes.SESSION_READ_NOT_FORWARDED)
        return
    message = errorcodes.not_forwarded(callee.display, held.text, site.param)
    report(message, site.context, errorcodes.SESSION_NOT_FORWARDED)
