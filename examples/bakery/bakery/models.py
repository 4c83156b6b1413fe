"""ORM models of the bakery (SQLAlchemy 2.x declarative, fully typed).

Stock of an ingredient is the sum of its open ``InventoryLot`` rows; lots are consumed
oldest first (FIFO), which is also how ingredient cost flows into a production run.
Finished goods are counted per product in ``FinishedUnit``; only the finished-goods
inventory service may change that count (see ``[tool.mypy_session.guarded]``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import Enum, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from bakery.errors import InsufficientStock


def utcnow() -> datetime:
    """Timezone-aware "now", used for every timestamp column."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base; money is stored as NUMERIC(12, 4)."""

    type_annotation_map = {Decimal: Numeric(12, 4)}


class Ingredient(Base):
    """Something we buy and bake with: flour, butter, eggs."""

    __tablename__ = "ingredient"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(16))  # "kg", "l", "each"
    reorder_level: Mapped[float] = mapped_column(default=0.0)
    is_active: Mapped[bool] = mapped_column(default=True)

    lots: Mapped[list[InventoryLot]] = relationship(
        back_populates="ingredient", order_by="InventoryLot.received_at"
    )
    purchases: Mapped[list[Purchase]] = relationship(back_populates="ingredient")

    def __repr__(self) -> str:
        return f"<Ingredient {self.slug}>"


class Purchase(Base):
    """One line of a supplier delivery."""

    __tablename__ = "purchase"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"))
    supplier: Mapped[str] = mapped_column(String(120))
    invoice_ref: Mapped[str | None] = mapped_column(String(64))
    quantity: Mapped[float]
    unit_cost: Mapped[Decimal]
    purchased_at: Mapped[datetime] = mapped_column(default=utcnow)
    voided: Mapped[bool] = mapped_column(default=False)

    ingredient: Mapped[Ingredient] = relationship(back_populates="purchases")
    lot: Mapped[InventoryLot | None] = relationship(back_populates="purchase")


class InventoryLot(Base):
    """A quantity of one ingredient received together, at one unit cost."""

    __tablename__ = "inventory_lot"

    id: Mapped[int] = mapped_column(primary_key=True)
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"), index=True)
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchase.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    best_before: Mapped[date | None]
    quantity_received: Mapped[float]
    quantity_remaining: Mapped[float]
    unit_cost: Mapped[Decimal]

    ingredient: Mapped[Ingredient] = relationship(back_populates="lots")
    purchase: Mapped[Purchase | None] = relationship(back_populates="lot")

    @property
    def is_depleted(self) -> bool:
        return self.quantity_remaining <= 1e-9


class Product(Base):
    """Something we sell: a sourdough loaf, a croissant."""

    __tablename__ = "product"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    price: Mapped[Decimal]

    recipe: Mapped[Recipe | None] = relationship(back_populates="product")
    finished_unit: Mapped[FinishedUnit | None] = relationship(back_populates="product")


class Recipe(Base):
    """How to bake one batch of a product, and how many units a batch yields."""

    __tablename__ = "recipe"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), unique=True)
    yield_quantity: Mapped[int]

    product: Mapped[Product] = relationship(back_populates="recipe")
    lines: Mapped[list[RecipeLine]] = relationship(
        back_populates="recipe", cascade="all, delete-orphan"
    )

    def requirements(self, batches: int) -> dict[str, float]:
        """Ingredient slug -> quantity needed for ``batches`` batches."""
        return {line.ingredient.slug: line.quantity * batches for line in self.lines}


class RecipeLine(Base):
    """Quantity of one ingredient per batch."""

    __tablename__ = "recipe_line"

    id: Mapped[int] = mapped_column(primary_key=True)
    recipe_id: Mapped[int] = mapped_column(ForeignKey("recipe.id"))
    ingredient_id: Mapped[int] = mapped_column(ForeignKey("ingredient.id"))
    quantity: Mapped[float]

    recipe: Mapped[Recipe] = relationship(back_populates="lines")
    ingredient: Mapped[Ingredient] = relationship()


class RunStatus(enum.Enum):
    PLANNED = "planned"
    COMPLETED = "completed"
    SCRAPPED = "scrapped"


class ProductionRun(Base):
    """A number of batches of one product, planned and then baked."""

    __tablename__ = "production_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    batches: Mapped[int]
    status: Mapped[RunStatus] = mapped_column(Enum(RunStatus), default=RunStatus.PLANNED)
    units_produced: Mapped[int] = mapped_column(default=0)
    ingredient_cost: Mapped[Decimal] = mapped_column(default=Decimal("0"))
    planned_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None]
    notes: Mapped[str] = mapped_column(Text, default="")

    product: Mapped[Product] = relationship()


class FinishedUnit(Base):
    """Finished units of one product on the shelf.

    ``inventory_count`` must only change through ``update_inventory`` called by
    ``bakery.services.finished_goods_inventory_service``, which also writes the movement
    ledger; the type checker enforces that boundary.
    """

    __tablename__ = "finished_unit"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), unique=True)
    inventory_count: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    product: Mapped[Product] = relationship(back_populates="finished_unit")
    movements: Mapped[list[FinishedGoodsMovement]] = relationship(
        back_populates="finished_unit", order_by="FinishedGoodsMovement.id"
    )

    def update_inventory(self, delta: int) -> None:
        """Add ``delta`` units (negative to remove); the count never goes below zero."""
        if self.inventory_count + delta < 0:
            raise InsufficientStock(self.product.slug, -delta, self.inventory_count)
        self.inventory_count += delta
        self.updated_at = utcnow()


class FinishedGoodsMovement(Base):
    """Ledger row for every change of a ``FinishedUnit`` count."""

    __tablename__ = "finished_goods_movement"

    id: Mapped[int] = mapped_column(primary_key=True)
    finished_unit_id: Mapped[int] = mapped_column(ForeignKey("finished_unit.id"), index=True)
    delta: Mapped[int]
    reason: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    finished_unit: Mapped[FinishedUnit] = relationship(back_populates="movements")


class Assembly(Base):
    """A bundle of finished products sold as one item (gift box, catering platter).

    Assembled bundles are counted here, in ``Assembly.inventory_count``; that column is
    owned by the assembly service and is not the guarded ``FinishedUnit.inventory_count``.
    """

    __tablename__ = "assembly"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    name: Mapped[str] = mapped_column(String(120))
    inventory_count: Mapped[int] = mapped_column(default=0)

    components: Mapped[list[AssemblyComponent]] = relationship(
        back_populates="assembly", cascade="all, delete-orphan"
    )


class AssemblyComponent(Base):
    """``quantity`` units of one product per bundle."""

    __tablename__ = "assembly_component"

    id: Mapped[int] = mapped_column(primary_key=True)
    assembly_id: Mapped[int] = mapped_column(ForeignKey("assembly.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    quantity: Mapped[int]

    assembly: Mapped[Assembly] = relationship(back_populates="components")
    product: Mapped[Product] = relationship()


class StockSnapshot(Base):
    """End-of-day quantity and value of one ingredient, written by the day close."""

    __tablename__ = "stock_snapshot"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(index=True)
    ingredient_slug: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[float]
    value: Mapped[Decimal]


class DayClosing(Base):
    """Marks a business day as closed; nothing may be back-dated into it afterwards."""

    __tablename__ = "day_closing"

    day: Mapped[date] = mapped_column(primary_key=True)
    closed_at: Mapped[datetime] = mapped_column(default=utcnow)
    units_produced: Mapped[int]
    stock_value: Mapped[Decimal]


class AuditEvent(Base):
    """Append-only audit trail; written in its own transaction so it survives rollbacks."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(64), index=True)
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
