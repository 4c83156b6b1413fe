"""`session-borrowed-commit`: `.commit()` / `.rollback()` / `.close()` on a session the
function borrowed from its caller (a session parameter it never rebinds).

Two ways in, one decision (`is_borrowed`): the method hook on a typed session
(`check_borrowed_commit`), and the end-of-module walk of sessions mypy sees as `Any`
(`untyped_sessions`, which calls `report_borrowed_commit`)."""

from __future__ import annotations

from typing import cast

from mypy.checker import TypeChecker
from mypy.nodes import FUNC_NO_INFO, CallExpr, FuncItem, MemberExpr, NameExpr, Var
from mypy.plugin import MethodContext
from mypy.types import CallableType, TypeVarType

from mypy_session.compat import current_function
from mypy_session import errorcodes
from mypy_session.held import own_session_params
from mypy_session.knowledge import Knowledge
from mypy_session.ownership import owns
from mypy_session.scopes import scopes_of


def check_borrowed_commit(ctx: MethodContext, method: str, knowledge: Knowledge) -> None:
    """Report ending the caller's transaction; the owner of the transaction ends it."""
    call = ctx.context
    if not isinstance(call, CallExpr) or not isinstance(call.callee, MemberExpr):
        return
    receiver = call.callee.expr
    if not isinstance(receiver, NameExpr):
        return
    api = cast(TypeChecker, ctx.api)
    function = current_function(api.scope)
    if function is None:
        return
    if is_borrowed(function, receiver, knowledge, copied=_in_copy(api)):
        report_borrowed_commit(api, call, method, receiver.name, knowledge)


def is_borrowed(
    function: FuncItem, receiver: NameExpr, knowledge: Knowledge, *, copied: bool = False
) -> bool:
    """The one place that decides "borrowed": `receiver` names one of the function's own
    session parameters, the function never rebinds that name (pattern A opens its own
    session under it), and does not own it (`ownership`: a framework injects it, or the
    function is an entry point). `copied`: the body being checked is one of mypy's per-value copies
    of a function generic over a value-restricted TypeVar, whose variables are copies of
    the original's, so the parameter is recognised by name."""
    node = receiver.node
    for name, var in own_session_params(function, knowledge):
        if var is node or (copied and isinstance(node, Var) and node.name == name):
            break
    else:
        return False
    if receiver.name in scopes_of(function).rebound:
        return False
    return not owns(function, name, knowledge)  # the unit of work starts here


def report_borrowed_commit(
    api: TypeChecker,
    call: CallExpr,
    method: str,
    session: str,
    knowledge: Knowledge,
    *,
    function: str | None = None,
    path: str | None = None,
) -> None:
    """Report `session.method()` at `call`; `function` and `path` name the function and
    file it is in where that is not the one being checked (the end-of-module walk)."""
    message = errorcodes.borrowed_commit(method, session)
    knowledge.reporter.fail(
        api, message, call, errorcodes.SESSION_BORROWED_COMMIT, function=function, path=path
    )


def _in_copy(api: TypeChecker) -> bool:
    """Is mypy checking a per-value copy of a body? It expands a function (or a method of
    a class) generic over a TypeVar with values into one copy per value and checks the
    copies, while the scope stack keeps the original."""
    return any(
        isinstance(entry, FuncItem) and has_value_restricted_typevars(entry)
        for entry in api.scope.stack
    )


def has_value_restricted_typevars(func: FuncItem) -> bool:
    """Does mypy check `func` on copies, one per value of a value-restricted TypeVar?"""
    typ = func.type
    tvars = list(typ.variables) if isinstance(typ, CallableType) else []
    info = getattr(func, "info", FUNC_NO_INFO)
    if info is not FUNC_NO_INFO and info is not None:
        tvars += info.defn.type_vars or []
    return any(isinstance(tvar, TypeVarType) and bool(tvar.values) for tvar in tvars)
