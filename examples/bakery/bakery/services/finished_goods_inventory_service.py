"""Finished goods on the shelf: the only owner of ``FinishedUnit.inventory_count``.

Every change of a count goes through :func:`_move`, which also writes a
``FinishedGoodsMovement`` ledger row; the stocktake compares the two. Other services
call :func:`add_units` / :func:`remove_units` with their session instead of touching the
count (the type checker enforces this, see ``[tool.mypy_session.guarded]``).
"""

from __future__ import annotations

import logging
from contextlib import nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session
from mypy_session import ReadOnly, SingleStep

from bakery.database import session_scope
from bakery.errors import InvalidOperation, NotFound
from bakery.models import FinishedGoodsMovement, FinishedUnit, Product

logger = logging.getLogger(__name__)

# Availability last pushed to the storefront, product slug -> units.
_storefront_feed: dict[str, int] = {}


def get_finished_unit(session: Session, product_id: int) -> FinishedUnit:
    """The shelf row of a product, created empty on first use."""
    unit = session.scalars(
        select(FinishedUnit).where(FinishedUnit.product_id == product_id).with_for_update()
    ).one_or_none()
    if unit is not None:
        return unit
    product = session.get(Product, product_id)
    if product is None:
        raise NotFound(f"no product {product_id}")
    unit = FinishedUnit(product=product)
    session.add(unit)
    session.flush()
    return unit


def _move(session: Session, product_id: int, delta: int, reason: str) -> int:
    unit = get_finished_unit(session, product_id)
    unit.update_inventory(delta)
    session.add(FinishedGoodsMovement(finished_unit=unit, delta=delta, reason=reason))
    logger.info("finished goods %s: %+d (%s) -> %d", unit.product.slug, delta, reason, unit.inventory_count)
    return unit.inventory_count


@SingleStep
def add_units(product_id: int, quantity: int, reason: str, session: Session | None = None) -> int:
    """Put ``quantity`` finished units on the shelf; returns the new count."""
    if quantity <= 0:
        raise InvalidOperation("quantity must be positive")
    if session is not None:
        return _move(session, product_id, quantity, reason)
    with session_scope() as session:
        return _move(session, product_id, quantity, reason)


@SingleStep
def remove_units(
    product_id: int, quantity: int, reason: str, session: Session | None = None
) -> int:
    """Take ``quantity`` finished units off the shelf (sold, bundled, scrapped)."""
    if quantity <= 0:
        raise InvalidOperation("quantity must be positive")
    if session is not None:
        return _move(session, product_id, -quantity, reason)
    with session_scope() as session:
        return _move(session, product_id, -quantity, reason)


@SingleStep
def adjust_inventory(product_id: int, delta: int, reason: str, session: Session | None = None) -> int:
    """Add ``delta`` units (negative to remove) with a ledger row; returns the new count.
    The one service to call instead of writing ``FinishedUnit.inventory_count``."""
    if not delta:
        raise InvalidOperation("delta must not be zero")
    if session is not None:
        return _move(session, product_id, delta, reason)
    with session_scope() as session:
        return _move(session, product_id, delta, reason)


@SingleStep
def record_stocktake(product_id: int, counted: int, session: Session | None = None) -> int:
    """Set the count to what is physically on the shelf; returns the correction."""
    if counted < 0:
        raise InvalidOperation("a count cannot be negative")

    def _count(sess: Session) -> int:
        unit = get_finished_unit(sess, product_id)
        correction = counted - unit.inventory_count
        if correction:
            unit.inventory_count = counted
            sess.add(FinishedGoodsMovement(finished_unit=unit, delta=correction, reason="stocktake"))
            logger.info("stocktake of product %d corrected by %+d", product_id, correction)
        return correction

    if session is not None:
        return _count(session)
    with session_scope() as session:
        return _count(session)


@ReadOnly
def available_units(product_id: int, session: Session | None = None) -> int:
    """Units of a product on the shelf (0 for a product never produced)."""
    if session is not None:
        return _available(session, product_id)
    with session_scope() as session:
        return _available(session, product_id)


def _available(session: Session, product_id: int) -> int:
    count = session.scalar(
        select(FinishedUnit.inventory_count).where(FinishedUnit.product_id == product_id)
    )
    return count or 0


@ReadOnly
def availability_snapshot(session: Session | None = None) -> dict[str, int]:
    """Product slug -> units on the shelf, for every product that has a shelf row."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        rows = session.execute(
            select(Product.slug, FinishedUnit.inventory_count).join(FinishedUnit.product)
        ).all()
        return {slug: count for slug, count in rows}


def publish_storefront_availability() -> None:
    """Push current availability to the web shop's feed (called after stock changes)."""
    feed = _build_storefront_feed()
    _storefront_feed.clear()
    _storefront_feed.update(feed)
    logger.info("published availability of %d products", len(feed))


def _build_storefront_feed() -> dict[str, int]:
    with session_scope() as session:
        return availability_snapshot(session=session)
