"""Legacy `relationship(...)` typing (docs/legacy-models.md) when the models come from
mypy's cache: the facts read from the class bodies are stored with the module, so a warm
run whose models module is fresh types the relationships as the cold run did; also under
parallel checking, where a worker may never see the models' syntax tree. And `callers`,
which resolves calls and writes through the types it gives."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, MYPY_2, run, write

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
    "db.py": DB_MODULE,
    # The relationships name their targets by string: neither module imports the other's
    # target for typing (models_a does not import models_b at all).
    "models_a.py": """
        from typing import Any
        from sqlalchemy import Column, Integer
        from sqlalchemy.orm import Session, declarative_base, relationship

        Base: Any = declarative_base()

        class Customer(Base):
            __tablename__ = "customers"
            id = Column(Integer, primary_key=True)
            orders = relationship("Order", back_populates="customer")

            def settle(self, session: Session | None = None) -> None: ...
    """,
    "models_b.py": """
        from sqlalchemy import Column, ForeignKey, Integer
        from sqlalchemy.orm import relationship
        from models_a import Base

        class Order(Base):
            __tablename__ = "orders"
            id = Column(Integer, primary_key=True)
            customer_id = Column(Integer, ForeignKey("customers.id"), nullable=False)
            customer = relationship("models_a.Customer", back_populates="orders")
            notes = relationship("Note", lazy="dynamic")

        class Note(Base):
            __tablename__ = "notes"
            id = Column(Integer, primary_key=True)
            order_id = Column(Integer, ForeignKey("orders.id"))
    """,
    "app.py": """
        from sqlalchemy.orm import Session
        from models_a import Customer
        from models_b import Order

        def ship(order: Order, customer: Customer, session: Session) -> None:
            reveal_type(order.customer)
            reveal_type(customer.orders)
            reveal_type(order.notes)
            order.customer.settle()
    """,
}

EXPECTED = [
    'app.py:6: note: Revealed type is "models_a.Customer"',
    'app.py:7: note: Revealed type is "builtins.list[models_b.Order]"',
    'app.py:8: note: Revealed type is "sqlalchemy.orm.dynamic.AppenderQuery[models_b.Note]"',
    'app.py:9: error: Call to "Customer.settle" does not forward the held session "session";'
    " pass session=session  [session-not-forwarded]",
]


def output(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, "--show-error-codes", "app.py", "models_a.py", "models_b.py")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if line.startswith("app.py")]


def normalized(lines: list[str]) -> list[str]:
    # mypy prints `list[...]` or `builtins.list[...]` depending on its version.
    return [line.replace('"list[', '"builtins.list[') for line in lines]


def test_warm_run_with_models_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert normalized(output(tmp_path)) == EXPECTED
    # Only app.py changes: models_a and models_b are loaded from the cache.
    write(tmp_path, {"app.py": FILES["app.py"] + "\n        x = 1\n"})
    verbose = run(tmp_path, "-v", "app.py", "models_a.py", "models_b.py").stderr
    assert "Metadata fresh for models_a" in verbose and "Metadata fresh for models_b" in verbose
    write(tmp_path, {"app.py": FILES["app.py"] + "\n        y = 1\n"})
    assert normalized(output(tmp_path)) == EXPECTED


def test_setting_off_is_part_of_the_cache_key(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert normalized(output(tmp_path)) == EXPECTED
    write(tmp_path, {"mypy.ini": FILES["mypy.ini"] + "[mypy_session]\nlegacy_model_typing = false\n"})
    assert output(tmp_path)[:3] == [
        'app.py:6: note: Revealed type is "Any"',
        'app.py:7: note: Revealed type is "Any"',
        'app.py:8: note: Revealed type is "Any"',
    ]


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_parallel_checking(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert normalized(output(tmp_path, "-n", "2")) == EXPECTED
    write(tmp_path, {"app.py": FILES["app.py"] + "\n        x = 1\n"})
    assert normalized(output(tmp_path, "-n", "2")) == EXPECTED


def test_callers_resolves_through_relationships(tmp_path: Path) -> None:
    files = dict(FILES)
    files["app.py"] += """
        def close(order: Order) -> None:
            order.customer.settle()
            for other in order.customer.orders:
                other.customer_id = 0
    """
    write(tmp_path, files)
    result = run(
        tmp_path, "callers", "Customer.settle", "Order.customer_id", "--format", "json",
        "--", "app.py", "models_a.py", "models_b.py", module="mypy_session",
    )
    assert result.status == 0, result.stderr
    sites = json.loads(result.stdout)
    assert sorted((s["kind"], s["target"], s["line"]) for s in sites) == [
        ("call", "models_a.Customer.settle", 9),
        ("call", "models_a.Customer.settle", 12),
        ("write", "models_b.Order.customer_id", 14),
    ]
