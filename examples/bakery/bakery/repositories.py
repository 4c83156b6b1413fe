"""Per-request facades over the services, bound to the request's session.

The web layer opens one ``session_scope()`` per request and hands its session to the
repositories it needs; every call below joins that one transaction::

    with session_scope() as session:
        stock = StockRepository(session)
        stock.receive("rye-flour", 25, Decimal("0.92"), supplier="Millers & Co")
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bakery.errors import BakeryError
from bakery.models import Ingredient
from bakery.services import (
    assembly_service,
    finished_goods_inventory_service,
    ingredient_service,
    inventory_service,
    production_service,
    purchase_service,
)
from bakery.services.ingredient_service import IngredientInfo
from bakery.services.inventory_service import ConsumptionResult
from bakery.services.production_service import ProductionSummary

logger = logging.getLogger(__name__)


class StockRepository:
    """Ingredients, purchases and stock for one unit of work."""

    session: Session

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, slug: str) -> Ingredient:
        return ingredient_service.get_ingredient(slug, session=self.session)

    def describe(self, slug: str) -> IngredientInfo:
        return ingredient_service.describe_ingredient(slug, self.session)

    def all(self, include_inactive: bool = False) -> list[IngredientInfo]:
        return ingredient_service.list_ingredients(include_inactive, session=self.session)

    def add(self, slug: str, name: str, unit: str, reorder_level: float = 0.0) -> int:
        return ingredient_service.create_ingredient(slug, name, unit, reorder_level, session=self.session)

    def set_reorder_level(self, slug: str, level: float) -> None:
        # Runs in its own session and commits at once: when the request that changed
        # the level fails later on, the new reorder level stays while the rest of the
        # edit is rolled back.
        ingredient_service.set_reorder_level(slug, level)  # planted: session-not-forwarded

    def receive(
        self, slug: str, quantity: float, unit_cost: Decimal, supplier: str, invoice_ref: str | None = None
    ) -> int:
        return purchase_service.record_purchase(
            slug, quantity, unit_cost, supplier, invoice_ref, session=self.session
        )

    def consume(self, slug: str, quantity: float) -> ConsumptionResult:
        return inventory_service.consume(slug, quantity, self.session)

    def on_hand(self, slug: str) -> float:
        return inventory_service.on_hand(slug, session=self.session)

    def stocktake(self, counts: Mapping[str, float]) -> dict[str, float]:
        """Apply a physical count; a bad line is skipped without spoiling the others."""
        corrections: dict[str, float] = {}
        for slug, counted in counts.items():
            try:
                with self.session.begin_nested():
                    corrections[slug] = inventory_service.reconcile_count(slug, counted, session=self.session)
            except BakeryError as exc:
                logger.warning("stocktake line %s skipped: %s", slug, exc)
        return corrections


class ProductionRepository:
    """Production, finished goods and assemblies for one unit of work."""

    session: Session

    def __init__(self, session: Session) -> None:
        self.session = session

    def _forward(self) -> dict[str, Any]:
        # Options every service call of this repository takes.
        return {"session": self.session}

    def plan(self, product_slug: str, batches: int, notes: str = "") -> int:
        return production_service.plan_production_run(product_slug, batches, notes, **self._forward())

    def bake(self, run_id: int) -> ProductionSummary:
        return production_service.record_production(run_id, **self._forward())

    def scrap(self, run_id: int, reason: str) -> None:
        production_service.scrap_run(run_id, reason, session=self.session)

    def shelf(self, product_id: int) -> int:
        return finished_goods_inventory_service.available_units(product_id, session=self.session)

    def sell(self, product_id: int, quantity: int, order_ref: str) -> int:
        return finished_goods_inventory_service.remove_units(
            product_id, quantity, f"order {order_ref}", session=self.session
        )

    def assemble(self, slug: str, quantity: int) -> assembly_service.AssemblyResult:
        return assembly_service.assemble(slug, quantity, **self._forward())

    def stock_for(self) -> StockRepository:
        """A stock repository sharing this repository's transaction."""
        return StockRepository(self.session)
