from collections.abc import Iterator

from sqlalchemy import select

from shop.db import session_scope
from shop.models import Product


def append_after() -> list[Product]:
    result: list[Product] = []
    with session_scope() as s:
        rows = s.scalars(select(Product)).all()
    for row in rows:
        result.append(row)
    return result  # expect: session-detached-return


def list_after() -> list[Product]:
    with session_scope() as s:
        rows = s.scalars(select(Product)).all()
    return list(rows)  # expect: session-detached-return


def first_after() -> Product:
    with session_scope() as s:
        rows = s.scalars(select(Product)).all()
    return rows[0]  # expect: session-detached-return


def loop_return() -> Product | None:
    with session_scope() as s:
        rows = s.scalars(select(Product)).all()
    for row in rows:
        if row.price_cents > 0:
            return row  # expect: session-detached-return
    return None


def loop_yield() -> Iterator[Product]:
    with session_scope() as s:
        rows = s.scalars(select(Product)).all()
    for row in rows:
        yield row  # expect: session-detached-return
