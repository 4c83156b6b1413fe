"""`session-detached-use` and `session-detached-return`: ORM objects that outlive the
session they were loaded in."""

from __future__ import annotations

from mypy_session import errorcodes
from mypy_session.escaping_objects import remember
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
    """A scope this opener call opens, where the function held no session: what leaves it
    is known once mypy has checked the module (`escaping_objects.check_module` reports
    it at the return, yield or store)."""
    scope = site.closed_scope
    if scope is not None:
        remember(scope)
