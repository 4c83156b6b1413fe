"""Customers: pattern A and pattern B services, one with its session named `db`."""

from __future__ import annotations

from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from mypy_session import ReadOnly, SingleStep
from shop.db import session_scope
from shop.models import Customer


@ReadOnly
def get_customer(customer_id: int, session: Session | None = None) -> Customer:
    if session is not None:
        return _load(session, customer_id)
    with session_scope() as session:
        return _load(session, customer_id)


def _load(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None:
        raise LookupError(customer_id)
    return customer


@SingleStep
def add_loyalty_points(customer_id: int, points: int, db: Session | None = None) -> int:
    cm = nullcontext(db) if db is not None else session_scope()
    with cm as db:
        customer = _load(db, customer_id)
        customer.loyalty_points += points
        return customer.loyalty_points


@ReadOnly
def count_blocked() -> int:  # no session parameter: session-missing-param
    with session_scope() as session:
        return len(list(session.scalars(select(Customer.id).where(Customer.blocked))))


def block_customer(customer_id: int, reason: str) -> None:
    """Admin action: the customer is loaded in a session of its own, then changed in a
    later scope (session-detached-use)."""
    customer = get_customer(customer_id)
    if customer.blocked:
        return
    with session_scope() as session:
        customer.blocked = True
        session.add(customer)
