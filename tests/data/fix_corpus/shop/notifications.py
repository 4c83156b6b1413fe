"""Notifications: a chain of functions without a session parameter that ends in a scope
of its own (session-callee-opens-scope from the callers in orders.py)."""

from __future__ import annotations

from sqlalchemy import select

from shop.db import session_scope
from shop.models import Customer

_outbox: list[str] = []


def notify_customer(customer_id: int, text: str) -> None:
    email = _email_of(customer_id)
    _outbox.append(f"{email}: {text}")


def _email_of(customer_id: int) -> str:
    with session_scope() as session:
        found = session.scalars(select(Customer.email).where(Customer.id == customer_id)).first()
        return found or "unknown"
