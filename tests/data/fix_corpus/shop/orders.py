"""Orders: the multi-step services, with the mistakes a reviewer would flag."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from mypy_session import MultiStep
from shop import customers, inventory
from shop.customers import add_loyalty_points, get_customer
from shop.db import session_scope
from shop.models import Order
from shop.notifications import notify_customer


class OrderRepository:
    """Per-request facade bound to the request's session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def reward(self, customer_id: int, points: int) -> int:
        return add_loyalty_points(customer_id, points)  # not forwarded: db=self.session

    def add(self, order: Order) -> None:
        self.session.add(order)


@MultiStep
def place_order(
    customer_id: int,
    lines: list[tuple[str, int]],
    session: Session | None = None,
) -> int:
    with session_scope() if session is None else _borrowed(session) as active:
        customer = get_customer(customer_id, session=active)
        total = Decimal(0)
        for sku, quantity in lines:
            product = inventory.reserve(
                sku,
                quantity,  # wrapped call with a trailing comma: not forwarded
            )
            total += product.price * quantity
        order = Order(customer_id=customer.id, total=total)
        active.add(order)
        active.flush()
        add_loyalty_points(
            customer.id,
            int(total),
            db=session,  # the outer, maybe-None parameter: mismatch, db=active
        )
        notify_customer(customer.id, f"order {order.id} placed")  # opens its own scope
        inventory.write_audit(f"order {order.id}")  # not forwarded
        return order.id


def _borrowed(session: Session) -> _Borrowed:
    return _Borrowed(session)


class _Borrowed:
    def __init__(self, session: Session) -> None:
        self.session = session

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        return None


@MultiStep
def cancel_order(order_id: int, session: Session) -> None:
    order = session.get(Order, order_id)
    if order is None:
        raise LookupError(order_id)
    order.status = "cancelled"
    customers.add_loyalty_points(order.customer_id, -int(order.total), None)  # mismatch: None by position
    notify_customer(order.customer_id, "cancelled")  # opens its own scope (chain across modules)


def blocked_report(session: Session) -> str:
    return f"{customers.count_blocked()} blocked"  # opens its own scope (the @ReadOnly without session)
