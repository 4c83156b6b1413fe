from sqlalchemy import select
from sqlalchemy.orm import Session

from shop.db import SessionLocal, session_scope
from shop.models import Customer, Order, Product
from shop.services.catalog import get_product, list_products


class ProductRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def by_sku(self, sku: str) -> Product:
        return get_product(sku, session=self.session)

    def all(self) -> list[Product]:
        return list(list_products(self.session))

    def by_sku_dropped(self, sku: str) -> Product:
        return get_product(sku)  # expect: session-not-forwarded

    def fresh_copy(self, sku: str) -> Product:
        with session_scope() as other:  # expect: session-nested-scope
            return get_product(sku, session=other)

    def save(self, product: Product) -> None:
        self.session.add(product)
        self.session.flush()


class OrderRepository:
    def __init__(self, session: Session) -> None:
        self._session = session

    def for_customer(self, customer: Customer) -> list[Order]:
        return list(self._session.scalars(select(Order).where(Order.customer_id == customer.id)))

    def expensive(self) -> list[Product]:
        return [p for p in list_products() if p.price_cents > 1000]  # expect: session-not-forwarded

    def second_session(self) -> None:
        other = SessionLocal()  # expect: session-nested-scope
        other.close()

    def count(self) -> int:
        return len(list_products(session=self._session))
