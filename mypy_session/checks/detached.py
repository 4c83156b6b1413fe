"""`session-detached-use` and `session-detached-return`: ORM objects that outlive the
session they were loaded in."""

from __future__ import annotations

from mypy.plugin import CheckerPluginInterface

from mypy_session import errorcodes
from mypy_session.facts import CallSite


def check_detached_use(site: CallSite, api: CheckerPluginInterface) -> None:
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
    api.fail(message, site.context, code=errorcodes.SESSION_DETACHED_USE)


def check_detached_return(site: CallSite, api: CheckerPluginInterface) -> None:
    """Report each `return` of an ORM object out of the scope this opener call opens."""
    for statement in site.detached_returns:
        message = errorcodes.detached_return(site.opener_text)
        api.fail(message, statement, code=errorcodes.SESSION_DETACHED_RETURN)
