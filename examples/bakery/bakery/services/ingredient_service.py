"""Ingredient catalogue: creating, looking up, describing and retiring ingredients."""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from mypy_session import ReadOnly, SingleStep

from bakery.database import session_scope
from bakery.errors import InvalidOperation, NotFound
from bakery.models import Ingredient, InventoryLot
from bakery.services import audit_service

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngredientInfo:
    """Read model of an ingredient with its current stock."""

    slug: str
    name: str
    unit: str
    on_hand: float
    reorder_level: float
    is_active: bool

    @property
    def below_reorder_level(self) -> bool:
        return self.is_active and self.on_hand < self.reorder_level


def load_ingredient(session: Session, slug: str) -> Ingredient:
    """The ingredient with ``slug``, in ``session``; raises :class:`NotFound`."""
    ingredient = session.scalars(select(Ingredient).where(Ingredient.slug == slug)).one_or_none()
    if ingredient is None:
        raise NotFound(f"unknown ingredient {slug!r}")
    return ingredient


def stock_on_hand(session: Session, ingredient_id: int) -> float:
    """Sum of the remaining quantity of all lots of one ingredient."""
    total = session.scalar(
        select(func.coalesce(func.sum(InventoryLot.quantity_remaining), 0.0)).where(
            InventoryLot.ingredient_id == ingredient_id
        )
    )
    return float(total or 0.0)


def _to_info(session: Session, ingredient: Ingredient) -> IngredientInfo:
    return IngredientInfo(
        slug=ingredient.slug,
        name=ingredient.name,
        unit=ingredient.unit,
        on_hand=stock_on_hand(session, ingredient.id),
        reorder_level=ingredient.reorder_level,
        is_active=ingredient.is_active,
    )


@SingleStep
def create_ingredient(
    slug: str, name: str, unit: str, reorder_level: float = 0.0, session: Session | None = None
) -> int:
    """Add an ingredient to the catalogue and return its id."""
    if session is not None:
        return _create_ingredient_impl(slug, name, unit, reorder_level, session)
    with session_scope() as session:
        return _create_ingredient_impl(slug, name, unit, reorder_level, session)


def _create_ingredient_impl(
    slug: str, name: str, unit: str, reorder_level: float, session: Session
) -> int:
    taken = session.scalars(select(Ingredient.id).where(Ingredient.slug == slug)).first()
    if taken is not None:
        raise InvalidOperation(f"ingredient {slug!r} already exists")
    ingredient = Ingredient(slug=slug, name=name, unit=unit, reorder_level=reorder_level)
    session.add(ingredient)
    session.flush()
    logger.info("created ingredient %s (%s)", slug, unit)
    return ingredient.id


@ReadOnly
def ingredient_exists(slug: str, session: Session | None = None) -> bool:
    """Whether an ingredient with ``slug`` is in the catalogue."""
    if session is not None:
        return _exists(session, slug)
    with session_scope() as session:
        return _exists(session, slug)


def _exists(session: Session, slug: str) -> bool:
    return session.scalars(select(Ingredient.id).where(Ingredient.slug == slug)).first() is not None


@ReadOnly
def get_ingredient(slug: str, session: Session | None = None) -> Ingredient:
    """The ``Ingredient`` row for ``slug``."""
    if session is not None:
        return load_ingredient(session, slug)
    with session_scope() as session:
        # Pattern A's fallback: a caller that wants an attached Ingredient passes its session.
        return load_ingredient(session, slug)


def ingredient_catalogue() -> dict[str, list[Ingredient]]:
    """Every ingredient, for the storefront's catalogue page."""
    with session_scope() as session:
        rows = list(session.scalars(select(Ingredient)).all())
    # The scope committed and closed: the caller receives detached Ingredients, so a lazy
    # relationship access raises and any edit is never saved.
    return {"ingredients": rows}  # planted: session-detached-return


@ReadOnly
def describe_ingredient(slug: str, session: Session | None = None) -> IngredientInfo:
    """Catalogue data and current stock of one ingredient."""
    if session is not None:
        return _to_info(session, load_ingredient(session, slug))
    with session_scope() as session:
        return _to_info(session, load_ingredient(session, slug))


@ReadOnly
def list_ingredients(
    include_inactive: bool = False, session: Session | None = None
) -> list[IngredientInfo]:
    """All ingredients, by slug, with their stock."""
    cm = nullcontext(session) if session is not None else session_scope()
    with cm as session:
        query = select(Ingredient).order_by(Ingredient.slug)
        if not include_inactive:
            query = query.where(Ingredient.is_active)
        return [_to_info(session, ingredient) for ingredient in session.scalars(query)]


@SingleStep
def set_reorder_level(slug: str, level: float, session: Session | None = None) -> None:
    """Change the stock level below which the ingredient shows up for reordering."""
    if level < 0:
        raise InvalidOperation("reorder level cannot be negative")

    def _apply(sess: Session) -> None:
        ingredient = load_ingredient(sess, slug)
        logger.info("reorder level of %s: %g -> %g", slug, ingredient.reorder_level, level)
        ingredient.reorder_level = level

    if session is not None:
        _apply(session)
    else:
        with session_scope() as owned:
            _apply(owned)


def retire_ingredient(slug: str, reason: str) -> None:
    """Take an ingredient out of the catalogue (admin action from the back office)."""
    # get_ingredient() runs in its own session, closed by the time it returns: the
    # is_active flag set inside the scope below goes to a detached object, so the
    # retirement is silently never saved and purchasing keeps ordering the ingredient.
    ingredient = get_ingredient(slug)  # planted: session-detached-use
    if not ingredient.is_active:
        logger.info("ingredient %s is already retired", slug)
        return
    with session_scope() as session:
        remaining = stock_on_hand(session, ingredient.id)
        if remaining > 0:
            logger.warning("retiring %s with %g %s still in stock", slug, remaining, ingredient.unit)
        ingredient.is_active = False
    audit_service.record_audit_event("ingredient.retired", f"{slug}: {reason}")


# A report that calls itself read-only must be able to join the caller's transaction;
# this one takes no session, so a caller in the middle of a transaction cannot make it
# see the stock it has just consumed.
@ReadOnly
def low_stock_report() -> list[IngredientInfo]:  # planted: session-missing-param
    """Active ingredients whose stock is below their reorder level."""
    with session_scope() as session:
        ingredients = session.scalars(
            select(Ingredient).where(Ingredient.is_active).order_by(Ingredient.slug)
        ).all()
        infos = [_to_info(session, ingredient) for ingredient in ingredients]
    return [info for info in infos if info.below_reorder_level]
