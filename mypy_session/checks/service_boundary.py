"""`service-boundary`: a guarded attribute written, or a guarded method called, outside
the modules the `guarded` setting allows (the facts: `boundary.py`)."""

from __future__ import annotations

from mypy_session import errorcodes
from mypy_session.boundary import BoundarySite
from mypy_session.report import Report


def check_service_boundary(site: BoundarySite, report: Report) -> None:
    if site.allowed:
        return
    guard = site.guard
    message = errorcodes.service_boundary(site.action, guard.display, guard.shown_allowed(), guard.use)
    report(message, site.context, errorcodes.SERVICE_BOUNDARY)
