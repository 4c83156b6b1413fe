"""Audit trail: who changed what, kept even when the change itself is rolled back."""

from __future__ import annotations

import logging
from mypy_session import OwnTransaction

from bakery.database import session_scope
from bakery.models import AuditEvent

logger = logging.getLogger(__name__)


@OwnTransaction
def record_audit_event(event: str, detail: str) -> None:
    """Append an audit row in a transaction of its own.

    Deliberately takes no session: the row must be committed even when the caller's
    transaction is rolled back. Call it after the caller's scope has closed.
    """
    with session_scope() as session:
        session.add(AuditEvent(event=event, detail=detail))
    logger.info("audit %s: %s", event, detail)
