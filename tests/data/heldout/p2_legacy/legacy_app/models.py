from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.orm import declarative_base, relationship

Base = declarative_base()


class Customer(Base):
    __tablename__ = "customer"
    id = Column(Integer, primary_key=True)
    name = Column(String(80))
    balance = Column(Integer, default=0)
    orders = relationship("Order", back_populates="customer")

    def settle(self, amount, session=None):
        self.balance = (self.balance or 0) - amount
        if session is not None:
            session.add(self)


class Item(Base):
    __tablename__ = "item"
    id = Column(Integer, primary_key=True)
    name = Column(String(80))
    count = Column(Integer, default=0)


class Order(Base):
    __tablename__ = "order"
    id = Column(Integer, primary_key=True)
    customer_id = Column(Integer, ForeignKey("customer.id"), nullable=False)
    customer = relationship("Customer", back_populates="orders")
    item_id = Column(Integer, ForeignKey("item.id"))
    item = relationship("Item")
    qty = Column(Integer, default=1)
