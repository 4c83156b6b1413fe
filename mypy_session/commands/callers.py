"""`mypy-session callers NAME...`: every call of a function or method and every write to an
attribute, resolved by type, not by text (`FinishedUnit.update_inventory` is not
`Recipe.update_inventory`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Final

from mypy.nodes import (
    ARG_NAMED,
    ARG_POS,
    AssignmentStmt,
    CallExpr,
    Decorator,
    DelStmt,
    Expression,
    FuncDef,
    ListExpr,
    MemberExpr,
    MypyFile,
    OperatorAssignmentStmt,
    OverloadedFuncDef,
    RefExpr,
    Statement,
    SymbolNode,
    TupleExpr,
    TypeInfo,
)
from mypy.types import Instance, Type, TypeType, UnionType, get_proper_type

from mypy_session.boundary import Boundary
from mypy_session.knowledge import Knowledge
from mypy_session.scopes import functions_in, own_expressions, walk_statements
from mypy_session.vocabulary import session_params_of

CALL: Final = "call"
WRITE: Final = "write"
ALLOWED: Final = "allowed"
VIOLATION: Final = "violation"


@dataclass(frozen=True, slots=True)
class Site:
    name: str  # the NAME asked for
    target: str  # what it resolved to: "bakery.models.FinishedUnit.update_inventory"
    kind: str  # CALL or WRITE
    path: str
    line: int
    column: int
    function: str  # the enclosing function's fullname, "<module>" at module level
    session_passed: str  # "yes", "no", "splat" (through *args / **kwargs), "n/a"
    boundary: str | None = None  # a guarded target: ALLOWED or VIOLATION (`service-boundary`)


class Collector:
    """The `visit` callback of the build: finds the sites in each checked source module."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.sites: list[Site] = []
        self.boundary: Boundary | None = None  # the `guarded` setting, where it has entries
        self.guarded = False

    def __call__(self, tree: MypyFile, types: dict[Expression, Type], knowledge: Knowledge) -> None:
        if knowledge.config.guarded and self.boundary is None:
            self.guarded = True
            self.boundary = Boundary(knowledge.config, functools.partial(_find_class, knowledge))
        finder = _Finder(self, tree, types, knowledge)
        finder.unit("<module>", tree.defs, into_functions=False)
        for prefix, node in functions_in(tree.defs):
            func = node.func if isinstance(node, Decorator) else node
            finder.unit(func.fullname or f"{tree.fullname}.{prefix}{func.name}", func.body.body)

    def match(self, candidates: set[str]) -> str | None:
        for name in self.names:
            for candidate in candidates:
                if candidate == name or candidate.endswith("." + name):
                    return name
        return None


class _Finder:
    def __init__(
        self,
        collector: Collector,
        tree: MypyFile,
        types: dict[Expression, Type],
        knowledge: Knowledge,
    ) -> None:
        self.collector = collector
        self.tree = tree
        self.types = types
        self.knowledge = knowledge
        self.function = "<module>"

    def unit(self, function: str, body: list[Statement], *, into_functions: bool = True) -> None:
        """A function's body (nested functions included), or the module's own statements."""
        self.function = function
        for stmt, _ in walk_statements(body, into_functions=into_functions):
            if isinstance(stmt, AssignmentStmt):
                for lvalue in stmt.lvalues:
                    for target in _flatten(lvalue):
                        self._write(target)
            elif isinstance(stmt, OperatorAssignmentStmt):
                self._write(stmt.lvalue)
            elif isinstance(stmt, DelStmt):
                for target in _flatten(stmt.expr):
                    self._write(target)
            for expr in own_expressions(stmt):
                if isinstance(expr, CallExpr):
                    self._call(expr)

    def _add(
        self, name: str, target: str, kind: str, node: Expression, passed: str, receiver: Expression | None
    ) -> None:
        verdict = None
        boundary = self.collector.boundary
        if boundary is not None and receiver is not None:
            # The same facts as the check: the guards on this name of the receiver's class.
            attr = target.rpartition(".")[2]
            guards = boundary.guards_of(self._receivers(receiver), attr, method=kind == CALL)
            if guards:
                module = self.tree.fullname
                verdict = ALLOWED if all(g.allows(module) for g in guards) else VIOLATION
        self.collector.sites.append(
            Site(name, target, kind, self.tree.path, node.line, node.column, self.function, passed, verdict)
        )

    # -- calls -----------------------------------------------------------------------------

    def _call(self, call: CallExpr) -> None:
        for target, node in self._resolve_callee(call.callee):
            name = self.collector.match({target} | self._also(call.callee, target))
            if name is not None:
                receiver = call.callee.expr if isinstance(call.callee, MemberExpr) else None
                self._add(name, target, CALL, call, self._passed(call, node), receiver)
                return

    def _resolve_callee(self, callee: Expression) -> list[tuple[str, SymbolNode | None]]:
        if isinstance(callee, MemberExpr):
            found = self._members(callee.expr, callee.name)
            if found:
                return found
        if isinstance(callee, RefExpr) and callee.fullname:
            return [(callee.fullname, callee.node)]
        return []

    def _also(self, callee: Expression, target: str) -> set[str]:
        """Asked by the receiver's class (an inherited method): `Sub.method` matches too."""
        if not isinstance(callee, MemberExpr):
            return set()
        return {f"{info.fullname}.{callee.name}" for info in self._receivers(callee.expr)}

    def _members(self, receiver: Expression, name: str) -> list[tuple[str, SymbolNode | None]]:
        found = []
        for info in self._receivers(receiver):
            for base in info.mro:
                sym = base.names.get(name)
                if sym is not None:
                    found.append((f"{base.fullname}.{name}", sym.node))
                    break
        return found

    def _receivers(self, expr: Expression) -> list[TypeInfo]:
        if isinstance(expr, RefExpr) and isinstance(expr.node, TypeInfo):
            return [expr.node]  # Class.method / Class.attr
        typ = get_proper_type(self.types.get(expr))
        items: list[Type] = list(typ.items) if isinstance(typ, UnionType) else [typ] if typ else []
        infos = []
        for each in items:
            item = get_proper_type(each)
            if isinstance(item, TypeType):
                item = item.item
            if isinstance(item, Instance):
                infos.append(item.type)
        return infos

    def _passed(self, call: CallExpr, node: SymbolNode | None) -> str:
        if isinstance(node, (FuncDef, Decorator, OverloadedFuncDef, TypeInfo)):
            params = session_params_of(node, self.knowledge.config)
        else:
            params = []
        if not params:
            return "n/a"
        positional = sum(1 for kind in call.arg_kinds if kind == ARG_POS)
        for name, _, position in params:
            if any(
                kind == ARG_NAMED and arg_name == name
                for kind, arg_name in zip(call.arg_kinds, call.arg_names)
            ):
                return "yes"
            if position < positional:
                return "yes"
        if any(kind.is_star() for kind in call.arg_kinds):
            return "splat"
        return "no"

    # -- writes ----------------------------------------------------------------------------

    def _write(self, target: Expression) -> None:
        if not isinstance(target, MemberExpr):
            return
        for resolved, _ in self._members(target.expr, target.name):
            name = self.collector.match({resolved} | self._also(target, resolved))
            if name is not None:
                self._add(name, resolved, WRITE, target, "n/a", target.expr)
                return


def _find_class(knowledge: Knowledge, fullname: str) -> TypeInfo | None:
    found = knowledge.module_of(fullname)
    if found is None:
        return None
    module, tree = found
    sym = tree.names.get(fullname[len(module) + 1 :])
    return sym.node if sym is not None and isinstance(sym.node, TypeInfo) else None


def _flatten(expr: Expression) -> list[Expression]:
    if isinstance(expr, (TupleExpr, ListExpr)):
        return [leaf for item in expr.items for leaf in _flatten(item)]
    return [expr]

