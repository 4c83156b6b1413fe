"""Production: planning runs, baking them, scrapping and reworking them.

Completing a run consumes its recipe's ingredients (FIFO, which fixes the run's
ingredient cost) and puts the finished units on the shelf, in one transaction.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from mypy_session import MultiStep, SingleStep

from bakery.database import session_scope
from bakery.errors import InvalidOperation, NotFound
from bakery.models import Product, ProductionRun, RunStatus, utcnow
from bakery.services.finished_goods_inventory_service import (
    add_units,
    get_finished_unit,
    remove_units,
)
from bakery.services.ingredient_service import low_stock_report
from bakery.services.inventory_service import consume

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ProductionSummary:
    run_id: int
    product_slug: str
    units: int
    ingredient_cost: Decimal

    @property
    def unit_cost(self) -> Decimal:
        return (self.ingredient_cost / self.units).quantize(Decimal("0.0001")) if self.units else Decimal("0")


def load_product(session: Session, slug: str) -> Product:
    product = session.scalars(select(Product).where(Product.slug == slug)).one_or_none()
    if product is None:
        raise NotFound(f"unknown product {slug!r}")
    return product


def load_run(session: Session, run_id: int) -> ProductionRun:
    run = session.get(ProductionRun, run_id, with_for_update=True)
    if run is None:
        raise NotFound(f"no production run {run_id}")
    return run


@SingleStep
def plan_production_run(
    product_slug: str, batches: int, notes: str = "", session: Session | None = None
) -> int:
    """Schedule ``batches`` batches of a product; returns the run id."""
    if session is not None:
        return _plan_impl(session, product_slug, batches, notes)
    with session_scope() as session:
        return _plan_impl(session, product_slug, batches, notes)


def _plan_impl(session: Session, product_slug: str, batches: int, notes: str) -> int:
    if batches <= 0:
        raise InvalidOperation("a run needs at least one batch")
    product = load_product(session, product_slug)
    if product.recipe is None:
        raise InvalidOperation(f"{product_slug} has no recipe")
    run = ProductionRun(product=product, batches=batches, notes=notes)
    session.add(run)
    session.flush()
    logger.info("planned run %d: %d x %s", run.id, batches, product_slug)
    return run.id


@MultiStep
def record_production(run_id: int, session: Session | None = None) -> ProductionSummary:
    """Bake a planned run: consume its ingredients and shelve its units."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        run = load_run(session, run_id)
        if run.status is not RunStatus.PLANNED:
            raise InvalidOperation(f"run {run_id} is {run.status.value}")
        recipe = run.product.recipe
        if recipe is None:
            raise InvalidOperation(f"{run.product.slug} lost its recipe")

        cost = Decimal("0")
        for slug, quantity in recipe.requirements(run.batches).items():
            cost += consume(slug, quantity, session=session).cost
        units = recipe.yield_quantity * run.batches
        add_units(run.product_id, units, f"production run {run.id}", session=session)

        run.status = RunStatus.COMPLETED
        run.units_produced = units
        run.ingredient_cost = cost
        run.completed_at = utcnow()
        logger.info("run %d done: %d x %s for %s", run.id, units, run.product.slug, cost)
        return ProductionSummary(run.id, run.product.slug, units, cost)


@MultiStep
def produce(
    product_slug: str, batches: int, notes: str = "", session: Session | None = None
) -> ProductionSummary:
    """Plan and bake a run in one go (the "bake now" button)."""
    if session is not None:
        return _produce_impl(session, product_slug, batches, notes)
    with session_scope() as session:
        return _produce_impl(session, product_slug, batches, notes)


def _produce_impl(session: Session, product_slug: str, batches: int, notes: str) -> ProductionSummary:
    run_id = plan_production_run(product_slug, batches, notes, session)
    summary = record_production(run_id, session=session)
    # low_stock_report() opens a session of its own: it cannot see the ingredients
    # this run has just consumed (not committed yet), so reorder warnings lag one run
    # behind, and on SQLite it waits for the write lock this transaction holds.
    for info in low_stock_report():  # planted: session-callee-opens-scope
        logger.warning("low stock after run %d: %s (%g %s)", run_id, info.slug, info.on_hand, info.unit)
    return summary


@MultiStep
def scrap_run(run_id: int, reason: str, session: Session | None = None) -> None:
    """Write off a run (burnt, dropped, failed QA); shelved units come off the shelf."""

    def _scrap(sess: Session) -> None:
        run = load_run(sess, run_id)
        if run.status is RunStatus.SCRAPPED:
            return
        if run.status is RunStatus.COMPLETED and run.units_produced:
            # Passes the outer `session`, which is None when scrap_run opened its own
            # scope: the units are then removed in a separate transaction that commits
            # even if marking the run scrapped fails, and the shelf count is off.
            remove_units(run.product_id, run.units_produced, f"scrapped run {run.id}: {reason}", session=session)  # planted: session-mismatch
        run.status = RunStatus.SCRAPPED
        run.notes = f"{run.notes}\nscrapped: {reason}".strip()
        logger.info("scrapped run %d (%s)", run.id, reason)

    if session is not None:
        _scrap(session)
        return
    with session_scope() as owned:
        _scrap(owned)


@SingleStep
def record_rework(run_id: int, units_recovered: int, session: Session | None = None) -> None:
    """Units of a completed run that were set aside and passed QA after rework."""
    if session is not None:
        _record_rework_impl(session, run_id, units_recovered)
        return
    with session_scope() as session:
        _record_rework_impl(session, run_id, units_recovered)


def _record_rework_impl(session: Session, run_id: int, units_recovered: int) -> None:
    run = load_run(session, run_id)
    if run.status is not RunStatus.COMPLETED:
        raise InvalidOperation(f"run {run_id} is not completed")
    unit = get_finished_unit(session, run.product_id)
    # Bumps the shelf count directly instead of calling add_units(): no movement row is
    # written, so the ledger and the count disagree at the next stocktake.
    unit.inventory_count += units_recovered  # planted: service-boundary
    run.units_produced += units_recovered
    logger.info("run %d: %d units recovered by rework", run_id, units_recovered)


# A batch job that promises all-or-nothing, but takes no session: a caller cannot run
# it inside its own transaction, and each run below commits on its own.
@MultiStep
def complete_planned_runs() -> list[ProductionSummary]:  # planted: session-missing-param
    """Bake every run still planned, oldest first (the 5 a.m. job)."""
    with session_scope() as session:
        run_ids = list(
            session.scalars(
                select(ProductionRun.id)
                .where(ProductionRun.status == RunStatus.PLANNED)
                .order_by(ProductionRun.planned_at)
            )
        )
    return [record_production(run_id) for run_id in run_ids]
