"""`session-missing-param`: a function marked ReadOnly, SingleStep or MultiStep that has no
session parameter, so callers cannot make it part of their transaction."""

from __future__ import annotations

from mypy.nodes import Decorator
from mypy.plugin import FunctionContext

from mypy_session import errorcodes, fullnames
from mypy_session.held import own_session_params
from mypy_session.knowledge import Knowledge


def check_missing_param(ctx: FunctionContext, marker: str, knowledge: Knowledge) -> None:
    """Report the marked definition (its `def` line)."""
    decorator = ctx.context
    if marker not in fullnames.CLASSIFICATIONS or not isinstance(decorator, Decorator):
        return
    func = decorator.func
    if own_session_params(func, knowledge):
        return
    message = errorcodes.missing_param(func.name, marker)
    knowledge.reporter.fail(
        ctx.api, message, func, errorcodes.SESSION_MISSING_PARAM, function=func.fullname
    )
