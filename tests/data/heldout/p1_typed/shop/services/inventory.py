from contextlib import nullcontext

from sqlalchemy.orm import Session

from shop.db import session_scope
from shop.models import Product
from shop.services.catalog import get_product


def adjust_inventory(sku: str, delta: int, session: Session | None = None) -> int:
    # pattern B
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        product = get_product(sku, session=session)
        product.inventory_count += delta
        return product.inventory_count


def reserve_stock(sku: str, qty: int, session: Session | None = None) -> None:
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as sess:
        product = get_product(sku, sess)
        product.reserve(qty)


def recount(sku: str, session: Session | None = None) -> None:
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        product = get_product(sku)  # expect: session-not-forwarded
        product.inventory_count = 0


def restock_all(delta: int, session: Session) -> None:
    with session.begin_nested():
        adjust_inventory("a", delta, session=session)
        adjust_inventory("b", delta)  # expect: session-not-forwarded


def transfer(src: str, dst: str, qty: int, session: Session) -> None:
    adjust_inventory(src, -qty, session=session)
    adjust_inventory(dst, qty, session=session)
    session.commit()  # expect: session-borrowed-commit


def audit_inventory(session: Session) -> None:
    session.flush()
    for sku in ("a", "b"):
        adjust_inventory(sku, 0, session)
