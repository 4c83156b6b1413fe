"""Functions under a decorator typed to return a callable object (a wrapper).

`functools.lru_cache` and `cachetools.cached` (with its stubs) are typed to return an
object whose `__call__` takes `*args, **kwargs` (`_lru_cache_wrapper[T]`,
`_cached_wrapper_info[T]`). A call of the decorated function is then, to mypy, a call of
that `__call__`: the hook mypy asks for is named after the wrapper's class
(`functools._lru_cache_wrapper.__call__`), not after the function, and the function's own
parameters are not checked. Airflow's `DagModel.get_team_name` is one:
`@staticmethod @cached(...) @provide_session def get_team_name(dag_id, *, session=NEW_SESSION)`.

The gate gives such a `__call__` a hook; at the call, the function is found from the
called expression (`get_team_name`, `DagModel.get_team_name`, `self.get_team_name`), and
the call's own arguments are matched against the parameters of the function under the
decorator, as for a decorator that hides its signature (`vocabulary.behind_decorator`).
"""

from __future__ import annotations

from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import ARG_STAR, ARG_STAR2, CallExpr, Decorator, MemberExpr, NameExpr, TypeInfo
from mypy.types import CallableType, Instance, get_proper_type

# mypy's own functools plugin checks the arguments of a `partial` object's call: a hook
# here would shadow it (plugin notes, "Precedence"), and a partial is no decorator.
_NOT_WRAPPERS: Final = frozenset(("functools.partial",))


def wraps_calls(info: TypeInfo) -> bool:
    """Does the class's `__call__` take `*args, **kwargs` and nothing else (so a call of an
    instance says nothing about the function it wraps)?"""
    if info.fullname in _NOT_WRAPPERS:
        return False
    sym = info.get("__call__")
    call = get_proper_type(sym.type) if sym is not None else None
    if not isinstance(call, CallableType):
        return False
    kinds = call.arg_kinds[1:] if call.arg_kinds and call.arg_kinds[0].is_positional() else call.arg_kinds
    return kinds == [ARG_STAR, ARG_STAR2]


def wrapped_function(call: CallExpr, api: TypeChecker) -> Decorator | None:
    """The decorated function a call of a wrapper object calls, if the called expression
    names one: a function, or an attribute of a class or of an instance."""
    callee = call.callee
    if not isinstance(callee, (NameExpr, MemberExpr)):
        return None
    if isinstance(callee.node, Decorator):
        return callee.node  # get_team_name, module.get_team_name
    if isinstance(callee, NameExpr):
        return None
    receiver = callee.expr
    info: TypeInfo | None = None
    if isinstance(receiver, NameExpr) and isinstance(receiver.node, TypeInfo):
        info = receiver.node  # DagModel.get_team_name
    else:
        typ = get_proper_type(api.lookup_type_or_none(receiver))
        if isinstance(typ, Instance):
            info = typ.type  # self.get_team_name, model.get_team_name
    if info is None:
        return None
    found = info.get(callee.name)
    return found.node if found is not None and isinstance(found.node, Decorator) else None
