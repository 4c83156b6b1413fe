"""The gate: which callees get a hook, and what each hook runs.

Imported by the plugin on the first hook request, so that a run with nothing to check
(a warm cache) does not load the analysis at all.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from mypy.checker import TypeChecker
from mypy.nodes import (
    CallExpr,
    Decorator,
    FuncDef,
    MypyFile,
    OverloadedFuncDef,
    SymbolNode,
    SymbolTableNode,
    TypeInfo,
)
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import Type

from mypy_session import (
    escaping_objects,
    fullnames,
    held,
    kept_findings,
    nested_functions,
    scopes,
    untyped_sessions,
)
from mypy_session.any_receiver_calls import AnyReceivers
from mypy_session.any_receivers import ProgramMethods
from mypy_session.callable_wrappers import wrapped_function, wraps_calls
from mypy_session.checks.borrowed_commit import check_borrowed_commit
from mypy_session.checks.callee_opens_scope import check_callee_opens_scope
from mypy_session.checks.detached import check_detached_return, check_detached_use
from mypy_session.checks.mismatch import check_mismatch
from mypy_session.checks.missing_param import check_missing_param
from mypy_session.checks.nested_scope import check_nested_scope
from mypy_session.checks.not_forwarded import check_forwarded
from mypy_session.config import SessionConfig
from mypy_session.decorators import hidden_signature, may_hide
from mypy_session.facts import CallSite, call_site, record
from mypy_session.injected_parameters import injected_leading
from mypy_session.knowledge import Knowledge
from mypy_session.report import Report, Reporter
from mypy_session.checks.unresolved_settings import report_unresolved
from mypy_session.settings_resolution import SettingsResolution
from mypy_session.vocabulary import (
    Callee,
    behind_decorator,
    display_name,
    is_session_class,
    session_optional_by_overload,
    session_params_of,
)

# Set to re-raise instead of skipping code the plugin cannot understand (tests set it).
DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

# The checks run on every call site the gate lets through, in this order.
CHECKS: Final[tuple[Callable[[CallSite, Report], None], ...]] = (
    check_forwarded,
    check_mismatch,
    check_nested_scope,
    check_callee_opens_scope,
    check_detached_use,
    check_detached_return,
)

_Ctx = TypeVar("_Ctx", FunctionContext, MethodContext)
Lookup = Callable[[str], "SymbolTableNode | None"]


class Gate:
    """Decides, once per callee name, whether the plugin cares about a call."""

    def __init__(
        self,
        config: SessionConfig,
        modules: Callable[[], dict[str, MypyFile] | None],
        lookup: Lookup,
        *,
        daemon: bool,
        reporter: Reporter | None = None,
        forget_hooks: Callable[[], None] = lambda: None,
    ) -> None:
        self.knowledge = Knowledge(config, modules, daemon=daemon, reporter=reporter)
        # One gate per build. The memos of body walks and parameter lists are module-level
        # and keyed by id(): they hold on to the syntax trees, so a process that runs mypy
        # again (mypy.api, pytest's same-process mode) would keep every earlier build alive.
        scopes.forget()
        held.forget()
        nested_functions.forget()
        untyped_sessions.forget()
        escaping_objects.forget()
        self.lookup_fully_qualified = lookup
        self._forget_hooks = forget_hooks  # the plugin's memo of hooks by name
        self.settings = SettingsResolution(config, modules, daemon=daemon)
        self._wrapped: dict[str, Callee | None] = {}  # see wrapped_callee
        # Calls on `Any` receivers, checked by the method's name (`any_receivers`).
        self.receivers = (
            AnyReceivers(
                ProgramMethods(modules, daemon=daemon),
                self.knowledge,
                lambda fullname, node: self._callee(fullname, node, hidden=True),
                self._check_any_call,
            )
            if config.any_receiver_calls
            else None
        )
        self.knowledge.on_new_module = self.refresh
        self.refresh()

    def refresh(self) -> None:
        """Resolve the settings' entries that can be now (`settings_resolution`); if one
        adds a name, what was decided by name is decided again."""
        if self.settings.refresh():
            self.knowledge.settings_changed()
            self._wrapped.clear()
            self._forget_hooks()

    def store(self, module_id: str) -> None:
        """mypy is about to write a module's cache: its summaries go with it."""
        self.refresh()
        self.knowledge.store(module_id)

    def hook_for(self, fullname: str) -> Callable[[Any], Type] | None:
        knowledge = self.knowledge
        if knowledge.fact_deps is not None:
            # mypy asks for hooks outside any hook: no target to record dependencies for.
            knowledge.fact_deps.checker = None
            kept_findings.touch()  # dmypy: kept findings back where mypy dropped them
        marker = fullnames.MARKERS.get(fullname)
        if marker is not None:
            return functools.partial(_on_marker, marker=marker, knowledge=knowledge)
        node = self._lookup(fullname)
        if node is None:
            return None
        owner, _, method = fullname.rpartition(".")
        if method == "__call__" and self._wraps_calls(owner):
            # `@lru_cache` / `@cached(...)` objects: the function is found at the call.
            return functools.partial(_on_wrapper_call, gate=self)
        if method in knowledge.config.commit_methods and self._is_session_class(owner):
            return functools.partial(_on_commit, method=method, knowledge=knowledge)
        if may_hide(node):
            # An untyped decorator: its application gets a type mypy runs hooks for.
            kind = knowledge.decorators.kind_of(node.fullname or fullname)
            if kind is not None:
                callee = self._callee(fullname, node)
                return functools.partial(_on_decorator, kind=kind, callee=callee, knowledge=knowledge)
        if knowledge.fact_deps is not None and knowledge.defined_in_project(node.fullname or fullname):
            # dmypy: decide at the call, where the target that depends on it is known.
            return functools.partial(_on_daemon_call, gate=self, fullname=fullname, node=node)
        callee = self._callee(fullname, node)
        if callee is None:
            return None
        return functools.partial(_on_call, callee=callee, knowledge=knowledge)

    def _wraps_calls(self, owner: str) -> bool:
        sym = self.lookup_fully_qualified(owner) if owner else None
        return sym is not None and isinstance(sym.node, TypeInfo) and wraps_calls(sym.node)

    def wrapped_callee(self, func: Decorator) -> Callee | None:
        """The callee a wrapper object's call reaches (`callable_wrappers`), memoized."""
        fullname = func.fullname
        if not self.knowledge.daemon and fullname in self._wrapped:
            return self._wrapped[fullname]
        callee = self._callee(fullname, func, hidden=True)
        if not self.knowledge.daemon:
            self._wrapped[fullname] = callee
        return callee

    def _callee(self, fullname: str, node: SymbolNode, *, hidden: bool = False) -> Callee | None:
        knowledge = self.knowledge
        defined = node.fullname or fullname
        params = session_params_of(node, knowledge.config)
        if isinstance(node, TypeInfo):
            marker, opener = None, knowledge.constructor_opens(node)
        else:
            marker = knowledge.marker_of(defined)
            opener = marker == fullnames.OPENER or knowledge.is_opener(fullname)
        opens = when = None
        if not params and not opener and marker != fullnames.OWN:
            summary = knowledge.summary(defined)
            opens, when = summary.opens, summary.when
        if not params and not opener and opens is None:
            return None
        behind = None
        if params and (hidden or behind_decorator(node)):
            # mypy checks no argument of such a call: every session parameter is optional.
            # Positions as the call sees them: less what the decorator injects itself.
            shift = injected_leading(node)
            behind = tuple((name, index - shift) for name, _, index in params if index >= shift)
        by_overload = bool(params) and session_optional_by_overload(node, knowledge.config)
        return Callee(
            display=display_name(fullname, node),
            params=frozenset(name for name, _, _ in params),
            optional=frozenset(
                name
                for name, has_default, _ in params
                if has_default or behind is not None or by_overload
            ),
            marker=marker,
            opener=opener,
            opens=opens,
            deferred=opens is not None and _is_generator(node),
            fullname=defined,
            behind=behind,
            by_overload=by_overload,
            when=when,
        )

    def _is_session_class(self, fullname: str) -> bool:
        sym = self.lookup_fully_qualified(fullname) if fullname else None
        info = sym.node if sym is not None else None
        if not isinstance(info, TypeInfo):
            return False
        return is_session_class(info, self.knowledge.config)

    def _lookup(self, fullname: str) -> SymbolNode | None:
        sym = self.lookup_fully_qualified(fullname)
        if sym is not None:
            return sym.node
        # Inherited methods are asked for by the receiver's class: walk its MRO.
        owner, _, attr = fullname.rpartition(".")
        if not owner:
            return None
        owner_sym = self.lookup_fully_qualified(owner)
        if owner_sym is None or not isinstance(owner_sym.node, TypeInfo):
            return None
        found = owner_sym.node.get(attr)
        return found.node if found is not None else None

    def module_checked(self, file: MypyFile) -> set[str]:
        """mypy has checked `file`: the walk of its `Any` sessions (`untyped_sessions`),
        then the settings' entries that name nothing in it (`settings_resolution`).
        Returns the modules the walk's findings depend on (mypy's indirect dependencies
        of `file`)."""
        self.refresh()
        depends_on = untyped_sessions.check_module(file, self.knowledge, self.receivers)
        escaping_objects.check_module(file, untyped_sessions.reporting_checker(file), self.knowledge)
        report_unresolved(file, self.settings, self.knowledge)
        return depends_on

    def _check_any_call(self, ctx: MethodContext, callee: Callee) -> None:
        """A call on an `Any` receiver, checked as a call of `callee` (`any_receivers`);
        code the plugin cannot understand is skipped, as in a hook."""
        try:
            _check_call(ctx, callee, self.knowledge)
        except Exception:
            if os.environ.get(DEBUG_ENV):
                raise

    def guarded(self, work: Callable[[Any], Any], arg: Any) -> Any:
        try:
            return work(arg)
        except Exception:
            if os.environ.get(DEBUG_ENV):
                raise
            return None



def _is_generator(node: SymbolNode) -> bool:
    """A generator or async generator function (mypy keeps these flags in its cache)."""
    target: SymbolNode | None = node.func if isinstance(node, Decorator) else node
    if isinstance(target, OverloadedFuncDef):
        impl = target.impl
        target = impl.func if isinstance(impl, Decorator) else impl
    return isinstance(target, FuncDef) and (target.is_generator or target.is_async_generator)


def _skipped(ctx: FunctionContext | MethodContext) -> bool:
    """Library code (errors silenced by mypy) is not analysed: it costs and reports nothing."""
    errors = cast(TypeChecker, ctx.api).errors
    return errors.file in errors.ignored_files


def _on_call(ctx: _Ctx, *, callee: Callee, knowledge: Knowledge) -> Type:
    return _safely(ctx, knowledge, lambda: _check_call(ctx, callee, knowledge))


def _check_call(ctx: _Ctx, callee: Callee, knowledge: Knowledge) -> None:
    """Every check on one call site."""
    site = call_site(ctx, callee, knowledge)
    if site is not None:
        reporter = knowledge.reporter
        if reporter.recorder is not None:
            reporter.recorder.calls.append(record(site, cast(TypeChecker, ctx.api)))
        report = functools.partial(reporter.fail, ctx.api)
        for check in CHECKS:
            check(site, report)


def _on_daemon_call(ctx: _Ctx, *, gate: Gate, fullname: str, node: SymbolNode) -> Type:
    """Under dmypy, a call of a function of the checked program: what the callee is
    (its session parameters, marker, whether it opens a scope) is decided here, so that
    the target being checked depends on the facts it was decided from (`daemon_deps`),
    and a callee that opens no scope today is checked again when it starts to."""
    knowledge = gate.knowledge

    def work() -> None:
        callee = gate._callee(fullname, node)
        if callee is not None:
            _check_call(ctx, callee, knowledge)

    return _safely(ctx, knowledge, work)


def _on_wrapper_call(ctx: MethodContext, *, gate: Gate) -> Type:
    """A call of a wrapper object (`callable_wrappers`): the checks of a call of the
    function it wraps, where the called expression names one."""
    # Most such calls are of other callable objects (SQLAlchemy's `func.count()`): find
    # the function first, and do nothing more where there is none.
    call = ctx.context
    try:
        func = wrapped_function(call, cast(TypeChecker, ctx.api)) if isinstance(call, CallExpr) else None
    except Exception:
        if os.environ.get(DEBUG_ENV):
            raise
        func = None
    if func is None:
        return ctx.default_return_type
    knowledge = gate.knowledge

    def work() -> None:
        callee = gate.wrapped_callee(func)
        if callee is not None:
            _check_call(ctx, callee, knowledge)

    return _safely(ctx, knowledge, work)


def _on_decorator(
    ctx: FunctionContext, *, kind: str, callee: Callee | None, knowledge: Knowledge
) -> Type:
    """A transparent decorator applied (or called): the checks of an ordinary call, then
    the type that lets mypy run hooks at the decorated function's call sites."""
    if callee is not None:
        _on_call(ctx, callee=callee, knowledge=knowledge)
    try:
        return hidden_signature(ctx, kind)
    except Exception:
        if os.environ.get(DEBUG_ENV):
            raise
        return ctx.default_return_type


def _on_commit(ctx: MethodContext, *, method: str, knowledge: Knowledge) -> Type:
    return _safely(ctx, knowledge, lambda: check_borrowed_commit(ctx, method, knowledge))


def _on_marker(ctx: FunctionContext, *, marker: str, knowledge: Knowledge) -> Type:
    return _safely(ctx, knowledge, lambda: check_missing_param(ctx, marker, knowledge))


def _safely(
    ctx: FunctionContext | MethodContext, knowledge: Knowledge, work: Callable[[], None]
) -> Type:
    """Run a hook's work outside library code; code the plugin cannot understand is
    skipped quietly, never an INTERNAL ERROR (set MYPY_SESSION_DEBUG to see why)."""
    untyped_sessions.seen(cast(TypeChecker, ctx.api), knowledge.daemon)
    if not _skipped(ctx):
        try:
            tree = cast(TypeChecker, ctx.api).tree
            if tree is not knowledge.checking:
                # mypy empties a module's syntax tree once it is checked; the walks of its
                # bodies would keep the statements alive to the end of the run (9 MiB of
                # 400 at the peak on the benchmark corpus), and no other module needs them.
                knowledge.checking = tree
                knowledge.on_new_module()
                scopes.forget()
                held.forget()
                nested_functions.forget()
            if knowledge.fact_deps is not None:
                if tree.defs is not knowledge.fact_deps.statements:
                    # dmypy checks a changed module (its tree keeps its identity, its
                    # statements are new): an update has started.
                    knowledge.fact_deps.statements = tree.defs
                    knowledge.reporter.refresh()  # the baseline as it is now
            if knowledge.fact_deps is not None:
                knowledge.fact_deps.checker = cast(TypeChecker, ctx.api)
            knowledge.prepare(tree)
            work()
        except Exception:
            if os.environ.get(DEBUG_ENV):
                raise
            untyped_sessions.failed(cast(TypeChecker, ctx.api))
    return ctx.default_return_type


