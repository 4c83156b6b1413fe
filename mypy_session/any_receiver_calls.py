"""Checking the calls on `Any` receivers the end-of-module walk found (`any_receivers`
says how their callee is found): each as a call of its candidates, through the same call
facts (`facts.call_site`) and checks as a hook's call."""

from __future__ import annotations

from collections.abc import Callable

from mypy.checker import TypeChecker
from mypy.nodes import Expression, MypyFile
from mypy.plugin import MethodContext
from mypy.types import Type

from mypy_session.any_receivers import (
    AnyCall,
    CalleeOf,
    CheckCall,
    ProgramMethods,
    as_callee,
    fake_context,
    resolve,
)
from mypy_session.facts import NOTHING, call_site
from mypy_session.knowledge import Knowledge
from mypy_session.vocabulary import Callee


class AnyReceivers:
    """Checks the calls on `Any` receivers the walk found in one module."""

    def __init__(
        self,
        methods: ProgramMethods,
        knowledge: Knowledge,
        callee_of: CalleeOf,
        check_call: CheckCall,
    ) -> None:
        self.methods = methods
        self.knowledge = knowledge
        self.callee_of = callee_of
        self.check_call = check_call

    def check(
        self,
        checker: TypeChecker,
        file: MypyFile,
        calls: list[AnyCall],
        types: dict[Expression, Type],
        unknown: Callable[[AnyCall], None],
    ) -> set[str]:
        """Check each call as a call of its candidates; `unknown` is told of the calls
        whose callee may or may not take a session while they pass none. Returns the
        modules the answers depend on (`ProgramMethods.project_reach`)."""
        saved = list(checker.scope.stack)
        reach = self.methods.reach(file.fullname)
        try:
            for found in calls:
                takers, all_take = resolve(
                    reach.named(found.name), found.call, self.knowledge.config
                )
                callee = as_callee(takers, self.callee_of)
                if callee is None:
                    continue
                checker.scope.stack[:] = found.stack
                ctx = fake_context(found.call, checker, types)
                if all_take:
                    self.check_call(ctx, callee)
                elif passes_nothing(ctx, callee, self.knowledge):
                    unknown(found)
        finally:
            checker.scope.stack[:] = saved
        return reach.project


def passes_nothing(ctx: MethodContext, callee: Callee, knowledge: Knowledge) -> bool:
    """Does the call leave the callee's session parameter out, while a session is held?"""
    site = call_site(ctx, callee, knowledge)
    return site is not None and site.passed == NOTHING and site.held is not None
