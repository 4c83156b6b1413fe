"""Ingredient stock: receiving lots and consuming them first-in, first-out.

The cost of what is consumed is the cost of the lots it is drawn from, oldest first, so
a production run is charged what the flour actually cost when it was bought.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from mypy_session import MultiStep, ReadOnly, SingleStep

from bakery.database import session_scope
from bakery.errors import InsufficientStock, InvalidOperation, NotFound
from bakery.models import Ingredient, InventoryLot, Purchase
from bakery.services.ingredient_service import get_ingredient, load_ingredient, stock_on_hand

logger = logging.getLogger(__name__)

_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class LotDraw:
    """Quantity taken from one lot by a consumption."""

    lot_id: int
    quantity: float
    unit_cost: Decimal


@dataclass(frozen=True, slots=True)
class ConsumptionResult:
    """What a consumption took, from which lots, at what cost."""

    slug: str
    quantity: float
    cost: Decimal
    draws: tuple[LotDraw, ...]


def _cost(quantity: float, unit_cost: Decimal) -> Decimal:
    return (Decimal(str(quantity)) * unit_cost).quantize(Decimal("0.0001"))


def add_lot(
    session: Session,
    ingredient: Ingredient,
    quantity: float,
    unit_cost: Decimal,
    *,
    purchase: Purchase | None = None,
    best_before: date | None = None,
) -> InventoryLot:
    """Put a newly received quantity of ``ingredient`` into stock."""
    if quantity <= 0:
        raise InvalidOperation("a lot must have a positive quantity")
    lot = InventoryLot(
        ingredient=ingredient,
        purchase=purchase,
        quantity_received=quantity,
        quantity_remaining=quantity,
        unit_cost=unit_cost,
        best_before=best_before,
    )
    session.add(lot)
    return lot


def open_lots(session: Session, ingredient_id: int) -> Sequence[InventoryLot]:
    """Lots of one ingredient that still hold stock, oldest first, locked for update."""
    return session.scalars(
        select(InventoryLot)
        .where(InventoryLot.ingredient_id == ingredient_id, InventoryLot.quantity_remaining > 0)
        .order_by(InventoryLot.received_at, InventoryLot.id)
        .with_for_update()
    ).all()


@ReadOnly
def on_hand(slug: str, session: Session | None = None) -> float:
    """Current stock of one ingredient, in its unit."""
    if session is not None:
        return stock_on_hand(session, load_ingredient(session, slug).id)
    with session_scope() as session:
        return stock_on_hand(session, load_ingredient(session, slug).id)


@SingleStep
def consume(slug: str, qty: float, session: Session | None = None) -> ConsumptionResult:
    """Take ``qty`` of an ingredient out of stock, oldest lots first."""
    if session is not None:
        return _consume_impl(slug, qty, session)
    with session_scope() as session:
        return _consume_impl(slug, qty, session)


def _consume_impl(slug: str, qty: float, session: Session) -> ConsumptionResult:
    if qty <= 0:
        raise InvalidOperation(f"cannot consume {qty:g} of {slug}")
    ingredient = get_ingredient(slug, session=session)
    lots = open_lots(session, ingredient.id)
    available = sum(lot.quantity_remaining for lot in lots)
    if available + _EPSILON < qty:
        logger.warning("short of %s: need %g, have %g", slug, qty, available)
        # "Clean up before raising" throws away the caller's whole transaction: the
        # production run row and the ingredients already drawn for it are gone, and a
        # caller that catches InsufficientStock to use a substitute commits half a run.
        session.rollback()  # planted: session-borrowed-commit
        raise InsufficientStock(slug, qty, available)

    draws: list[LotDraw] = []
    outstanding = qty
    for lot in lots:
        if outstanding <= _EPSILON:
            break
        taken = min(lot.quantity_remaining, outstanding)
        lot.quantity_remaining -= taken
        outstanding -= taken
        draws.append(LotDraw(lot.id, taken, lot.unit_cost))
    cost = sum((_cost(d.quantity, d.unit_cost) for d in draws), Decimal("0"))
    logger.debug("consumed %g %s of %s from %d lots", qty, ingredient.unit, slug, len(draws))
    return ConsumptionResult(slug, qty, cost, tuple(draws))


@MultiStep
def consume_many(
    requirements: Mapping[str, float], session: Session | None = None
) -> list[ConsumptionResult]:
    """Consume several ingredients, all or nothing (used by trial bakes and samples)."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        results: list[ConsumptionResult] = []
        for slug, qty in requirements.items():
            # Each consume() below commits in a session of its own: when the third
            # ingredient is short, the first two are already gone from stock and the
            # "all or nothing" promise of this function is broken.
            results.append(consume(slug, qty))  # planted: session-not-forwarded
        return results


@SingleStep
def adjust_lot(lot_id: int, delta: float, reason: str, session: Session | None = None) -> float:
    """Correct the remaining quantity of one lot; returns the new remaining quantity."""
    if session is not None:
        return _adjust_lot_impl(session, lot_id, delta, reason)
    with session_scope() as session:
        return _adjust_lot_impl(session, lot_id, delta, reason)


def _adjust_lot_impl(session: Session, lot_id: int, delta: float, reason: str) -> float:
    lot = session.get(InventoryLot, lot_id, with_for_update=True)
    if lot is None:
        raise NotFound(f"no inventory lot {lot_id}")
    if lot.quantity_remaining + delta < -_EPSILON:
        raise InsufficientStock(f"lot {lot_id}", -delta, lot.quantity_remaining)
    lot.quantity_remaining = max(0.0, lot.quantity_remaining + delta)
    logger.info("lot %d adjusted by %+g (%s)", lot_id, delta, reason)
    return lot.quantity_remaining


@MultiStep
def reconcile_count(slug: str, counted: float, session: Session | None = None) -> float:
    """Bring stock in line with a physical count; returns the correction applied.

    Shrinkage is consumed FIFO like any other use; stock found in excess is booked as a
    new lot at the cost of the most recent one.
    """

    def _reconcile(sess: Session) -> float:
        ingredient = load_ingredient(sess, slug)
        difference = counted - stock_on_hand(sess, ingredient.id)
        if abs(difference) <= _EPSILON:
            return 0.0
        if difference < 0:
            _consume_impl(slug, -difference, sess)
        else:
            last_cost = sess.scalars(
                select(InventoryLot.unit_cost)
                .where(InventoryLot.ingredient_id == ingredient.id)
                .order_by(InventoryLot.received_at.desc())
            ).first()
            add_lot(sess, ingredient, difference, last_cost or Decimal("0"))
        logger.info("stocktake %s: corrected by %+g", slug, difference)
        return difference

    if session is not None:
        return _reconcile(session)
    with session_scope() as session:
        return _reconcile(session)


@MultiStep
def write_off_expired(today: date, session: Session | None = None) -> int:
    """Empty every lot whose best-before date has passed; returns the number of lots."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        expired = session.scalars(
            select(InventoryLot).where(
                InventoryLot.best_before < today, InventoryLot.quantity_remaining > 0
            )
        ).all()
        for lot in expired:
            adjust_lot(lot.id, -lot.quantity_remaining, "expired", session=session)
        return len(expired)


@ReadOnly
def stock_value(session: Session | None = None) -> Decimal:
    """Value of all ingredient stock at FIFO cost."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        lots = session.scalars(select(InventoryLot).where(InventoryLot.quantity_remaining > 0))
        return sum((_cost(lot.quantity_remaining, lot.unit_cost) for lot in lots), Decimal("0"))
