"""Legacy declarative models: instance access to a `relationship(...)` attribute.

On a model written in the 1.x style (`children = relationship("Child")`, no `Mapped[...]`
annotation) SQLAlchemy 2.0 and 2.1 both type `parent.children` as `Any`: `relationship()`
returns `_RelationshipDeclared[Any]` whatever its target. Objects reached through it are
then not ORM objects to the checks (detached-use, detached-return), to `callers` or to the
audit. This module owns one instance-attribute hook (`get_attribute_hook`) that gives such
an attribute the mapped class: `list[Child]` for a collection, `Parent` or
`Parent | None` for a scalar (docs/legacy-models.md has the rules).

The facts come from the class body: the `relationship(...)` call's arguments and the
class's `ForeignKey` columns. mypy keeps class bodies only for modules it analyses in this
run, so when it writes a module's cache (`report_config_data`, `is_check=False`) the facts
of its mapped classes are stored in `TypeInfo.metadata`, which mypy serializes: a module
loaded from the cache (warm runs) answers from there.

Only an attribute whose declared type is SQLAlchemy's `RelationshipProperty[Any]` (an
inferred, unannotated `relationship(...)`), on a mapped class, read (not assigned), and
only where mypy's type is `Any`, is changed. Everything else keeps mypy's type; a target
that cannot be resolved to exactly one mapped class too. Turned off by the
`legacy_model_typing` setting, with `legacy_models`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Final, cast

from mypy.nodes import (
    CLASSDEF_NO_INFO,
    AssignmentStmt,
    Block,
    CallExpr,
    ClassDef,
    Expression,
    IfStmt,
    LambdaExpr,
    ListExpr,
    MemberExpr,
    MypyFile,
    NameExpr,
    RefExpr,
    ReturnStmt,
    SetExpr,
    Statement,
    StrExpr,
    SymbolTableNode,
    TupleExpr,
    TypeInfo,
    Var,
)
from mypy.plugin import AttributeContext
from mypy.typevars import fill_typevars_with_any
from mypy.types import AnyType, Instance, NoneType, Type, UnionType, get_proper_type

from mypy_session.compat import is_lvalue
from mypy_session.vocabulary import is_mapped_class

_RELATIONSHIP: Final = "sqlalchemy.orm.relationships.RelationshipProperty"
# The key of this plugin's facts in `TypeInfo.metadata` (serialized by mypy).
METADATA_KEY: Final = "mypy_session"
# gate.DEBUG_ENV, not imported from there: the gate loads the whole analysis.
_DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

# Shapes of a relationship, decided from its own arguments where they say it.
LIST: Final = "list"
SET: Final = "set"
OPTIONAL: Final = "optional"  # `X | None`: uselist=False, remote_side, nullable foreign_keys
ONE: Final = "one"  # `X`: foreign_keys all local and NOT NULL
BY_FOREIGN_KEY: Final = "fk"  # many-to-one when the class has a ForeignKey to the target
# uselist=False: `X` over a NOT NULL ForeignKey to the target in the class, else `X | None`
SCALAR_BY_FOREIGN_KEY: Final = "fk1"

# lazy= strategies whose attribute is not the collection itself but a query or a writer:
# the types SQLAlchemy gives `DynamicMapped[X]` / `WriteOnlyMapped[X]` on instance access.
_LOADERS: Final = {
    "dynamic": "sqlalchemy.orm.dynamic.AppenderQuery",
    "write_only": "sqlalchemy.orm.writeonly.WriteOnlyCollection",
}
_COLLECTIONS: Final = {"list": LIST, "set": SET}

Lookup = Callable[[str], "SymbolTableNode | None"]
Modules = Callable[[], "Mapping[str, MypyFile] | None"]
AttributeHook = Callable[[AttributeContext], Type]
# JSON-able facts of one class: {"table": str | None, "fks": [[target, nullable]...],
# "rels": {name: [target, shape]}}; a target is "c:<class fullname>" or "s:<string>",
# a ForeignKey's "t:<table>" or "c:<class fullname>".
Facts = dict[str, object]


class RelationshipAccess(dict[str, "AttributeHook | None"]):
    """`get_attribute_hook`: hooks by "module.Model.attr", each name decided once outside
    the daemon (a fullname's node does not change within one mypy run)."""

    def __init__(self, lookup: Lookup, modules: Modules, *, memo: bool) -> None:
        super().__init__()
        self._memo = memo
        self.registry = Registry(lookup, modules, memo=memo)

    def __missing__(self, fullname: str) -> AttributeHook | None:
        try:
            hook, final = self.registry.hook_for(fullname)
        except Exception:  # code the plugin cannot understand is skipped (gate.guarded)
            if os.environ.get(_DEBUG_ENV):
                raise
            return None
        if final and self._memo:
            self[fullname] = hook
        return hook

    def store(self, module_id: str) -> None:
        """mypy is about to write a module's cache: the facts of its mapped classes go
        into their `metadata`, for runs that load the module from the cache."""
        try:
            self.registry.store(module_id)
        except Exception:
            if os.environ.get(_DEBUG_ENV):
                raise


class Registry:
    """Mapped classes by name, and the relationship facts of each (from its body or from
    the cache), as SQLAlchemy's class registry resolves `relationship("Name")`."""

    def __init__(self, lookup: Lookup, modules: Modules, *, memo: bool) -> None:
        self._lookup = lookup
        self._modules = modules
        self.memo = memo
        self._named: dict[str, tuple[TypeInfo, ...]] = {}
        self._mapped: dict[str, TypeInfo | None] = {}
        self._facts: dict[str, Facts] = {}

    def hook_for(self, fullname: str) -> tuple[AttributeHook | None, bool]:
        """The hook for `obj.attr` when `fullname` ("module.Model.attr") names an
        unannotated `relationship(...)` of a mapped class; and whether that is final."""
        owner, _, name = fullname.rpartition(".")
        if not owner or name.startswith("__"):
            return None, True
        info = self.mapped_class(owner)
        if info is None:
            return None, True
        attr = info.names.get(name)
        if attr is None or not isinstance(attr.node, Var):
            return None, True
        var = attr.node
        if var.type is None:
            return None, False  # not inferred yet: ask again
        declared = get_proper_type(var.type)
        if (
            not var.is_inferred
            or not isinstance(declared, Instance)
            or not _is_untyped_relationship(declared)
        ):
            return None, True
        if name not in _relationships_of(self.facts(info)):
            return None, True
        # The target is resolved at the access, not here: a class named by a string may
        # be in a module mypy has not analysed yet when the hook is asked for.
        return _RelationshipType(self, info, name), True

    def mapped_class(self, fullname: str) -> TypeInfo | None:
        """The class `fullname` names if it is mapped, else None; decided once per class
        (most attributes mypy asks about belong to classes that are not)."""
        if fullname in self._mapped:
            return self._mapped[fullname]
        sym = self._lookup(fullname)
        node = sym.node if sym is not None else None
        info = node if isinstance(node, TypeInfo) and is_mapped_class(node) else None
        if self.memo:
            self._mapped[fullname] = info
        return info

    def attribute_type(self, info: TypeInfo, name: str) -> Type | None:
        """What `obj.name` holds: `list[X]`, `set[X]`, `X` or `X | None`; None where the
        target or the shape is not known."""
        facts = self.facts(info)
        rel = _relationships_of(facts).get(name)
        if not isinstance(rel, list) or len(rel) != 2:
            return None
        target_ref, shape = rel
        target = self.resolve(str(target_ref), info)
        if target is None:
            return None
        item = fill_typevars_with_any(target)
        if not isinstance(item, Instance):
            return None
        if shape in (LIST, SET):
            return _generic(f"builtins.{shape}", item, self._lookup)
        if shape in _LOADERS:
            return _generic(_LOADERS[shape], item, self._lookup)
        if shape == OPTIONAL:
            return UnionType.make_union([item, NoneType()])
        if shape == ONE:
            return item
        if shape in (BY_FOREIGN_KEY, SCALAR_BY_FOREIGN_KEY):
            nullable = self._foreign_key_to(facts, target, self_referential=target is info)
            if nullable is None and shape == BY_FOREIGN_KEY:
                if target is not info and self._foreign_key_to(
                    self.facts(target), info, self_referential=False
                ) is None:
                    # Neither side has a foreign key the plugin can read (declared some
                    # other way): the direction is not known, mypy's type is kept.
                    return None
                return _generic("builtins.list", item, self._lookup)
            return item if nullable is False else UnionType.make_union([item, NoneType()])
        return None

    def _foreign_key_to(self, facts: Facts, target: TypeInfo, *, self_referential: bool) -> bool | None:
        """Whether a ForeignKey column of the class refers to `target`'s table (then the
        relationship is many-to-one): None if none does, else whether that column may be
        NULL. A self-referential relationship without `remote_side` is one-to-many, as in
        SQLAlchemy."""
        if self_referential:
            return None
        tables = {f"c:{target.fullname}"}
        table = self.facts(target).get("table")
        if isinstance(table, str):
            tables.add(f"t:{table}")
        else:  # Flask-SQLAlchemy names the table after the class
            tables.add(f"t:{_snake_case(target.name)}")
        found: bool | None = None
        fks = facts.get("fks")
        for fk in fks if isinstance(fks, list) else ():
            if isinstance(fk, list) and len(fk) == 2 and fk[0] in tables:
                found = bool(fk[1]) or bool(found)
        return found

    def resolve(self, ref: str, owner: TypeInfo) -> TypeInfo | None:
        """The mapped class a relationship names: "c:<fullname>" for a class written as
        such; "s:<string>" as SQLAlchemy's registry resolves it: the owner's module first,
        then the one mapped class of that name (or dotted path) in the program."""
        kind, _, text = ref.partition(":")
        if kind == "c":
            sym = self._lookup(text)
            node = sym.node if sym is not None else None
            return node if isinstance(node, TypeInfo) and is_mapped_class(node) else None
        text = text.strip()
        if not text or not all(part.isidentifier() for part in text.split(".")):
            return None
        if "." in text:
            sym = self._lookup(text)
            if sym is not None and isinstance(sym.node, TypeInfo) and is_mapped_class(sym.node):
                return sym.node
            name = text.rpartition(".")[2]
            found = [c for c in self.named(name) if f".{c.fullname}".endswith(f".{text}")]
        else:
            sym = self._lookup(f"{owner.module_name}.{text}")
            if sym is not None and isinstance(sym.node, TypeInfo) and is_mapped_class(sym.node):
                return sym.node
            found = list(self.named(text))
        return found[0] if len(found) == 1 else None

    def named(self, name: str) -> tuple[TypeInfo, ...]:
        """The mapped classes called `name` defined at the top of any module of the
        program (one dict look-up per module)."""
        hit = self._named.get(name)
        if hit is not None:
            return hit
        modules = self._modules() or {}
        found = []
        for module_id, file in modules.items():
            sym = file.names.get(name)
            node = sym.node if sym is not None else None
            if (
                isinstance(node, TypeInfo)
                and node.fullname == f"{module_id}.{name}"
                and is_mapped_class(node)
            ):
                found.append(node)
        result = tuple(found)
        if self.memo and result:  # none yet may mean: in a module not analysed yet
            self._named[name] = result
        return result

    def facts(self, info: TypeInfo) -> Facts:
        """The class's facts: from its body when mypy analysed it in this run, else from
        the metadata stored with the cache."""
        hit = self._facts.get(info.fullname) if self.memo else None
        if hit is not None:
            return hit
        if info.defn.defs.body:
            facts = class_facts(info.defn)
        else:
            stored = info.metadata.get(METADATA_KEY)
            facts = dict(stored) if stored else {}
        if self.memo:
            self._facts[info.fullname] = facts
        return facts

    def store(self, module_id: str) -> None:
        modules = self._modules()
        file = modules.get(module_id) if modules else None
        # Stubs (typeshed's among them) declare no relationship(...) values, and
        # SQLAlchemy's own classes are not models: most modules of a run are one or other.
        if file is None or file.is_stub or module_id.partition(".")[0] == "sqlalchemy":
            return
        for cdef in _class_defs(file.defs):
            info = cdef.info
            if info is CLASSDEF_NO_INFO:  # not analysed (an unreachable branch)
                continue
            # Mapped first: cheaper than a scan of the body, and false for nearly every
            # class of the libraries and the standard library.
            if not is_mapped_class(info):
                continue
            facts = self._facts.get(info.fullname) or class_facts(cdef)
            if facts:
                info.metadata[METADATA_KEY] = facts


def _generic(fullname: str, item: Instance, lookup: Lookup) -> Instance | None:
    sym = lookup(fullname)
    if sym is None or not isinstance(sym.node, TypeInfo):
        return None
    return Instance(sym.node, [item])


def _untyped(typ: Type) -> bool:
    """What mypy gives instance access to an unannotated relationship: `Any` (through
    SQLAlchemy's `__get__`), or `RelationshipProperty[Any]` itself where the declaration
    returns that type (Flask-SQLAlchemy's `db.relationship`)."""
    proper = get_proper_type(typ)
    if isinstance(proper, AnyType):
        return True
    return isinstance(proper, Instance) and _is_untyped_relationship(proper)


def _is_untyped_relationship(typ: Instance) -> bool:
    return (
        typ.type.has_base(_RELATIONSHIP)
        and bool(typ.args)
        and isinstance(get_proper_type(typ.args[0]), AnyType)
    )


def _relationships_of(facts: Facts) -> dict[str, object]:
    rels = facts.get("rels")
    return rels if isinstance(rels, dict) else {}


class _RelationshipType:
    """Gives instance access the mapped class where mypy made it `Any`; the type is
    worked out at the first access that can resolve the target, then kept."""

    __slots__ = ("registry", "info", "name", "typ")

    def __init__(self, registry: Registry, info: TypeInfo, name: str) -> None:
        self.registry = registry
        self.info = info
        self.name = name
        self.typ: Type | None = None

    def __call__(self, ctx: AttributeContext) -> Type:
        if is_lvalue(ctx) or not _untyped(ctx.default_attr_type):
            return ctx.default_attr_type
        typ = self.typ
        if typ is None:
            try:
                typ = self.registry.attribute_type(self.info, self.name)
            except Exception:  # code the plugin cannot understand is skipped
                if os.environ.get(_DEBUG_ENV):
                    raise
                typ = None
            if typ is None:
                return ctx.default_attr_type
            if self.registry.memo:
                self.typ = typ
        return typ


# -- reading a class body ------------------------------------------------------------------


def class_facts(cdef: ClassDef) -> Facts:
    """The table name, the ForeignKey columns and the relationships of a class body."""
    table: str | None = None
    fks: list[list[object]] = []
    rels: dict[str, list[str]] = {}
    local: dict[str, bool] = {}  # column name: may be NULL
    for stmt in _statements(cdef.defs.body):
        if not isinstance(stmt, AssignmentStmt) or len(stmt.lvalues) != 1:
            continue
        lvalue = stmt.lvalues[0]
        if not isinstance(lvalue, NameExpr):
            continue
        value = stmt.rvalue
        if lvalue.name == "__tablename__" and isinstance(value, StrExpr):
            table = value.value
        elif isinstance(value, CallExpr) and _called(value) in ("Column", "mapped_column"):
            local[lvalue.name] = _nullable(value)
            fks.extend(_foreign_keys(value))
    for stmt in _statements(cdef.defs.body):
        if (
            isinstance(stmt, AssignmentStmt)
            and len(stmt.lvalues) == 1
            and isinstance(stmt.lvalues[0], NameExpr)
            and stmt.lvalues[0].name == "__table_args__"
            and isinstance(stmt.rvalue, (TupleExpr, ListExpr))
        ):
            fks.extend(_constraint_foreign_keys(stmt.rvalue.items, local))
    for stmt in _statements(cdef.defs.body):
        if (
            isinstance(stmt, AssignmentStmt)
            and len(stmt.lvalues) == 1
            and isinstance(stmt.lvalues[0], NameExpr)
            and stmt.type is None
            and isinstance(stmt.rvalue, CallExpr)
            and _called(stmt.rvalue) == "relationship"
        ):
            rel = _relationship(stmt.rvalue, cdef, local)
            if rel is not None:
                rels[stmt.lvalues[0].name] = rel
    facts: Facts = {}
    if table is not None:
        facts["table"] = table
    if fks:
        facts["fks"] = fks
    if rels:
        facts["rels"] = rels
    return facts


def _statements(body: list[Statement]) -> Iterator[Statement]:
    for stmt in body:
        if isinstance(stmt, IfStmt):  # `if TYPE_CHECKING:` / version branches
            for block in (*stmt.body, stmt.else_body):
                if block is not None:
                    yield from _statements(block.body)
        else:
            yield stmt


def _class_defs(body: list[Statement], found: list[ClassDef] | None = None) -> list[ClassDef]:
    """The classes at the top of a module (also under a top-level `if`); not the classes
    nested in a class body, which would mean a walk of every method of every class."""
    if found is None:
        found = []
    for stmt in body:  # by exact type: neither class has a subclass (see `scopes`)
        kind = type(stmt)
        if kind is ClassDef:
            found.append(cast(ClassDef, stmt))
        elif kind is IfStmt:
            stmt = cast(IfStmt, stmt)
            for block in (*stmt.body, stmt.else_body):
                if isinstance(block, Block):
                    _class_defs(block.body, found)
    return found


def _called(call: CallExpr) -> str | None:
    """`Column` for `Column(...)`, `sa.Column(...)`, `db.Column(...)`."""
    callee = call.callee
    if isinstance(callee, (NameExpr, MemberExpr)):
        return callee.name
    return None


def _argument(call: CallExpr, name: str, position: int | None = None) -> Expression | None:
    for index, (arg, arg_name) in enumerate(zip(call.args, call.arg_names)):
        if arg_name == name or (arg_name is None and index == position):
            return arg
    return None


def _literal_bool(expr: Expression | None) -> bool | None:
    if isinstance(expr, NameExpr) and expr.fullname in ("builtins.True", "builtins.False"):
        return expr.fullname == "builtins.True"
    return None


def _foreign_keys(column: CallExpr) -> Iterator[list[object]]:
    """[target, nullable] of each `ForeignKey(...)` among a column's arguments."""
    nullable = _nullable(column)
    for arg in column.args:
        if isinstance(arg, CallExpr) and _called(arg) == "ForeignKey" and arg.args:
            target = _foreign_key_target(arg.args[0])
            if target is not None:
                yield [target, nullable]


def _constraint_foreign_keys(
    items: list[Expression], local: dict[str, bool]
) -> Iterator[list[object]]:
    """[target, nullable] of each `ForeignKeyConstraint([cols], ["table.col", ...])` in
    `__table_args__` (a composite foreign key): nullable when one of its columns may be."""
    for item in items:
        if not (isinstance(item, CallExpr) and _called(item) == "ForeignKeyConstraint"):
            continue
        columns = _argument(item, "columns", 0)
        refs = _argument(item, "refcolumns", 1)
        if not isinstance(refs, (ListExpr, TupleExpr)) or not refs.items:
            continue
        target = _foreign_key_target(refs.items[0])
        if target is None:
            continue
        names = [
            col.value if isinstance(col, StrExpr) else col.name
            for col in (columns.items if isinstance(columns, (ListExpr, TupleExpr)) else [])
            if isinstance(col, (StrExpr, NameExpr))
        ]
        yield [target, any(local.get(name, True) for name in names) if names else True]


def _nullable(column: CallExpr) -> bool:
    """May the column be NULL: `nullable=False` or `primary_key=True` say no."""
    nullable = _literal_bool(_argument(column, "nullable"))
    if nullable is None:
        nullable = _literal_bool(_argument(column, "primary_key")) is not True
    return nullable


def _foreign_key_target(expr: Expression) -> str | None:
    """"t:<table>" for `ForeignKey("table.id")` (or "schema.table.id"), "c:<fullname>" for
    `ForeignKey(Model.id)`."""
    if isinstance(expr, StrExpr):
        parts = expr.value.split(".")
        return f"t:{parts[-2]}" if len(parts) >= 2 else None
    if isinstance(expr, MemberExpr) and isinstance(expr.expr, RefExpr):
        node = expr.expr.node
        if isinstance(node, TypeInfo):
            return f"c:{node.fullname}"
    return None


def _relationship(call: CallExpr, cdef: ClassDef, local: dict[str, bool]) -> list[str] | None:
    """[target, shape] of a `relationship(...)` call, None where either is not known."""
    target = _target(_argument(call, "argument", 0))
    if target is None:
        return None
    lazy = _argument(call, "lazy")
    if isinstance(lazy, StrExpr) and lazy.value in _LOADERS:
        return [target, lazy.value]
    uselist = _argument(call, "uselist")
    use = _literal_bool(uselist)
    if uselist is not None and use is None:
        return None  # computed: not known here
    if use is not False:
        collection = _argument(call, "collection_class")
        shape = LIST
        if collection is not None:
            known = _COLLECTIONS.get(collection.name) if isinstance(collection, NameExpr) else None
            if known is None:
                return None  # a dict or a custom collection
            shape = known
        if use is True or collection is not None or _argument(call, "secondary") is not None:
            return [target, shape]
    # A scalar (uselist=False), or many-to-one / one-to-many still to tell.
    if _argument(call, "remote_side") is not None:
        return [target, OPTIONAL]
    foreign = _argument(call, "foreign_keys")
    if foreign is not None:
        names = _names_in(foreign, cdef.name)
        if names is None:
            return None
        if names and names <= local.keys():
            return [target, OPTIONAL if any(local[n] for n in names) else ONE]
        return [target, OPTIONAL if use is False else LIST]
    return [target, SCALAR_BY_FOREIGN_KEY if use is False else BY_FOREIGN_KEY]


def _target(expr: Expression | None) -> str | None:
    if isinstance(expr, LambdaExpr):
        body = expr.body.body
        expr = body[0].expr if len(body) == 1 and isinstance(body[0], ReturnStmt) else None
    if isinstance(expr, StrExpr):
        return f"s:{expr.value}"
    if isinstance(expr, RefExpr) and isinstance(expr.node, TypeInfo):
        return f"c:{expr.node.fullname}"
    return None


def _names_in(expr: Expression, class_name: str) -> set[str] | None:
    """Column names in a `foreign_keys=` value: `[parent_id]`, `"parent_id"`,
    `"[Child.parent_id]"`; a column of another class gives a name not in the class."""
    items: list[Expression] = (
        list(expr.items) if isinstance(expr, (ListExpr, TupleExpr, SetExpr)) else [expr]
    )
    names: set[str] = set()
    for item in items:
        if isinstance(item, NameExpr):
            names.add(item.name)
        elif isinstance(item, MemberExpr) and isinstance(item.expr, NameExpr):
            names.add(item.name if item.expr.name == class_name else f"{item.expr.name}.{item.name}")
        elif isinstance(item, StrExpr):
            for word in re.findall(r"[\w.]+", item.value):
                owner, _, column = word.rpartition(".")
                names.add(column if owner in ("", class_name) else word)
        else:
            return None
    return names


def _snake_case(name: str) -> str:
    """Flask-SQLAlchemy's default table name for a model class."""
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower()


__all__ = ["METADATA_KEY", "RelationshipAccess", "class_facts"]
