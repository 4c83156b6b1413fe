"""`session-not-forwarded`: a session is held, the callee takes one, nothing is passed."""

from __future__ import annotations

from mypy.plugin import CheckerPluginInterface

from mypy_session import errorcodes
from mypy_session.facts import CallSite


def check_forwarded(site: CallSite, api: CheckerPluginInterface) -> None:
    """Report a call that passes nothing for the session parameter while one is held."""
    if site.passed or site.held is None or site.required:
        # A required parameter left out is already mypy's own `call-arg` error.
        return
    api.fail(
        errorcodes.not_forwarded(site.callee.display, site.held.text, site.param),
        site.context,
        code=errorcodes.SESSION_NOT_FORWARDED,
    )
