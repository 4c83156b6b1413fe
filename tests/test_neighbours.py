"""Chaining with other mypy plugins (SPEC section 8): with pydantic's and django-stubs'
plugins listed before or after ours, their checks and ours are all still reported.

mypy asks the plugins in the order the config lists them and runs only the first hook
returned for a name (notes: "Precedence"), so a hook returned too eagerly by one plugin
silently switches off the other's. Each neighbour's program therefore has errors that only
its plugin reports (a control test runs it without that plugin: they are gone), beside
ours. sqlalchemy-stubs' `sqlmypy` needs SQLAlchemy 1.x and has its own environment:
tests/test_neighbour_sqlmypy.py, run by tests/scripts/test-sqlmypy.sh.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import Result, run_with_plugins, write

OURS = "mypy_session.plugin"


@dataclass(frozen=True)
class Neighbour:
    plugin: str
    # Packages that must be importable, or the tests are skipped. Top-level ones only:
    # importing a plugin module (pydantic.mypy) into pytest's process before mypy's own
    # modules trips a circular import inside mypy; mypy itself imports it in a subprocess.
    needs: tuple[str, ...]
    files: dict[str, str]
    settings: str
    targets: tuple[str, ...]
    theirs: list[str]  # errors only their plugin reports
    ours: list[str]
    extra_args: tuple[str, ...] = field(default=())

    def run(self, root: Path, plugins: list[str]) -> Result:
        for module in self.needs:
            pytest.importorskip(module)
        write(root, self.files)
        return run_with_plugins(root, plugins, self.settings, *self.extra_args, *self.targets)


def by_line(lines: list[str]) -> list[str]:
    """mypy's order for one file: by line number, ties kept in order."""
    return sorted(lines, key=lambda line: int(line.split(":")[1]))


PYDANTIC = Neighbour(
    plugin="pydantic.mypy",
    needs=("pydantic",),
    files={
        "orders.py": """
            from pydantic import BaseModel, Field
            from sqlalchemy.orm import Session

            SKU_ALIAS = "stock_keeping_unit"


            class Order(BaseModel):
                sku: str
                qty: int


            class LegacyOrder(BaseModel):
                sku: str = Field(alias=SKU_ALIAS)


            def load_order(order_id: int, session: Session | None = None) -> Order:
                return Order(sku="flour", qty=order_id)


            def restock(order_id: int, row: object, session: Session) -> Order:
                order = load_order(order_id)
                Order.from_orm(row)
                return Order(sku=order.sku, qty=order.qty + 1)
        """,
    },
    settings="""
        [pydantic-mypy]
        init_forbid_extra = True
        init_typed = True
        warn_required_dynamic_aliases = True
    """,
    targets=("orders.py",),
    theirs=[
        # the pydantic model transformer (a base-class hook, semantic analysis)
        "orders.py:13: error: Required dynamic aliases disallowed  [pydantic-alias]",
        # pydantic's method hook for from_orm (type checking, the phase of our hooks)
        'orders.py:22: error: "Order" does not have from_attributes=True  [pydantic-orm]',
    ],
    ours=[
        'orders.py:21: error: Call to "load_order" does not forward the held session "session"; '
        "pass session=session  [session-not-forwarded]",
    ],
)

DJANGO_SETTINGS = """
    [mypy.plugins.django-stubs]
    django_settings_module = settings
"""
DJANGO_FILES = {
    "settings.py": """
        SECRET_KEY = "not-secret"
        INSTALLED_APPS = ["shop"]
    """,
    "shop/__init__.py": "",
    "shop/models.py": """
        from django.db import models


        class Item(models.Model):
            name = models.CharField(max_length=40)
            stock = models.IntegerField(default=0)
    """,
}

DJANGO = Neighbour(
    plugin="mypy_django_plugin.main",
    needs=("django", "mypy_django_plugin"),
    files={
        **DJANGO_FILES,
        "shop/services.py": """
            from sqlalchemy.orm import Session

            from shop.models import Item


            def count_items(name: str, session: Session | None = None) -> int:
                return Item.objects.filter(name=name).count()


            def restock(name: str, session: Session) -> None:
                count_items(name)
                Item.objects.filter(nmae=name)
                Item(name=name, colour="red")
        """,
    },
    settings=DJANGO_SETTINGS,
    targets=("shop",),
    theirs=[
        # django's method hook for QuerySet/Manager lookups
        "shop/services.py:12: error: Cannot resolve keyword 'nmae' into field. "
        "Choices are: id, name, stock  [misc]",
        # django's function hook for model constructors
        'shop/services.py:13: error: Unexpected attribute "colour" for model "Item"  [misc]',
    ],
    ours=[
        'shop/services.py:11: error: Call to "count_items" does not forward the held session '
        '"session"; pass session=session  [session-not-forwarded]',
    ],
)

NEIGHBOURS = [pytest.param(PYDANTIC, id="pydantic"), pytest.param(DJANGO, id="django-stubs")]


def order(neighbour: Neighbour, which: str) -> list[str]:
    return [OURS, neighbour.plugin] if which == "ours first" else [neighbour.plugin, OURS]


@pytest.mark.parametrize("which", ["ours first", "theirs first"])
@pytest.mark.parametrize("neighbour", NEIGHBOURS)
def test_both_plugins_report_in_either_order(tmp_path: Path, neighbour: Neighbour, which: str) -> None:
    result = neighbour.run(tmp_path, order(neighbour, which))
    assert "Traceback" not in result.stderr and "INTERNAL ERROR" not in result.stdout + result.stderr
    assert result.errors == by_line(neighbour.theirs + neighbour.ours), result.stdout + result.stderr
    assert result.status == 1


@pytest.mark.parametrize("neighbour", NEIGHBOURS)
def test_their_errors_come_from_their_plugin(tmp_path: Path, neighbour: Neighbour) -> None:
    """The control: without their plugin, their errors are gone (so the test above would
    notice their hooks being shadowed); alone, their plugin reports exactly those."""
    ours_only = neighbour.run(tmp_path, [OURS])
    assert set(neighbour.ours) <= set(ours_only.errors), ours_only.stdout
    assert not set(neighbour.theirs) & set(ours_only.errors), ours_only.stdout
    theirs_only = neighbour.run(tmp_path, [neighbour.plugin])
    assert theirs_only.errors == neighbour.theirs, theirs_only.stdout + theirs_only.stderr


# A method both plugins want: django-stubs' plugin returns a hook for every method of a
# QuerySet or Manager subclass, ours for a method with a session parameter. mypy runs the
# first plugin's only, so with django-stubs listed first ours never sees the call.
CONTESTED = Neighbour(
    plugin="mypy_django_plugin.main",
    needs=("django", "mypy_django_plugin"),
    files={
        **DJANGO_FILES,
        "shop/models.py": """
            from __future__ import annotations

            from django.db import models
            from sqlalchemy.orm import Session


            class ItemQuerySet(models.QuerySet["Item"]):
                def in_stock(self, session: Session | None = None) -> ItemQuerySet:
                    return self.filter(stock__gt=0)


            class Item(models.Model):
                name = models.CharField(max_length=40)
                stock = models.IntegerField(default=0)
                objects = ItemQuerySet.as_manager()
        """,
        "shop/services.py": """
            from sqlalchemy.orm import Session

            from shop.models import Item


            def restock(session: Session) -> None:
                Item.objects.all().in_stock()
                Item.objects.filter(nmae="flour")
        """,
    },
    settings=DJANGO_SETTINGS,
    targets=("shop",),
    theirs=[
        "shop/services.py:8: error: Cannot resolve keyword 'nmae' into field. "
        "Choices are: id, name, stock  [misc]",
    ],
    ours=[
        'shop/services.py:7: error: Call to "ItemQuerySet.in_stock" does not forward the held '
        'session "session"; pass session=session  [session-not-forwarded]',
    ],
)


@pytest.mark.parametrize(
    "which",
    [
        "ours first",
        pytest.param(
            "theirs first",
            marks=pytest.mark.xfail(
                strict=True,
                reason="django-stubs' method hook for every QuerySet/Manager method wins when "
                "it is listed first; ours is never asked (list mypy_session.plugin first)",
            ),
        ),
    ],
)
def test_custom_queryset_method_with_a_session_parameter(tmp_path: Path, which: str) -> None:
    result = CONTESTED.run(tmp_path, order(CONTESTED, which))
    assert result.errors == by_line(CONTESTED.theirs + CONTESTED.ours), result.stdout + result.stderr
