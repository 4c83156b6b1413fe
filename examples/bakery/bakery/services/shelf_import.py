"""Nightly import of shelf counts from the point-of-sale export, and the write-off of
expired stock.

Written as a bulk job "for speed": it sets counts with SQL and generic field updates
instead of calling ``adjust_inventory``, so none of these changes writes a
``FinishedGoodsMovement`` row and the next stocktake finds the ledger and the shelf
disagreeing. Each such write is outside the finished-goods service that owns the count.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from bakery.models import Assembly, FinishedUnit


def import_pos_counts(session: Session, counts: dict[int, int]) -> None:
    """Counts by finished-unit id, as the POS export reports them."""
    session.bulk_update_mappings(
        FinishedUnit,
        [
            {"id": unit_id, "inventory_count": count}  # planted: service-boundary
            for unit_id, count in counts.items()
        ],
    )


def write_off_expired(session: Session, product_ids: list[int]) -> None:
    session.execute(
        update(FinishedUnit)
        .where(FinishedUnit.product_id.in_(product_ids))
        .values(inventory_count=0)  # planted: service-boundary
    )
    # Assembly.inventory_count is another class's column: not guarded.
    session.execute(update(Assembly).where(Assembly.id.in_(product_ids)).values(inventory_count=0))


def clear_display_stock(session: Session, product_id: int) -> None:
    session.query(FinishedUnit).filter(FinishedUnit.product_id == product_id).update(
        {FinishedUnit.inventory_count: 0}  # planted: service-boundary
    )


def apply_fields(unit: FinishedUnit, fields: dict[str, int]) -> None:
    """Copies imported fields one by one; the count is among them."""
    for name, value in fields.items():
        setattr(unit, name, value)  # a name only known at run time: not resolved
    setattr(unit, "inventory_count", fields.get("count", 0))  # planted: service-boundary


def forget_count(unit: FinishedUnit) -> None:
    del unit.inventory_count  # planted: service-boundary
