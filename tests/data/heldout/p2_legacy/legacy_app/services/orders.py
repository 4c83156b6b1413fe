from sqlalchemy.orm import Session as OrmSession

from legacy_app.db import get_db
from legacy_app.models import Customer, Order
from legacy_app.services.items import find_item, get_item
from legacy_app.services.stock import set_count


def charge(order_id, session=None):
    order: Order = session.query(Order).get(order_id)
    order.customer.settle(10)  # expect: session-not-forwarded
    order.customer.settle(5, session=session)


def charge_typed(order_id: int, session: OrmSession) -> None:
    order = session.get(Order, order_id)
    if order is None:
        return
    order.customer.settle(10)  # expect: session-not-forwarded
    order.customer.settle(5, session)


def zero_out(item_id, session=None):
    item = find_item(item_id, session=session)
    item.count = 0  # expect: service-boundary
    set_count(item_id, 0, session=session)


def zero_out_typed(item_id: int, session: OrmSession) -> None:
    item = find_item(item_id, session=session)
    item.count -= 1  # expect: service-boundary
    print(item.count)


def close_order(order_id, session=None):
    if session is None:
        with get_db() as session:
            close_order(order_id, session=session)
            return
    order = session.query(Order).get(order_id)
    set_count(order.item_id, 0, session=session)


def dropped_in_except(order_id, session=None):
    try:
        get_item(order_id, session=session)
    except KeyError:
        get_item(0)  # expect: session-not-forwarded


def nightly_job():
    # no session parameter; opens its own through the untyped get_db()
    with get_db() as db:
        get_item(1, session=db)


def run_nightly_inside(session: OrmSession) -> None:
    nightly_job()  # expect: session-callee-opens-scope


def run_legacy_nightly(session=None):
    from legacy_app.services.items import nightly
    nightly()  # expect: session-callee-opens-scope
