"""Decorators that inject leading arguments (prefect's `@db_injector`): the positions a
call's arguments take behind a decorator that hides the signature.

`def db_injector(func: Callable[Concatenate[DB, P], R]) -> Callable[P, R]` passes `db`
itself: `read_flow(session, flow_id)` calls `read_flow(db, session, flow_id)`. Where mypy
types the decorated function as it should, its signature already lacks `db`. Where it
cannot (the decorated name is `def (*Any, **Any)`, as mypy makes it for prefect's
overloaded `db_injector` of a generic descriptor), the plugin matches the call's arguments
against the function under the decorator (`Callee.behind`), whose first positional
parameter is `db`: a session passed by position would be taken for `db`, and the call
reported as not forwarding the session it does pass. This module reads, from the
decorator's own declared type, how many leading parameters it consumes
(`Concatenate[...]` in its parameter, minus the one kept in its result).
"""

from __future__ import annotations

from mypy.nodes import ARG_POS, ARG_STAR, ARG_STAR2, Decorator, FuncDef, OverloadedFuncDef, RefExpr
from mypy.types import CallableType, Overloaded, ProperType, Type, get_proper_type


def injected_leading(node: object) -> int:
    """How many leading positional parameters (after `self`) of the function under the
    decorators are passed by the decorators themselves; 0 when none is known."""
    if not isinstance(node, Decorator):
        return 0
    total = 0
    for decorator in node.decorators:
        if not isinstance(decorator, RefExpr):
            continue
        target = decorator.node
        typ: Type | None = None
        if isinstance(target, (FuncDef, OverloadedFuncDef)):
            typ = target.type
        elif isinstance(target, Decorator):
            typ = target.var.type
        total += _consumed(get_proper_type(typ))
    return total


def _consumed(typ: ProperType | None) -> int:
    """For a decorator's type: its parameter's `Concatenate` prefix minus its result's
    (the same for every item of an overload, or 0)."""
    items = typ.items if isinstance(typ, Overloaded) else [typ] if isinstance(typ, CallableType) else []
    counts = set()
    for item in items:
        if not item.arg_types:
            return 0
        given = _prefix(item.arg_types[0])
        kept = _prefix(item.ret_type)
        if given is None or kept is None:
            return 0
        counts.add(given - kept)
    return counts.pop() if len(counts) == 1 and min(counts) > 0 else 0


def _prefix(typ: Type) -> int | None:
    """The number of positional parameters before `*P.args, **P.kwargs` of a `Callable[
    Concatenate[..., P], R]` (or before `*Any, **Any`, which is what mypy leaves of it
    when it cannot use the ParamSpec); None if it is not one."""
    proper = get_proper_type(typ)
    if not isinstance(proper, CallableType) or proper.arg_kinds[-2:] != [ARG_STAR, ARG_STAR2]:
        return None
    leading = proper.arg_kinds[:-2]
    if any(kind != ARG_POS for kind in leading):
        return None
    return len(leading)
