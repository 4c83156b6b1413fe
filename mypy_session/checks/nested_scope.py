"""`session-nested-scope`: a scope opener called where a session is held."""

from __future__ import annotations

from mypy_session import errorcodes
from mypy_session.report import Report
from mypy_session.facts import CallSite
from mypy_session.checks.not_forwarded import would_report


def check_nested_scope(site: CallSite, report: Report) -> None:
    """Report opening a second session while one is held (the held one is ignored)."""
    if site.held is None or site.in_own_transaction:
        return
    if not site.callee.opener:
        if site.with_context and site.callee.opens is not None and not site.callee.params:
            # `with get_db() as db:`: a function whose body opens a session, used as the
            # context of a `with` (an untyped `@contextmanager` opener, SPEC section 2).
            text = f"{site.callee.display.rsplit('.', 1)[-1]}()"
            message = errorcodes.nested_scope(text, site.held.text)
            report(message, site.context, errorcodes.SESSION_NESTED_SCOPE)
        return
    if would_report(site):
        # An opener that takes a session, called without the held one: reported once, as
        # `session-not-forwarded` (passing the session is the safe fix).
        return
    message = errorcodes.nested_scope(site.opener_text, site.held.text)
    report(message, site.context, errorcodes.SESSION_NESTED_SCOPE)
