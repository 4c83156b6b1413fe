"""Facts about one call of a session-accepting callable, gathered once per call.

The hook builds a `CallSite`; the checks read it and report. The command line reuses the
same facts (it runs the same hooks), so there is one analysis, not two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from mypy.checker import TypeChecker
from mypy.nodes import CallExpr, Context, Expression
from mypy.plugin import FunctionContext, MethodContext

from mypy_session.config import SessionConfig
from mypy_session.held import HeldSession, held_at_call
from mypy_session.vocabulary import Callee


@dataclass(frozen=True, slots=True)
class CallSite:
    """What is held and what is passed at one call."""

    callee: Callee
    param: str  # the callee's session parameter, by name
    required: bool  # no default: mypy itself reports a missing argument
    passed: tuple[Expression, ...]  # what the call passes for it (empty: nothing)
    held: HeldSession | None
    context: Context


def call_site(
    ctx: FunctionContext | MethodContext, callee: Callee, config: SessionConfig
) -> CallSite | None:
    """Facts about the call being checked, or None if it has no session parameter here."""
    for index, name in enumerate(ctx.callee_arg_names):
        if name is not None and name in callee.params:
            break
    else:  # an overload item or a bound signature without the parameter
        return None
    call = ctx.context
    if not isinstance(call, CallExpr):
        return None
    api = cast(TypeChecker, ctx.api)
    return CallSite(
        callee=callee,
        param=name,
        required=name not in callee.optional,
        passed=tuple(ctx.args[index]),
        held=held_at_call(api, call, config),
        context=call,
    )
