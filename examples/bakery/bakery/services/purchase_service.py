"""Purchasing: recording supplier deliveries, returns and credit notes.

Every purchase line creates exactly one inventory lot, so stock and cost can be traced
back to the invoice they came from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from mypy_session import MultiStep, ReadOnly, SingleStep

from bakery.database import session_scope
from bakery.errors import InvalidOperation, NotFound
from bakery.models import Ingredient, Purchase
from bakery.services import inventory_service
from bakery.services.ingredient_service import (
    create_ingredient,
    describe_ingredient,
    get_ingredient,
    ingredient_exists,
)

logger = logging.getLogger(__name__)

# Deliveries that would take stock above this multiple of the reorder level get a warning.
OVERSTOCK_FACTOR = 6


@dataclass(frozen=True, slots=True)
class DeliveryLine:
    slug: str
    quantity: float
    unit_cost: Decimal
    unit: str = "kg"
    best_before: date | None = None


@dataclass(frozen=True, slots=True)
class Delivery:
    """A supplier delivery as typed in from the delivery note."""

    supplier: str
    invoice_ref: str
    lines: tuple[DeliveryLine, ...]


@dataclass(frozen=True, slots=True)
class CreditNote:
    """A supplier credit note that cancels some purchases of one invoice."""

    supplier: str
    reference: str
    purchase_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class PurchaseLine:
    purchase_id: int
    supplier: str
    quantity: float
    unit_cost: Decimal
    purchased_at: datetime
    voided: bool


@SingleStep
def record_purchase(
    slug: str,
    quantity: float,
    unit_cost: Decimal,
    supplier: str,
    invoice_ref: str | None = None,
    best_before: date | None = None,
    session: Session | None = None,
) -> int:
    """Record one delivered line and put it into stock; returns the purchase id."""
    if session is not None:
        return _record_purchase_impl(session, slug, quantity, unit_cost, supplier, invoice_ref, best_before)
    with session_scope() as session:
        return _record_purchase_impl(session, slug, quantity, unit_cost, supplier, invoice_ref, best_before)


def _record_purchase_impl(
    session: Session,
    slug: str,
    quantity: float,
    unit_cost: Decimal,
    supplier: str,
    invoice_ref: str | None,
    best_before: date | None,
) -> int:
    if quantity <= 0 or unit_cost < 0:
        raise InvalidOperation(f"bad purchase line for {slug}: {quantity:g} at {unit_cost}")
    # The overstock check reads stock in a session of its own: it cannot see the lots
    # this same delivery has already booked (or an ingredient it has just created), so
    # the warning is computed on stale numbers or fails with NotFound.
    info = describe_ingredient(slug)  # planted: session-read-not-forwarded
    if info.reorder_level and info.on_hand + quantity > OVERSTOCK_FACTOR * info.reorder_level:
        logger.warning("overstocking %s: %g %s after this delivery", slug, info.on_hand + quantity, info.unit)

    ingredient = get_ingredient(slug, session=session)
    purchase = Purchase(
        ingredient=ingredient,
        supplier=supplier,
        invoice_ref=invoice_ref,
        quantity=quantity,
        unit_cost=unit_cost,
    )
    session.add(purchase)
    inventory_service.add_lot(
        session, ingredient, quantity, unit_cost, purchase=purchase, best_before=best_before
    )
    session.flush()
    logger.info("purchase %d: %g %s of %s from %s", purchase.id, quantity, ingredient.unit, slug, supplier)
    return purchase.id


@MultiStep
def receive_delivery(
    delivery: Delivery, create_missing: bool = False, session: Session | None = None
) -> list[int]:
    """Book every line of a delivery in one transaction; returns the purchase ids.

    With ``create_missing`` an ingredient the catalogue does not know yet is created
    on the fly (new suppliers often bring new products).
    """
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        forward: dict[str, Any] = {"session": session}
        purchase_ids: list[int] = []
        for line in delivery.lines:
            if create_missing and not ingredient_exists(line.slug, **forward):
                name = line.slug.replace("-", " ").capitalize()
                create_ingredient(line.slug, name, line.unit, **forward)
            purchase_ids.append(
                record_purchase(
                    line.slug,
                    line.quantity,
                    line.unit_cost,
                    delivery.supplier,
                    delivery.invoice_ref,
                    line.best_before,
                    **forward,
                )
            )
        logger.info("delivery %s from %s: %d lines", delivery.invoice_ref, delivery.supplier, len(purchase_ids))
        return purchase_ids


@SingleStep
def void_purchase(purchase_id: int, reason: str, session: Session) -> None:
    """Cancel a purchase whose lot has not been touched yet (wrong entry, credit note)."""
    purchase = session.get(Purchase, purchase_id)
    if purchase is None:
        raise NotFound(f"no purchase {purchase_id}")
    if purchase.voided:
        return
    lot = purchase.lot
    if lot is not None and lot.quantity_remaining < lot.quantity_received:
        raise InvalidOperation(f"purchase {purchase_id} is already partly consumed")
    purchase.voided = True
    if lot is not None:
        session.delete(lot)
    # Commits the caller's transaction half-way: when a later line of the credit note
    # fails, the purchases voided so far stay voided and the credit note is half applied.
    session.commit()  # planted: session-borrowed-commit
    logger.info("voided purchase %d: %s", purchase_id, reason)


@MultiStep
def process_credit_note(credit: CreditNote, session: Session | None = None) -> int:
    """Void every purchase a credit note cancels; returns how many were voided."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        reason = f"credit note {credit.reference} from {credit.supplier}"
        for purchase_id in credit.purchase_ids:
            void_purchase(purchase_id, reason, session)
        return len(credit.purchase_ids)


@SingleStep
def record_supplier_return(
    purchase_id: int, quantity: float, session: Session | None = None
) -> float:
    """Send part of a delivery back (damaged sacks, wrong item); returns what is left."""
    # Opens a new scope whatever the caller passed: the return commits in a second
    # transaction even when the caller's (say, a stocktake) is rolled back, and the
    # caller's session keeps a stale view of the lot.
    with session_scope() as session:  # planted: session-nested-scope
        purchase = session.get(Purchase, purchase_id)
        if purchase is None or purchase.lot is None:
            raise NotFound(f"no stocked purchase {purchase_id}")
        return inventory_service.adjust_lot(purchase.lot.id, -quantity, f"returned to {purchase.supplier}", session=session)


@ReadOnly
def purchase_history(slug: str, session: Session | None = None) -> list[PurchaseLine]:
    """Every purchase of one ingredient, newest first."""
    if session is not None:
        return _purchase_history_impl(session, slug)
    with session_scope() as session:
        return _purchase_history_impl(session, slug)


def _purchase_history_impl(session: Session, slug: str) -> list[PurchaseLine]:
    purchases: Sequence[Purchase] = session.scalars(
        select(Purchase)
        .join(Purchase.ingredient)
        .where(Ingredient.slug == slug)
        .order_by(Purchase.purchased_at.desc())
    ).all()
    return [
        PurchaseLine(p.id, p.supplier, p.quantity, p.unit_cost, p.purchased_at, p.voided)
        for p in purchases
    ]
