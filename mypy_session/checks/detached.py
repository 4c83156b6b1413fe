"""`session-detached-use` and `session-detached-return`: ORM objects that outlive the
session they were loaded in."""

from __future__ import annotations

from mypy_session import errorcodes
from mypy_session.report import Report
from mypy_session.facts import CallSite


def check_detached_use(site: CallSite, report: Report) -> None:
    """Report, at the loading call, an ORM result used in a later scope of the function."""
    if site.detached_name is None or site.detached_scope_line is None or site.param is None:
        return
    message = errorcodes.detached_use(
        site.detached_name,
        site.callee.display,
        site.detached_scope_line,
        site.detached_scope_held or "session",
        site.param,
    )
    report(message, site.context, errorcodes.SESSION_DETACHED_USE)


def check_detached_return(site: CallSite, report: Report) -> None:
    """Report each `return` of an ORM object out of the scope this opener call opens."""
    for statement in site.detached_returns:
        message = errorcodes.detached_return(site.opener_text)
        report(message, statement, errorcodes.SESSION_DETACHED_RETURN)
