"""Inventory: reserving stock, used by orders.py."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mypy_session import SingleStep
from shop.db import session_scope
from shop.models import AuditEntry, Product


@SingleStep
def reserve(sku: str, quantity: int, session: Session | None = None) -> Product:
    if session is not None:
        return _reserve(session, sku, quantity)
    with session_scope() as session:
        return _reserve(session, sku, quantity)


def _reserve(session: Session, sku: str, quantity: int) -> Product:
    product = session.scalars(select(Product).where(Product.sku == sku)).one()
    if product.stock < quantity:
        session.rollback()  # session-borrowed-commit: no mechanical fix
        raise ValueError(sku)
    product.stock -= quantity
    return product


def restock(sku: str, quantity: int, session: Session) -> None:
    product = session.scalars(select(Product).where(Product.sku == sku)).one()
    product.stock += quantity
    session.commit()  # session-borrowed-commit: commit() becomes flush()


def write_audit(text: str, session: Session | None = None) -> None:
    with session_scope() as session:  # session-nested-scope: the caller's is ignored
        session.add(AuditEntry(text=text))


def write_audit_raw(text: str, session: Session) -> None:
    other = Session()  # session-nested-scope, not a `with`: left alone
    other.add(AuditEntry(text=text))
    other.commit()
