"""The service boundary: which accesses touch a guarded attribute or method, and from where.

The `guarded` setting names attributes and methods ("app.models.FinishedUnit.inventory_count")
that may change only in the modules it allows. This module owns the facts of
`service-boundary` (`checks/service_boundary.py` decides and reports):

- **which guard** an access touches, resolved by type: mypy names an attribute access by the
  class that declares the attribute (`var.info`), and a method call by the receiver's class,
  so a subclass, a narrowed `Optional`, an object reached through a relationship, an alias or
  a collection element all resolve to the guarded class; a same-named attribute of another
  class never does;
- **whether it writes**: mypy's attribute hook fires for reads and writes alike (and mypy
  1.11 does not say which), so an access is a write when its expression is the target of an
  assignment, an augmented assignment or a `del` in the body being checked (one walk per
  body, kept while the module is checked); `setattr` / `delattr` with a literal name, and the
  writes that go through SQL (`update(Model).values(...)`, `Query.update({...})`,
  `bulk_update_mappings(Model, [...])`) are read from their calls;
- **where it is**: the module being checked, allowed when it is one of the entries, under a
  package entry, or the module that defines the class.

Cost: mypy asks for an attribute hook on every attribute access it checks. The plugin's
`get_attribute_hook` is the bound `.get` of `Boundary.attribute_hooks`, a dict holding only
the guarded names: any other name is answered with no Python frame, and with nothing guarded
the plugin returns no hook at all. Method and function hooks go through the plugin's memo of
hooks by name; `wrap` looks at a name only when its last part is a guarded or SQL name.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Final, cast

from mypy.checker import TypeChecker
from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    ARG_STAR2,
    AssignmentStmt,
    CallExpr,
    Context,
    Decorator,
    DelStmt,
    DictExpr,
    Expression,
    FuncBase,
    GeneratorExpr,
    ListComprehension,
    ListExpr,
    MemberExpr,
    OperatorAssignmentStmt,
    RefExpr,
    StrExpr,
    SymbolTableNode,
    TupleExpr,
    TypeInfo,
)
from mypy.plugin import AttributeContext, FunctionContext, MethodContext
from mypy.types import (
    CallableType,
    Instance,
    TupleType,
    Type,
    TypeType,
    TypeVarType,
    UnionType,
    get_proper_type,
)

from mypy_session.compat import top_level_function
from mypy_session.config import SessionConfig
from mypy_session.scopes import walk_statements

if TYPE_CHECKING:
    from mypy.nodes import Statement

    from mypy_session.report import Reporter

Lookup = Callable[[str], "SymbolTableNode | None"]
FindClass = Callable[[str], "TypeInfo | None"]


def class_finder(lookup: Lookup) -> FindClass:
    """Classes by fullname, from mypy's `lookup_fully_qualified` (re-exports followed)."""

    def find(fullname: str) -> TypeInfo | None:
        sym = lookup(fullname)
        return sym.node if sym is not None and isinstance(sym.node, TypeInfo) else None

    return find

# gate.DEBUG_ENV, not imported from there: the gate loads the whole analysis.
_DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

# What an access does, as the message says it.
WRITE: Final = "Write to"
DELETE: Final = "Delete of"
CALL: Final = "Call of"
SQL_UPDATE: Final = "SQL UPDATE of"
BULK_UPDATE: Final = "Bulk update of"

_SETATTR: Final = {"builtins.setattr": WRITE, "builtins.delattr": DELETE}
# `update(Model)`, as the name resolves (the public re-exports lead to the first).
_UPDATE_CONSTRUCTORS: Final = frozenset(
    (
        "sqlalchemy.sql._dml_constructors.update",
        "sqlalchemy.sql.expression.update",
        "sqlalchemy.sql.dml.update",
        "sqlalchemy.update",
    )
)
# SQL writes, by method name: the classes whose method it is.
_UPDATE_STATEMENT: Final = "sqlalchemy.sql.dml.Update"
_QUERY: Final = "sqlalchemy.orm.query.Query"
_SESSIONS: Final = ("sqlalchemy.orm.session.Session", "sqlalchemy.orm.scoping.scoped_session")
_ASYNC_SESSIONS: Final = (
    "sqlalchemy.ext.asyncio.session.AsyncSession",
    "sqlalchemy.ext.asyncio.scoping.async_scoped_session",
)
_SQL_METHODS: Final = {
    "values": (_UPDATE_STATEMENT,),
    "update": (_QUERY,),
    "bulk_update_mappings": _SESSIONS,
    # ORM bulk UPDATE by primary key: session.execute(update(Model), [{...}, ...])
    "execute": _SESSIONS + _ASYNC_SESSIONS,
}


class Guard:
    """One entry of `guarded`, resolved once its class is known."""

    __slots__ = ("key", "attr", "allowed", "use", "display", "cls", "home", "method")

    def __init__(self, key: str, allowed: tuple[str, ...], use: str | None) -> None:
        owner, _, attr = key.rpartition(".")
        self.key = key
        self.attr = attr
        self.allowed = allowed
        self.use = use
        self.display = f"{owner.rpartition('.')[2]}.{attr}"  # "FinishedUnit.inventory_count"
        self.cls = owner  # the guarded class's fullname, once resolved (re-exports followed)
        self.home: frozenset[str] = frozenset((owner.rpartition(".")[0],))  # always allowed
        self.method = False  # a method (calls guarded), not an attribute (writes guarded)

    def allows(self, module: str) -> bool:
        """`module` may write it: the class's own module, an entry, or under a package entry."""
        if module in self.home:
            return True
        return any(module == entry or module.startswith(entry + ".") for entry in self.allowed)

    def shown_allowed(self) -> tuple[str, ...]:
        return self.allowed or tuple(sorted(self.home))


class BoundarySite:
    """An access to a guarded name: the fact the check decides on."""

    __slots__ = ("guard", "action", "module", "context", "allowed")

    def __init__(self, guard: Guard, action: str, module: str, context: Context) -> None:
        self.guard = guard
        self.action = action
        self.module = module
        self.context = context
        self.allowed = guard.allows(module)


AttributeHook = Callable[[AttributeContext], Type]
CallHook = Callable[[MethodContext | FunctionContext], Type]


class Boundary:
    """The guards of one run and the hooks that find the accesses to them."""

    def __init__(
        self,
        config: SessionConfig,
        find_class: FindClass,
        reporter: Callable[[], Reporter | None] = lambda: None,
    ) -> None:
        self._find_class = find_class
        self._reporter = reporter
        forget()  # a new build: the last build's bodies are not needed
        self.guards = [
            Guard(key, allowed, config.guarded_use.get(key))
            for key, allowed in sorted(config.guarded.items())
        ]
        # Guards by the fullname mypy gives the attribute's accesses (its declaring class).
        self._by_attribute: dict[str, list[Guard]] = {}
        # `get_attribute_hook`: only guarded names are in it (see the module docstring).
        self.attribute_hooks: dict[str, AttributeHook] = {}
        for guard in self.guards:
            self._add_attribute(guard.key, guard)
        self.pending = list(self.guards)  # not resolved yet: their class is not known yet
        self.names = frozenset(guard.attr for guard in self.guards) | _SQL_NAMES

    def _add_attribute(self, fullname: str, guard: Guard) -> None:
        guards = self._by_attribute.setdefault(fullname, [])
        if guard not in guards:
            guards.append(guard)
        if fullname not in self.attribute_hooks:
            self.attribute_hooks[fullname] = functools.partial(
                _on_attribute, boundary=self, fullname=fullname
            )

    def refresh(self) -> None:
        """Resolve the guards whose class can be found now: the class an entry names
        (through re-exports), the class that declares the attribute (a mixin, a base)."""
        if not self.pending:
            return
        try:
            self._resolve()
        except Exception:  # code the plugin cannot understand is skipped
            if os.environ.get(_DEBUG_ENV):
                raise

    def _resolve(self) -> None:
        still = []
        for guard in self.pending:
            info = self._find_class(guard.key.rpartition(".")[0])
            if info is None:
                still.append(guard)
                continue
            guard.cls = info.fullname
            home = {info.module_name}
            for base in info.mro:
                node = base.names.get(guard.attr)
                if node is not None:
                    home.add(base.module_name)
                    guard.method = isinstance(node.node, (FuncBase, Decorator))
                    self._add_attribute(f"{base.fullname}.{guard.attr}", guard)
                    break
            self._add_attribute(f"{info.fullname}.{guard.attr}", guard)
            guard.home = frozenset(home)
        self.pending = still

    def wrap(self, fullname: str, hook: CallHook | None) -> CallHook | None:
        """The function or method hook for `fullname`: `hook` (the session checks'), with
        the boundary's check first where the callee is guarded, `setattr`, or an SQL write."""
        if self.pending:
            # mypy 1.x has no end-of-module callback (`get_additional_indirect_deps`): a
            # guard on an inherited attribute or a re-exported class is resolved at the
            # first call mypy checks once its class is known.
            self.refresh()
        owner, _, name = fullname.rpartition(".")
        if name not in self.names and fullname not in _SETATTR:
            return hook
        try:
            work = self._call_work(fullname, owner, name)
        except Exception:
            if os.environ.get(_DEBUG_ENV):
                raise
            return hook
        if work is None:
            return hook
        return functools.partial(_on_call, boundary=self, work=work, then=hook)

    def _call_work(
        self, fullname: str, owner: str, name: str
    ) -> Callable[[MethodContext | FunctionContext], Iterator[tuple[Guard, str, Context]]] | None:
        action = _SETATTR.get(fullname)
        if action is not None:
            return functools.partial(self._setattr, action=action)
        self.refresh()
        info = self._find_class(owner) if owner else None
        if info is None:
            return None
        guards = [g for g in self.guards if g.method and g.attr == name and info.has_base(g.cls)]
        if guards:
            return functools.partial(_method_calls, guards=guards)
        classes = _SQL_METHODS.get(name)
        if classes is not None and any(info.has_base(cls) for cls in classes):
            return functools.partial(self._sql_write, name=name)
        return None

    # -- what a call touches -----------------------------------------------------------------

    def _setattr(
        self, ctx: MethodContext | FunctionContext, *, action: str
    ) -> Iterator[tuple[Guard, str, Context]]:
        if len(ctx.args) < 2 or not ctx.args[0] or not ctx.args[1]:
            return
        name = ctx.args[1][0]
        if not isinstance(name, StrExpr):
            return
        infos = receiver_infos(ctx.arg_types[0][0])
        for guard in self.guards_of(infos, name.value, method=False):
            yield guard, action, ctx.context

    def _sql_write(
        self, ctx: MethodContext | FunctionContext, *, name: str
    ) -> Iterator[tuple[Guard, str, Context]]:
        call = ctx.context
        if not isinstance(call, CallExpr):
            return
        checker = cast(TypeChecker, ctx.api)
        if name == "values":
            callee = call.callee
            model = _update_target(callee.expr, checker) if isinstance(callee, MemberExpr) else None
            keys = list(_keys(call.args, call.arg_kinds, call.arg_names))
            action = SQL_UPDATE
        elif name == "update":
            receiver = cast(MethodContext, ctx).type  # a ProperType already
            model = None
            if isinstance(receiver, Instance) and receiver.args:
                found = receiver_infos(receiver.args[0])
                model = found[0] if found else None
            keys = list(_keys(call.args[:1], call.arg_kinds[:1], call.arg_names[:1]))
            action = SQL_UPDATE
        elif name == "execute":  # execute(update(Model), [{...}, ...])
            if len(call.args) < 2 or call.arg_kinds[1] != ARG_POS:
                return
            model = _update_target(call.args[0], checker)
            keys = list(_mapping_keys(call.args[1]))
            action = BULK_UPDATE
        else:  # bulk_update_mappings(Model, [{...}, ...])
            if len(call.args) < 2:
                return
            model = _class_of(call.args[0], checker)
            keys = list(_mapping_keys(call.args[1]))
            action = BULK_UPDATE
        if model is None:
            return
        for key, where in keys:
            for guard in self.guards_of([model], key, method=False):
                yield guard, action, where  # at the column's name (or value), not the chain

    def guards_of(self, infos: Sequence[TypeInfo], attr: str, *, method: bool | None) -> list[Guard]:
        """The guards on `attr` of any of `infos` (or of one of their bases)."""
        self.refresh()
        return [
            guard
            for guard in self.guards
            if guard.attr == attr
            and (method is None or guard.method == method)
            and any(info.has_base(guard.cls) for info in infos)
        ]

    def site(self, guard: Guard, action: str, checker: TypeChecker, context: Context) -> BoundarySite:
        return BoundarySite(guard, action, checker.tree.fullname, context)

    def report(self, checker: TypeChecker, found: Iterator[tuple[Guard, str, Context]]) -> None:
        from mypy_session.checks.service_boundary import check_service_boundary

        reporter = self._reporter()
        if reporter is None:
            return
        report = functools.partial(reporter.fail, checker)
        for guard, action, context in found:
            check_service_boundary(self.site(guard, action, checker, context), report)


_SQL_NAMES: Final = frozenset(_SQL_METHODS)


def _method_calls(
    ctx: MethodContext | FunctionContext, *, guards: list[Guard]
) -> Iterator[tuple[Guard, str, Context]]:
    for guard in guards:
        yield guard, CALL, ctx.context


def _skipped(checker: TypeChecker) -> bool:
    """Library code (errors silenced by mypy) is not analysed."""
    errors = checker.errors
    return errors.file in errors.ignored_files


def _on_call(
    ctx: MethodContext | FunctionContext,
    *,
    boundary: Boundary,
    work: Callable[[MethodContext | FunctionContext], Iterator[tuple[Guard, str, Context]]],
    then: CallHook | None,
) -> Type:
    checker = cast(TypeChecker, ctx.api)
    if not _skipped(checker):
        try:
            boundary.report(checker, work(ctx))
        except Exception:
            if os.environ.get(_DEBUG_ENV):
                raise
    return then(ctx) if then is not None else ctx.default_return_type


def _on_attribute(ctx: AttributeContext, *, boundary: Boundary, fullname: str) -> Type:
    checker = cast(TypeChecker, ctx.api)
    if not _skipped(checker):
        try:
            action = written(checker, ctx.context)
            if action is not None:
                boundary.report(checker, _attribute_write(ctx, boundary, fullname, action))
        except Exception:
            if os.environ.get(_DEBUG_ENV):
                raise
    return ctx.default_attr_type


def _attribute_write(
    ctx: AttributeContext, boundary: Boundary, fullname: str, action: str
) -> Iterator[tuple[Guard, str, Context]]:
    boundary.refresh()
    infos = receiver_infos(ctx.type)
    for guard in boundary._by_attribute.get(fullname, ()):
        # A base declaring the attribute may be shared by unguarded classes: the receiver
        # must be the guarded class (or a subclass). An unknown receiver: the declaring one.
        if any(info.has_base(guard.cls) for info in infos) or (
            not infos and fullname == f"{guard.cls}.{guard.attr}"
        ):
            yield guard, action, ctx.context


# -- writes in a body --------------------------------------------------------------------

# The write targets of the body last asked about: (body, {id(MemberExpr): action}).
_bodies: dict[int, tuple[object, dict[int, str]]] = {}
_module: list[object] = [None]  # the tree they belong to: a new module starts afresh


def forget() -> None:
    _bodies.clear()
    _module[0] = None


def written(checker: TypeChecker, expr: Context) -> str | None:
    """WRITE or DELETE where `expr` is the target of an assignment, augmented assignment or
    `del` in the body being checked (its top-level function, or the module's statements);
    None for a read."""
    if checker.tree is not _module[0]:
        _bodies.clear()
        _module[0] = checker.tree
    function = top_level_function(checker.scope)
    body: object = function.body if function is not None else checker.tree.defs
    hit = _bodies.get(id(body))
    if hit is None or hit[0] is not body:
        statements = function.body.body if function is not None else checker.tree.defs
        hit = _bodies[id(body)] = (body, _write_targets(statements))
    return hit[1].get(id(expr))


def _write_targets(statements: Sequence[object]) -> dict[int, str]:
    targets: dict[int, str] = {}
    for stmt, _ in walk_statements(cast("Sequence[Statement]", statements), into_functions=True):
        if isinstance(stmt, AssignmentStmt):
            for lvalue in stmt.lvalues:
                for leaf in _flatten(lvalue):
                    if isinstance(leaf, MemberExpr):
                        targets[id(leaf)] = WRITE
        elif isinstance(stmt, OperatorAssignmentStmt):
            if isinstance(stmt.lvalue, MemberExpr):
                targets[id(stmt.lvalue)] = WRITE
        elif isinstance(stmt, DelStmt):
            for leaf in _flatten(stmt.expr):
                if isinstance(leaf, MemberExpr):
                    targets[id(leaf)] = DELETE
    return targets


def _flatten(expr: Expression) -> list[Expression]:
    if isinstance(expr, (TupleExpr, ListExpr)):
        return [leaf for item in expr.items for leaf in _flatten(item)]
    return [expr]


# -- types and expressions ---------------------------------------------------------------


def receiver_infos(typ: Type | None) -> list[TypeInfo]:
    """The classes an object of type `typ` may be an instance of (a union's items, a type
    variable's bound, a class object's class)."""
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):
        return [info for item in proper.items for info in receiver_infos(item)]
    if isinstance(proper, TypeVarType):
        return receiver_infos(proper.upper_bound)
    if isinstance(proper, TypeType):
        return receiver_infos(proper.item)
    if isinstance(proper, CallableType) and proper.is_type_obj():
        return [proper.type_object()]
    if isinstance(proper, TupleType):
        return [proper.partial_fallback.type]
    if isinstance(proper, Instance):
        return [proper.type]
    return []


def _class_of(expr: Expression, checker: TypeChecker) -> TypeInfo | None:
    """The mapped class a `Model` argument names."""
    if isinstance(expr, RefExpr) and isinstance(expr.node, TypeInfo):
        return expr.node
    lookup = getattr(checker, "lookup_type_or_none", None)
    typ: Type | None = lookup(expr) if lookup is not None else None
    proper = get_proper_type(typ)
    if isinstance(proper, TypeType) and isinstance(proper.item, Instance):
        return proper.item.type
    if isinstance(proper, CallableType) and proper.is_type_obj():
        return proper.type_object()
    return None


def _update_target(expr: Expression, checker: TypeChecker) -> TypeInfo | None:
    """The class of `update(Model).where(...)...`: down the chain of method calls to the
    `update()` that starts it."""
    while isinstance(expr, CallExpr):
        callee = expr.callee
        if isinstance(callee, RefExpr) and callee.fullname in _UPDATE_CONSTRUCTORS:
            return _class_of(expr.args[0], checker) if expr.args else None
        if not isinstance(callee, MemberExpr):
            return None
        expr = callee.expr
    return None


def _keys(
    args: Sequence[Expression], kinds: Sequence[object], names: Sequence[str | None]
) -> Iterator[tuple[str, Context]]:
    """Column names an UPDATE sets, each with where it is written: keyword arguments (at
    the value), keys of a dict literal (strings or `Model.column`), keys of `**{...}`."""
    for arg, kind, name in zip(args, kinds, names):
        if kind == ARG_NAMED and name is not None:
            yield name, arg
        elif kind in (ARG_POS, ARG_STAR2) and isinstance(arg, DictExpr):
            yield from _dict_keys(arg)


def _dict_keys(expr: DictExpr) -> Iterator[tuple[str, Context]]:
    for key, _ in expr.items:
        if isinstance(key, StrExpr):
            yield key.value, key
        elif isinstance(key, MemberExpr):
            yield key.name, key


def _mapping_keys(expr: Expression) -> Iterator[tuple[str, Context]]:
    """Keys of the mappings of `bulk_update_mappings`: a list or tuple of dict literals or
    `dict(...)` calls, or a comprehension that makes them."""
    items: list[Expression]
    if isinstance(expr, (ListExpr, TupleExpr)):
        items = list(expr.items)
    elif isinstance(expr, ListComprehension):
        items = [expr.generator.left_expr]
    elif isinstance(expr, GeneratorExpr):
        items = [expr.left_expr]
    else:
        items = [expr]
    for item in items:
        if isinstance(item, DictExpr):
            yield from _dict_keys(item)
        elif isinstance(item, CallExpr) and isinstance(item.callee, RefExpr):
            if item.callee.fullname == "builtins.dict":
                yield from _keys(item.args, item.arg_kinds, item.arg_names)

__all__ = ["Boundary", "BoundarySite", "Guard", "forget", "receiver_infos", "written"]
