"""Assemblies: bundles of finished products (gift boxes, catering platters).

Assembling takes the component units off the shelf through the finished-goods service
and counts the bundles in ``Assembly.inventory_count``; disassembling reverses that.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session
from mypy_session import MultiStep, ReadOnly, SingleStep

from bakery.database import session_scope
from bakery.errors import InsufficientStock, InvalidOperation, NotFound
from bakery.models import Assembly, AssemblyComponent, Product
from bakery.services.finished_goods_inventory_service import (
    available_units,
    get_finished_unit,
    publish_storefront_availability,
    remove_units,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AssemblyResult:
    slug: str
    assembled: int
    bundles_on_hand: int


def load_assembly(session: Session, slug: str) -> Assembly:
    assembly = session.scalars(select(Assembly).where(Assembly.slug == slug)).one_or_none()
    if assembly is None:
        raise NotFound(f"unknown assembly {slug!r}")
    return assembly


@SingleStep
def define_assembly(
    slug: str, name: str, components: Mapping[str, int], session: Session | None = None
) -> int:
    """Create a bundle from ``{product slug: units per bundle}``; returns its id."""
    if not components:
        raise InvalidOperation("an assembly needs at least one component")
    if session is not None:
        return _define_impl(session, slug, name, components)
    with session_scope() as session:
        return _define_impl(session, slug, name, components)


def _define_impl(session: Session, slug: str, name: str, components: Mapping[str, int]) -> int:
    products = session.scalars(select(Product).where(Product.slug.in_(components))).all()
    missing = set(components) - {p.slug for p in products}
    if missing:
        raise NotFound(f"unknown products: {', '.join(sorted(missing))}")
    assembly = Assembly(
        slug=slug,
        name=name,
        components=[AssemblyComponent(product=p, quantity=components[p.slug]) for p in products],
    )
    session.add(assembly)
    session.flush()
    logger.info("defined assembly %s with %d components", slug, len(products))
    return assembly.id


@ReadOnly
def buildable_bundles(slug: str, session: Session | None = None) -> int:
    """How many bundles the units on the shelf are enough for."""
    if session is not None:
        return _buildable(session, slug)
    with session_scope() as session:
        return _buildable(session, slug)


def _buildable(session: Session, slug: str) -> int:
    assembly = load_assembly(session, slug)
    return min(
        available_units(component.product_id, session=session) // component.quantity
        for component in assembly.components
    )


@MultiStep
def assemble(slug: str, quantity: int, session: Session | None = None) -> AssemblyResult:
    """Build ``quantity`` bundles from shelf stock."""
    if quantity <= 0:
        raise InvalidOperation("quantity must be positive")
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        assembly = load_assembly(session, slug)
        buildable = buildable_bundles(slug, session)
        if buildable < quantity:
            raise InsufficientStock(slug, quantity, buildable)
        for component in assembly.components:
            remove_units(component.product_id, component.quantity * quantity, f"assembled into {slug}", session=session)
        assembly.inventory_count += quantity
        # The storefront feed is rebuilt in a separate session that cannot see the
        # component units just taken for these bundles: the shop keeps offering them
        # and oversells until the next publish.
        publish_storefront_availability()  # planted: session-callee-opens-scope
        logger.info("assembled %d x %s", quantity, slug)
        return AssemblyResult(slug, quantity, assembly.inventory_count)


@MultiStep
def disassemble(slug: str, quantity: int, session: Session | None = None) -> None:
    """Break bundles back into their component units (unsold gift boxes after the holidays)."""

    def _break_up(sess: Session) -> None:
        assembly = load_assembly(sess, slug)
        if assembly.inventory_count < quantity:
            raise InsufficientStock(slug, quantity, assembly.inventory_count)
        assembly.inventory_count -= quantity
        for component in assembly.components:
            unit = get_finished_unit(sess, component.product_id)
            # Puts the units back by calling the model method directly instead of
            # add_units(): no ledger row, so the returned units look like a stocktake
            # gain and the finished-goods ledger no longer adds up to the count.
            unit.update_inventory(component.quantity * quantity)  # planted: service-boundary
        logger.info("disassembled %d x %s", quantity, slug)

    if session is not None:
        _break_up(session)
    else:
        with session_scope() as owned:
            _break_up(owned)


@MultiStep
def retire_assembly(slug: str, session: Session | None = None) -> None:
    """Withdraw a bundle from sale; bundles still on hand are broken up first."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as active:
        assembly = load_assembly(active, slug)
        if assembly.inventory_count:
            # Passes the outer `session`, which is None when retire_assembly opened its
            # own scope: the break-up then commits in a second transaction, and if the
            # delete below fails the bundles are gone while the assembly stays for sale.
            disassemble(slug, assembly.inventory_count, session=session)  # planted: session-mismatch
        active.delete(assembly)
        logger.info("retired assembly %s", slug)
