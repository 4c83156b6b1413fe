"""Legacy declarative models under SQLAlchemy 2.1: class access to a `Column` attribute.

SQLAlchemy 2.1 types `Column.__get__` (inherited from `Named`) with an overload that makes
class-level access `Never`: for a mapped class written in the 1.x style
(`class Item(Base): count = Column(Integer)`), `Item.count` is `Never`, so
`Item.count.in_(ids)` is a call of `Never` and mypy treats the rest of the function as
unreachable, where no hook runs and no check sees anything. SQLAlchemy 2.0 has no such
overload and gives the declared type (`Column[int]`).

This module owns one class-attribute hook (`get_class_attribute_hook`) that gives that
access the attribute's declared `Column` type back. It is returned only for a name whose
symbol, read from the class's symbol table, is a `Column` attribute of a mapped class (a
declarative base, `__tablename__` / `__table__` / `__mapper__`, not a `TypedColumns`), and
the hook changes the type only where mypy made it `Never`: under SQLAlchemy 2.0, for
instance access, for `Mapped[]` attributes and for non-mapped classes nothing changes.
Turned off by the `legacy_model_typing` setting (docs/legacy-models.md).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from mypy.nodes import SymbolTableNode, TypeInfo, Var
from mypy.plugin import AttributeContext
from mypy.types import Instance, Type, UninhabitedType, get_proper_type, has_type_vars

from mypy_session.compat import is_lvalue
from mypy_session.vocabulary import is_mapped_class

# `Column` and its subclasses; `Named` alone (TypedColumns' annotations) is left alone.
_COLUMN: Final = "sqlalchemy.sql.schema.Column"
# Column collections that SQLAlchemy 2.1 wants accessed through `table.c`: the `Never` of
# class access is meant there.
_TYPED_COLUMNS: Final = "sqlalchemy.sql._annotated_cols.TypedColumns"

# gate.DEBUG_ENV, not imported from there: the gate loads the whole analysis.
_DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

Lookup = Callable[[str], "SymbolTableNode | None"]
ClassAttributeHook = Callable[[AttributeContext], Type]


class ColumnAccess(dict[str, "ClassAttributeHook | None"]):
    """`get_class_attribute_hook`: hooks by "module.Model.attr", each name decided once.

    A fullname's node does not change within one mypy run; dmypy re-analyses modules in
    place, so there (`memo=False`) every name is decided again. An attribute whose type is
    not inferred yet (its class body not checked yet) is not remembered either."""

    def __init__(self, lookup: Lookup, *, memo: bool) -> None:
        super().__init__()
        self._lookup = lookup
        self._memo = memo

    def __missing__(self, fullname: str) -> ClassAttributeHook | None:
        try:
            hook, final = column_access_hook(fullname, self._lookup)
        except Exception:  # code the plugin cannot understand is skipped (gate.guarded)
            if os.environ.get(_DEBUG_ENV):
                raise
            return None
        if final and self._memo:
            self[fullname] = hook
        return hook


def column_access_hook(fullname: str, lookup: Lookup) -> tuple[ClassAttributeHook | None, bool]:
    """The hook for `Model.attr` when `fullname` ("module.Model.attr") names a `Column`
    attribute of a mapped class, None for every other name, decided from the class's
    symbol table; and whether that answer is final (the attribute's type is known)."""
    owner, _, name = fullname.rpartition(".")
    if not owner or name.startswith("__"):
        return None, True
    sym = lookup(owner)
    info = sym.node if sym is not None else None
    if not isinstance(info, TypeInfo):
        return None, True
    attr = info.get(name)
    if attr is None or not isinstance(attr.node, Var) or attr.node.is_classvar:
        return None, True
    if attr.node.type is None:
        return None, False
    declared = get_proper_type(attr.node.type)
    if not isinstance(declared, Instance) or not declared.type.has_base(_COLUMN):
        return None, True
    if has_type_vars(declared) or not _is_mapped(info):
        return None, True
    return _ColumnType(declared), True


def _is_mapped(info: TypeInfo) -> bool:
    """An ORM-mapped class: a declarative base in its MRO, or a class of it with a table
    (`vocabulary.is_mapped_class`), except SQLAlchemy 2.1's `TypedColumns`."""
    if any(base.fullname == _TYPED_COLUMNS for base in info.mro):
        return False
    return is_mapped_class(info)


class _ColumnType:
    """Gives class access the declared `Column[...]` type where mypy made it `Never`."""

    __slots__ = ("declared",)

    def __init__(self, declared: Instance) -> None:
        self.declared = declared

    def __call__(self, ctx: AttributeContext) -> Type:
        if is_lvalue(ctx) or not isinstance(get_proper_type(ctx.default_attr_type), UninhabitedType):
            return ctx.default_attr_type
        return self.declared


__all__ = ["ColumnAccess", "column_access_hook"]
