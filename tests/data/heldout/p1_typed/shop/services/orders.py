from contextlib import nullcontext

from sqlalchemy.orm import Session

from shop.db import SessionLocal, session_scope
from shop.models import Customer, Order, Product
from shop.repositories import OrderRepository, ProductRepository
from shop.services.catalog import get_product, list_products
from shop.services.inventory import adjust_inventory, reserve_stock


def _notify_warehouse(sku: str) -> None:
    # no session parameter, opens its own
    with session_scope() as s:
        s.get(Product, 1)


def _refresh_feed() -> None:
    _notify_warehouse("all")


def place_order(customer_id: int, sku: str, qty: int, session: Session | None = None) -> int:
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        customer = session.get(Customer, customer_id)
        assert customer is not None
        product = get_product(sku, session=session)
        reserve_stock(sku, qty, session=session)
        order = Order(customer=customer, total_cents=product.price_cents * qty)
        session.add(order)
        session.flush()
        _refresh_feed()  # expect: session-callee-opens-scope
        return order.id


def cancel_order(order_id: int, session: Session | None = None) -> None:
    if session is None:
        with session_scope() as session:
            return cancel_order(order_id, session=session)

    order = session.get(Order, order_id)
    if order is None:
        return
    order.status = "cancelled"
    adjust_inventory("x", 1)  # expect: session-not-forwarded
    adjust_inventory("y", 1, session=session)


def bulk_cancel(ids: list[int], session: Session | None = None) -> None:
    def _impl(sess: Session) -> None:
        for oid in ids:
            cancel_order(oid, session=sess)
        reserve_stock("z", 0)  # expect: session-not-forwarded

    if session is not None:
        _impl(session)
        return
    with session_scope() as s:
        _impl(s)


def close_day(session: Session | None = None) -> None:
    def _impl() -> None:
        for p in list_products(session=session):
            adjust_inventory(p.sku, 0, session=session)

    if session is not None:
        _impl()


def rebuild(session: Session | None = None) -> None:
    with session_scope() as s:  # expect: session-nested-scope
        adjust_inventory("a", 1, session=session)  # expect: session-mismatch
        adjust_inventory("b", 1, session=s)


def reprice(sku: str, session: Session) -> None:
    product = get_product(sku, session=None)  # expect: session-mismatch
    product.price_cents += 1


def wrong_nest(session: Session) -> None:
    with session_scope() as s:  # expect: session-nested-scope
        s.add(Customer(name="x"))


def price_check_then_update(sku: str) -> None:
    product = get_product(sku)  # expect: session-detached-use
    with session_scope() as session:
        session.add(Order(customer_id=1, total_cents=product.price_cents))
        product.price_cents = 10


def load_inside(sku: str) -> None:
    with session_scope() as session:
        product = get_product(sku, session=session)
        product.price_cents = 10


def service_calls_service(sku: str, session: Session) -> None:
    place_order(1, sku, 1, session=session)
    cancel_order(1, session)
    repo = ProductRepository(session)
    repo.save(repo.by_sku(sku))
    OrderRepository(session).count()


def bypass_inventory(sku: str, session: Session) -> None:
    product = get_product(sku, session=session)
    product.inventory_count = 0  # expect: service-boundary
    product.reserve(1)  # expect: service-boundary


def read_inventory(sku: str, session: Session) -> int:
    product = get_product(sku, session=session)
    return product.inventory_count


def begin_block(session: Session) -> None:
    with session.begin():
        adjust_inventory("a", 1, session=session)
        cancel_order(2, session=session)


def fresh_session_job() -> None:
    session = SessionLocal()
    try:
        adjust_inventory("a", 1, session=session)
        session.commit()
    finally:
        session.close()


def with_sessionmaker_begin() -> None:
    with SessionLocal.begin() as session:
        place_order(1, "a", 1, session=session)
        place_order(1, "b", 1)  # expect: session-not-forwarded
