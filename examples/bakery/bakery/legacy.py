"""Helpers from the 2016 stock-keeping scripts.

The cron jobs and the old admin screens still import these. They predate type hints
and are kept untyped on purpose (see the mypy override in pyproject.toml); new code
calls the services directly. ``session`` / ``db`` follow the same rule as everywhere
else: pass the one you hold, or leave it out to get a transaction of your own.
"""

import datetime
import logging
from decimal import Decimal

from sqlalchemy import select

from bakery.database import session_scope
from bakery.models import Ingredient, Product
from bakery.services import (
    finished_goods_inventory_service,
    inventory_service,
    production_service,
    purchase_service,
)
from bakery.services.audit_service import record_audit_event
from bakery.services.ingredient_service import list_ingredients

log = logging.getLogger(__name__)


def legacy_stock_level(name, session=None):
    """Return the stock of ingredient `name` as a float."""
    return inventory_service.on_hand(name, session=session)


def legacy_receive(name, qty, price, supplier=None, session=None):
    """Book a delivery line; `price` may be a float or a string like "1.25"."""
    if session is None:
        with session_scope() as session:
            return legacy_receive(name, qty, price, supplier, session)
    return purchase_service.record_purchase(
        name, float(qty), Decimal(str(price)), supplier or "unknown", session=session
    )


def legacy_bake(product_name, batches, db=None):
    """Plan and bake `batches` batches; returns a dict for the old admin screen."""
    if db is not None:
        return _legacy_bake(product_name, batches, db)
    with session_scope() as db:
        return _legacy_bake(product_name, batches, db)


def _legacy_bake(product_name, batches, db):
    run_id = production_service.plan_production_run(product_name, batches, session=db)
    summary = production_service.record_production(run_id, session=db)
    return {"run": summary.run_id, "units": summary.units, "cost": str(summary.ingredient_cost)}


def _product_id(session, slug):
    product_id = session.scalars(select(Product.id).where(Product.slug == slug)).first()
    if product_id is None:
        raise KeyError("no such product: %s" % slug)
    return product_id


def legacy_move_to_day_old(product_name, qty, session=None):
    """Move yesterday's unsold units to the "<product>-day-old" product (sold at half price)."""
    if session is None:
        with session_scope() as session:
            return legacy_move_to_day_old(product_name, qty, session)
    fresh = _product_id(session, product_name)
    day_old = _product_id(session, product_name + "-day-old")
    finished_goods_inventory_service.remove_units(fresh, qty, "moved to day-old", session=session)
    # The day-old units are added in a separate session that commits at once: if the
    # caller's transaction rolls back, the fresh units are back on the shelf while the
    # day-old ones exist as well, and the same loaves are counted twice.
    finished_goods_inventory_service.add_units(day_old, qty, "moved from fresh")  # planted: session-not-forwarded
    log.info("moved %d %s to day-old", qty, product_name)
    return qty


def legacy_write_off(name, qty, reason="", session=None):
    """Write off `qty` of ingredient `name` (spillage, burnt batch)."""
    if session is None:
        with session_scope() as session:
            return legacy_write_off(name, qty, reason, session)
    result = inventory_service.consume(name, qty, session)
    log.info("wrote off %s %s (%s), cost %s", qty, name, reason or "no reason given", result.cost)
    return float(result.cost)


def legacy_reset_reorder_levels(factor, session):
    """Scale every reorder level by `factor` (run after the yearly review)."""
    for ingredient in session.scalars(select(Ingredient).where(Ingredient.is_active)):
        ingredient.reorder_level = round(ingredient.reorder_level * factor, 3)
    # Commits whatever the caller had pending too, in the middle of its work: the
    # review script's later steps can no longer be rolled back together with this.
    # `session` is unannotated (Any): mypy runs no hook for a call on Any, and the
    # plugin's end-of-module walk reports it (docs/error_codes/session-borrowed-commit.md).
    session.commit()  # planted: session-borrowed-commit
    log.info("reorder levels scaled by %s", factor)


def nightly_maintenance():
    """Cron entry point: expire old lots, then refresh the shop feed."""
    with session_scope() as session:
        expired = inventory_service.write_off_expired(datetime.date.today(), session=session)
        empty = [info.slug for info in list_ingredients(session=session) if info.on_hand < 0.001]
    finished_goods_inventory_service.publish_storefront_availability()
    record_audit_event("nightly", "%d lots expired, out of: %s" % (expired, ", ".join(empty) or "-"))
    return expired
