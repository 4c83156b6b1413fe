"""`session-mismatch`: the session parameter gets something other than the held session."""

from __future__ import annotations

from mypy_session import errorcodes, fullnames
from mypy_session.report import Report
from mypy_session.facts import FRESH, LITERAL_NONE, OTHER, CallSite

_DESCRIBE = {
    LITERAL_NONE: "None",
    FRESH: 'a newly opened session "{text}"',
    OTHER: '"{text}"',
}


def check_mismatch(site: CallSite, report: Report) -> None:
    """Report the outer maybe-None parameter inside a scope or an `_impl`, a literal None,
    or a freshly opened session passed where a session is held."""
    if site.param is None or site.passed not in _DESCRIBE:
        return
    if site.callee.marker == fullnames.OWN:
        return  # an OwnTransaction callee may be handed None on purpose
    held = site.held
    if held is None:
        return
    passed = _DESCRIBE[site.passed].format(text=site.passed_text)
    message = errorcodes.mismatch(site.callee.display, passed, held.text, site.param)
    report(message, site.context, errorcodes.SESSION_MISMATCH)
