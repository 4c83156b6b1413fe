from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db import session_scope
from shop.models import Product


def _get_product_impl(sku: str, session: Session) -> Product:
    return session.scalars(select(Product).where(Product.sku == sku)).one()


def get_product(sku: str, session: Session | None = None) -> Product:
    # pattern A
    if session is not None:
        return _get_product_impl(sku, session)
    with session_scope() as session:
        return _get_product_impl(sku, session)  # pattern A fallback: not reported (SPEC section 4)


def list_products(session: Session | None = None) -> Sequence[Product]:
    if session is None:
        with session_scope() as session:
            return session.scalars(select(Product)).all()  # pattern A fallback: not reported (SPEC section 4)
    return session.scalars(select(Product)).all()


def price_of(sku: str, session: Session | None = None) -> int:
    return get_product(sku, session=session).price_cents


def price_positional(sku: str, session: Session | None = None) -> int:
    return get_product(sku, session).price_cents


def price_kwargs(sku: str, **kwargs: Session) -> int:
    return get_product(sku, **kwargs).price_cents


def product_count(session: Session | None = None) -> int:
    return len(list_products(session=session))


def cheapest(session: Session | None = None) -> Product | None:
    products = list_products(session=session)
    return min(products, key=lambda p: p.price_cents) if products else None


def report_prices() -> dict[str, int]:
    # holds no session: calls without one are fine
    return {p.sku: p.price_cents for p in list_products()}


def load_then_leak() -> Product:
    with session_scope() as s:
        product = s.scalars(select(Product)).first()
        assert product is not None
    return product  # expect: session-detached-return


def leak_in_dict() -> dict[str, Product]:
    with session_scope() as s:
        products = s.scalars(select(Product)).all()
        return {p.sku: p for p in products}  # expect: session-detached-return


def leak_display() -> dict[str, object]:
    with session_scope() as s:
        first = s.get(Product, 1)
        return {"product": first, "count": 1}  # expect: session-detached-return


def safe_summary() -> dict[str, int]:
    with session_scope() as s:
        first = s.get(Product, 1)
        return {"price": first.price_cents if first else 0}
