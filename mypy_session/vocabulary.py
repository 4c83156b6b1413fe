"""SPEC section 2 in code: session types, session parameters, scope openers.

Everything here reads only what mypy serializes (types, argument names and kinds), so the
answers are the same whether a module was just checked or loaded from the cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from mypy.nodes import (
    ARG_OPT,
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    CallExpr,
    Decorator,
    Expression,
    FuncDef,
    MemberExpr,
    OverloadedFuncDef,
    RefExpr,
    SymbolNode,
    TypeInfo,
    Var,
)
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    NoneType,
    Overloaded,
    Type,
    UnionType,
    get_proper_type,
)

from mypy_session import fullnames
from mypy_session.config import SessionConfig

SESSION: Final = "session"
OPTIONAL: Final = "optional"


def is_session_instance(typ: Type | None, config: SessionConfig) -> bool:
    """Is `typ` (after narrowing) a session: a session class, a subclass, a protocol?"""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance):
        return any(base.fullname in config.session_types for base in proper.type.mro)
    return False


def session_kind(typ: Type | None, config: SessionConfig) -> str | None:
    """`SESSION` for a session type, `OPTIONAL` for `S | None`, else None."""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance):
        return SESSION if is_session_instance(proper, config) else None
    if isinstance(proper, UnionType):
        items = [get_proper_type(t) for t in proper.items]
        sessions = [t for t in items if is_session_instance(t, config)]
        rest = [t for t in items if not is_session_instance(t, config)]
        if sessions and all(isinstance(t, NoneType) for t in rest):
            return OPTIONAL if rest else SESSION
    return None


def is_none(typ: Type | None) -> bool:
    return isinstance(get_proper_type(typ), NoneType)


def is_any(typ: Type | None) -> bool:
    return typ is None or isinstance(get_proper_type(typ), AnyType)


@dataclass(frozen=True, slots=True)
class Callee:
    """What the gate learned about a session-accepting callable, bound into its hook."""

    display: str  # "get_ingredient", "IngredientRepo.get", "Purchase"
    params: frozenset[str]  # names of its session parameters
    optional: frozenset[str]  # those that have a default


def callee_of(fullname: str, node: SymbolNode | None, config: SessionConfig) -> Callee | None:
    """The session parameters of the callable named `fullname`, if it has any."""
    if isinstance(node, TypeInfo):
        init = _constructor(node)
        if init is None:
            return None
        found = _params_of_node(init, config, skip_first=True)
        display = node.name
    else:
        found = _params_of_node(node, config, skip_first=_is_method(node))
        parts = fullname.rsplit(".", 2)
        info = _info_of(node)
        display = f"{info.name}.{parts[-1]}" if info is not None else parts[-1]
    if not found:
        return None
    names = frozenset(name for name, _ in found)
    optional = frozenset(name for name, has_default in found if has_default)
    return Callee(display, names, optional)


def _constructor(info: TypeInfo) -> SymbolNode | None:
    for base in info.mro:
        if base.fullname == "builtins.object":
            return None
        sym = base.names.get("__init__")
        if sym is not None and sym.node is not None:
            return sym.node
    return None


def _info_of(node: SymbolNode | None) -> TypeInfo | None:
    if isinstance(node, Decorator):
        node = node.func
    if isinstance(node, OverloadedFuncDef) and node.items:
        return _info_of(node.items[0])
    if isinstance(node, FuncDef) and node.info is not FUNC_NO_INFO:
        return node.info
    return None


def _is_method(node: SymbolNode | None) -> bool:
    func = node.func if isinstance(node, Decorator) else node
    if isinstance(func, OverloadedFuncDef):
        return bool(func.items) and _is_method(func.items[0])
    if isinstance(func, FuncDef):
        return _info_of(func) is not None and not func.is_static
    return False


def _params_of_node(
    node: SymbolNode | None, config: SessionConfig, *, skip_first: bool
) -> list[tuple[str, bool]]:
    if isinstance(node, Decorator):
        var_type = get_proper_type(node.var.type)
        if isinstance(var_type, (CallableType, Overloaded)) and not node.var.is_staticmethod:
            return _params_of_type(var_type, config, skip_first=skip_first)
        return _params_of_node(node.func, config, skip_first=skip_first)
    if isinstance(node, OverloadedFuncDef):
        found: list[tuple[str, bool]] = []
        for item in node.items:
            found.extend(_params_of_node(item, config, skip_first=skip_first))
        return found
    if isinstance(node, FuncDef):
        if node.type is not None:
            return _params_of_type(node.type, config, skip_first=skip_first)
        # Unannotated: the session parameter is known by its name only.
        start = 1 if skip_first else 0
        return [
            (name, kind == ARG_OPT)
            for name, kind in zip(node.arg_names[start:], node.arg_kinds[start:])
            if name in config.session_param_names and kind not in (ARG_STAR, ARG_STAR2)
        ]
    if isinstance(node, Var) and node.type is not None:
        typ = get_proper_type(node.type)
        if isinstance(typ, (CallableType, Overloaded)):
            return _params_of_type(typ, config, skip_first=False)
    return []


def _params_of_type(
    typ: Type, config: SessionConfig, *, skip_first: bool
) -> list[tuple[str, bool]]:
    proper = get_proper_type(typ)
    if isinstance(proper, Overloaded):
        found: list[tuple[str, bool]] = []
        for item in proper.items:
            found.extend(_params_of_type(item, config, skip_first=skip_first))
        return found
    if not isinstance(proper, CallableType):
        return []
    if proper.unpack_kwargs:
        proper = proper.with_unpacked_kwargs()
    start = 1 if skip_first else 0
    found = []
    for name, kind, arg_type in zip(
        proper.arg_names[start:], proper.arg_kinds[start:], proper.arg_types[start:]
    ):
        if name is None or kind in (ARG_STAR, ARG_STAR2):
            continue
        if session_kind(arg_type, config) is not None or (
            is_any(arg_type) and name in config.session_param_names
        ):
            found.append((name, kind.is_optional()))
    return found


def is_scope_opener_call(expr: Expression, config: SessionConfig) -> bool:
    """Does this expression call a scope factory (SPEC section 2, "Scope opener")?"""
    if not isinstance(expr, CallExpr):
        return False
    callee = expr.callee
    if isinstance(callee, RefExpr):
        name = callee.fullname or ""
        if name in config.scope_factories:
            return True
        short = callee.name if isinstance(callee, MemberExpr) else name.rsplit(".", 1)[-1]
        if short in config.scope_factory_names:
            return True
        # `SessionLocal()` / `SessionLocal.begin()` where SessionLocal is a sessionmaker.
        target = callee.expr if isinstance(callee, MemberExpr) else callee
        if isinstance(target, RefExpr) and isinstance(target.node, Var):
            maker = get_proper_type(target.node.type)
            if isinstance(maker, Instance):
                suffix = f".{callee.name}" if isinstance(callee, MemberExpr) else ".__call__"
                return f"{maker.type.fullname}{suffix}" in config.scope_factories
    return False
