"""`session-borrowed-commit`: `.commit()` / `.rollback()` / `.close()` on a session the
function borrowed from its caller (a session parameter it never rebinds)."""

from __future__ import annotations

from typing import cast

from mypy.checker import TypeChecker
from mypy.nodes import CallExpr, MemberExpr, NameExpr
from mypy.plugin import MethodContext

from mypy_session.compat import current_function
from mypy_session import errorcodes
from mypy_session.held import own_session_params
from mypy_session.knowledge import Knowledge
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
    if not any(var is receiver.node for _, var in own_session_params(function, knowledge)):
        return
    if receiver.name in scopes_of(function).rebound:
        return  # pattern A: the function opens its own session under this name
    message = errorcodes.borrowed_commit(method, receiver.name)
    knowledge.reporter.fail(api, message, call, errorcodes.SESSION_BORROWED_COMMIT)
