"""Async read side for the dashboard API, and the end-of-day close.

Runs on the async engine (``async_session_scope``); the sync services are not called
from here, the queries are written against the models directly.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from mypy_session import ReadOnly, SingleStep

from bakery.database import async_session_scope
from bakery.errors import InvalidOperation
from bakery.models import DayClosing, Ingredient, InventoryLot, ProductionRun, RunStatus, StockSnapshot

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ValuationLine:
    slug: str
    quantity: float
    value: Decimal


@dataclass(frozen=True, slots=True)
class ProductionTotals:
    day: date
    runs: int
    units: int
    ingredient_cost: Decimal


@dataclass(frozen=True, slots=True)
class DailyReport:
    day: date
    production: ProductionTotals
    valuation: list[ValuationLine]
    low_stock: list[str]

    @property
    def stock_value(self) -> Decimal:
        return sum((line.value for line in self.valuation), Decimal("0"))


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


@ReadOnly
async def stock_valuation(session: AsyncSession | None = None) -> list[ValuationLine]:
    """Quantity and FIFO value of every ingredient in stock."""
    if session is not None:
        return await _stock_valuation_impl(session)
    async with async_session_scope() as session:
        return await _stock_valuation_impl(session)


async def _stock_valuation_impl(session: AsyncSession) -> list[ValuationLine]:
    rows = await session.execute(
        select(
            Ingredient.slug,
            func.sum(InventoryLot.quantity_remaining),
            func.sum(InventoryLot.quantity_remaining * InventoryLot.unit_cost),
        )
        .join(InventoryLot.ingredient)
        .where(InventoryLot.quantity_remaining > 0)
        .group_by(Ingredient.slug)
        .order_by(Ingredient.slug)
    )
    return [
        ValuationLine(slug, float(quantity or 0), Decimal(value or 0).quantize(Decimal("0.01")))
        for slug, quantity, value in rows
    ]


@ReadOnly
async def production_totals(day: date, session: AsyncSession | None = None) -> ProductionTotals:
    """Runs completed on ``day`` (UTC), with their units and ingredient cost."""
    cm = nullcontext(session) if session is not None else async_session_scope()
    async with cm as session:
        start, end = _day_bounds(day)
        row = (
            await session.execute(
                select(
                    func.count(ProductionRun.id),
                    func.coalesce(func.sum(ProductionRun.units_produced), 0),
                    func.coalesce(func.sum(ProductionRun.ingredient_cost), 0),
                ).where(
                    ProductionRun.status == RunStatus.COMPLETED,
                    ProductionRun.completed_at >= start,
                    ProductionRun.completed_at < end,
                )
            )
        ).one()
        runs, units, cost = row
        return ProductionTotals(day, int(runs), int(units), Decimal(cost))


@ReadOnly
async def low_stock_slugs(session: AsyncSession | None = None) -> list[str]:
    """Active ingredients below their reorder level."""
    if session is not None:
        return await _low_stock_impl(session)
    async with async_session_scope() as session:
        return await _low_stock_impl(session)


async def _low_stock_impl(session: AsyncSession) -> list[str]:
    on_hand = func.coalesce(func.sum(InventoryLot.quantity_remaining), 0.0)
    result = await session.execute(
        select(Ingredient.slug)
        .outerjoin(InventoryLot, InventoryLot.ingredient_id == Ingredient.id)
        .where(Ingredient.is_active)
        .group_by(Ingredient.id, Ingredient.slug, Ingredient.reorder_level)
        .having(on_hand < Ingredient.reorder_level)
        .order_by(Ingredient.slug)
    )
    return list(result.scalars())


@ReadOnly
async def daily_report(day: date, session: AsyncSession | None = None) -> DailyReport:
    """Everything the dashboard shows for one day, read in one transaction."""
    cm = nullcontext(session) if session is not None else async_session_scope()
    async with cm as session:
        forward: dict[str, Any] = {"session": session}
        production = await production_totals(day, session)
        valuation = await stock_valuation(session=session)
        low_stock = await low_stock_slugs(**forward)
        return DailyReport(day, production, valuation, low_stock)


@SingleStep
async def snapshot_stock(day: date, session: AsyncSession | None = None) -> int:
    """Freeze the stock valuation of ``day`` into ``stock_snapshot`` rows."""
    if session is not None:
        return await _snapshot_impl(session, day)
    async with async_session_scope() as session:
        return await _snapshot_impl(session, day)


async def _snapshot_impl(session: AsyncSession, day: date) -> int:
    valuation = await _stock_valuation_impl(session)
    async with session.begin_nested():
        await session.execute(delete(StockSnapshot).where(StockSnapshot.day == day))
        session.add_all(
            StockSnapshot(day=day, ingredient_slug=line.slug, quantity=line.quantity, value=line.value)
            for line in valuation
        )
    logger.info("stock snapshot for %s: %d ingredients", day, len(valuation))
    return len(valuation)


async def close_day(day: date) -> DailyReport:
    """Close a business day: report, stock snapshot and the closing row (23:59 job)."""
    async with async_session_scope() as session:
        if await session.get(DayClosing, day) is not None:
            raise InvalidOperation(f"{day} is already closed")
        report = await daily_report(day, session=session)
        # The snapshot is taken and committed in a session of its own: it is not the
        # same point-in-time view as the report read above, and it stays committed
        # when writing the closing row fails and the day remains open.
        await snapshot_stock(day)  # planted: session-not-forwarded
        session.add(
            DayClosing(day=day, units_produced=report.production.units, stock_value=report.stock_value)
        )
        logger.info("closed %s: %d units, stock %s", day, report.production.units, report.stock_value)
        return report


@SingleStep
async def purge_snapshots(before: date, session: AsyncSession | None = None) -> int:
    """Delete stock snapshots older than ``before``; returns how many were removed."""
    # Ignores the caller's session and opens a new scope: the purge commits on its own
    # even when the retention job that called it rolls back, and the caller still
    # sees the rows it believes were deleted.
    async with async_session_scope() as session:  # planted: session-nested-scope
        stale = list(await session.scalars(select(StockSnapshot.id).where(StockSnapshot.day < before)))
        if stale:
            await session.execute(delete(StockSnapshot).where(StockSnapshot.id.in_(stale)))
        return len(stale)
