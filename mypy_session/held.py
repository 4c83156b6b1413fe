"""Which session is held at a point of a function body (SPEC section 2, "Held session").

Innermost first: the target of an enclosing `with` over a scope opener or a session-typed
value; a local bound from a scope opener or a session-typed call; a session parameter that
flow narrowing does not make `None` here (asked of mypy's own binder); `self.<attr>` of a
session type; and, in a nested function or lambda without a session parameter of its own,
what the enclosing function holds where the nested one is defined.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import (
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    CallExpr,
    Expression,
    FuncDef,
    FuncItem,
    MemberExpr,
    MypyFile,
    NameExpr,
    Node,
    TypeInfo,
    Var,
)
from mypy.types import Type

from mypy_session.config import SessionConfig
from mypy_session.scopes import DefPoint, WithItem, position, scopes_of
from mypy_session.vocabulary import is_any, is_none, is_scope_opener_call, session_kind

WITH: Final = "with"
LOCAL: Final = "local"
PARAMETER: Final = "parameter"
ATTRIBUTE: Final = "attribute"


@dataclass(frozen=True, slots=True)
class HeldSession:
    """The session a call site holds, as the user would write it."""

    text: str  # "session", "sess", "self.session"
    kind: str  # WITH, LOCAL, PARAMETER or ATTRIBUTE
    enclosing: bool = False  # held by an enclosing function (closure or lambda)


def held_at_call(api: TypeChecker, call: CallExpr, config: SessionConfig) -> HeldSession | None:
    """The innermost session held where `call` is being checked."""
    stack = api.scope.stack
    func = api.scope.current_function()
    container: FuncItem | MypyFile = func if func is not None else _module(stack)
    found = scopes_of(container).calls.get(id(call))
    if found is None:
        here = _Point((), position(call), frozenset(), binder=api)
    else:
        # mypy's binder does not narrow `if not session:` (an instance may be falsy),
        # so the syntactic narrowing of the walk is consulted too.
        here = _Point(found.scopes, found.position, found.known_none, binder=api)
    return _held_in(container, here, stack, config)


@dataclass(frozen=True, slots=True)
class _Point:
    scopes: tuple[WithItem, ...]
    position: tuple[int, int]
    known_none: frozenset[str]  # syntactic narrowing, used where the binder is not live
    binder: TypeChecker | None  # live narrowing, at the call being checked only


def _held_in(
    container: FuncItem | MypyFile,
    point: _Point,
    stack: list[TypeInfo | FuncItem | MypyFile],
    config: SessionConfig,
) -> HeldSession | None:
    enclosing = False
    while True:
        held = _held_here(container, point, config)
        if held is not None:
            return HeldSession(held.text, held.kind, enclosing) if enclosing else held
        if not isinstance(container, FuncItem) or _own_session_params(container, config):
            return None
        outer = _enclosing_function(container, stack)
        if outer is None:
            return None
        definition: DefPoint | None = scopes_of(outer).defs.get(id(container))
        if definition is None:
            return None
        container = outer
        point = _Point(definition.scopes, definition.position, definition.known_none, None)
        enclosing = True


def _held_here(
    container: FuncItem | MypyFile, point: _Point, config: SessionConfig
) -> HeldSession | None:
    for item in point.scopes:
        if _holds_with(item, point, config):
            return HeldSession(_text(item.target), WITH)
    for binding in reversed(scopes_of(container).locals):
        if binding.end < point.position and (
            is_scope_opener_call(binding.rvalue, config)
            or session_kind(_type_at(binding.name, point), config) is not None
        ):
            return HeldSession(binding.name.name, LOCAL)
    if not isinstance(container, FuncItem):
        return None
    for name, var in _own_session_params(container, config):
        if name in point.known_none:
            continue
        probe = NameExpr(name)
        probe.node = var
        if point.binder is not None and is_none(_type_at(probe, point)):
            continue
        return HeldSession(name, PARAMETER)
    return _held_attribute(container, config)


def _holds_with(item: WithItem, point: _Point, config: SessionConfig) -> bool:
    target = item.target
    if not isinstance(target, (NameExpr, MemberExpr)):
        return False
    if is_scope_opener_call(item.expr, config):
        return True
    if isinstance(target, NameExpr) and target.name in config.session_param_names:
        return True
    return session_kind(_type_at(target, point), config) is not None


def _type_at(expr: Expression, point: _Point) -> Type | None:
    """The narrowed type of a name where the call is, else its declared type."""
    if point.binder is not None and isinstance(expr, NameExpr) and expr.node is not None:
        narrowed = point.binder.binder.get(expr)
        if narrowed is not None:
            return narrowed
    node = expr.node if isinstance(expr, (NameExpr, MemberExpr)) else None
    return node.type if isinstance(node, Var) else None


def _own_session_params(func: FuncItem, config: SessionConfig) -> list[tuple[str, Var]]:
    """The function's own session parameters, with the variables that hold them."""
    found = []
    skip_self = isinstance(func, FuncDef) and func.info is not FUNC_NO_INFO and not func.is_static
    for index, arg in enumerate(func.arguments):
        if (skip_self and index == 0) or arg.kind in (ARG_STAR, ARG_STAR2):
            continue
        declared = arg.variable.type if arg.variable.type is not None else arg.type_annotation
        if func.type is not None and hasattr(func.type, "arg_types"):
            types = getattr(func.type, "arg_types")
            if index < len(types):
                declared = types[index]
        name = arg.variable.name
        if session_kind(declared, config) is not None or (
            is_any(declared) and name in config.session_param_names
        ):
            found.append((name, arg.variable))
    return found


def _held_attribute(func: FuncItem, config: SessionConfig) -> HeldSession | None:
    if not isinstance(func, FuncDef) or func.info is FUNC_NO_INFO or func.is_static:
        return None
    if func.is_class or not func.arguments:
        return None
    self_name = func.arguments[0].variable.name
    best: str | None = None
    for base in func.info.mro:
        if base.fullname == "builtins.object":
            break
        for name, sym in base.names.items():
            node = sym.node
            if not isinstance(node, Var) or node.is_classvar:
                continue
            if session_kind(node.type, config) is None and not (
                name in config.session_param_names and is_any(node.type)
            ):
                continue
            if name in config.session_param_names:
                return HeldSession(f"{self_name}.{name}", ATTRIBUTE)
            best = best or name
    return HeldSession(f"{self_name}.{best}", ATTRIBUTE) if best is not None else None


def _enclosing_function(
    func: FuncItem, stack: list[TypeInfo | FuncItem | MypyFile]
) -> FuncItem | None:
    for index, entry in enumerate(stack):
        if entry is func:
            outer = stack[index - 1] if index > 0 else None
            return outer if isinstance(outer, FuncItem) else None
    return None


def _module(stack: list[TypeInfo | FuncItem | MypyFile]) -> MypyFile:
    first = stack[0]
    assert isinstance(first, MypyFile)
    return first


def _text(expr: Node | None) -> str:
    if isinstance(expr, NameExpr):
        return expr.name
    if isinstance(expr, MemberExpr):
        return f"{_text(expr.expr)}.{expr.name}"
    return "session"

