"""The mypy entry point: `plugins = ["mypy_session.plugin"]`.

Thin on purpose: it reads the settings, gates hooks to the callees the plugin cares about
and hands each call to the checks. Data flows one way: hook -> facts about the call site
(`facts.call_site`) -> checks (`checks/`) -> messages (`errorcodes`).
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from mypy.checker import TypeChecker
from mypy.nodes import SymbolNode, TypeInfo
from mypy.options import Options
from mypy.plugin import FunctionContext, MethodContext, Plugin, ReportConfigContext
from mypy.types import Type

from mypy_session import fullnames
from mypy_session.checks.borrowed_commit import check_borrowed_commit
from mypy_session.checks.callee_opens_scope import check_callee_opens_scope
from mypy_session.checks.detached import check_detached_return, check_detached_use
from mypy_session.checks.mismatch import check_mismatch
from mypy_session.checks.missing_param import check_missing_param
from mypy_session.checks.nested_scope import check_nested_scope
from mypy_session.checks.not_forwarded import check_forwarded
from mypy_session.config import ConfigError, load_config
from mypy_session.facts import CallSite, call_site
from mypy_session.knowledge import Knowledge
from mypy_session.version import __version__
from mypy_session.vocabulary import Callee, display_name, is_session_class, session_params_of

# Set to re-raise instead of skipping code the plugin cannot understand (tests set it).
DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

# The checks run on every call site the gate lets through, in this order.
CHECKS: Final[tuple[Callable[[CallSite, Any], None], ...]] = (
    check_forwarded,
    check_mismatch,
    check_nested_scope,
    check_callee_opens_scope,
    check_detached_use,
    check_detached_return,
)

_Ctx = TypeVar("_Ctx", FunctionContext, MethodContext)

# Plugin hooks (each takes one name, returns a hook or None) this plugin does not use.
_UNUSED_HOOKS: Final = (
    "get_type_analyze_hook",
    "get_function_signature_hook",
    "get_method_signature_hook",
    "get_attribute_hook",
    "get_class_attribute_hook",
    "get_class_decorator_hook",
    "get_metaclass_hook",
    "get_base_class_hook",
    "get_customize_class_mro_hook",
    "get_dynamic_class_hook",
)


class SessionPlugin(Plugin):
    """Reports SQLAlchemy transaction-boundary mistakes."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        try:
            config = load_config(options.config_file)
            daemon = options.fine_grained_incremental
            self.knowledge = Knowledge(config, lambda: self._modules, daemon=daemon)
        except ConfigError as exc:
            print(f"mypy-session: error: {exc}", file=sys.stderr)
            sys.exit(2)
        self._config_data = {"version": __version__, **config.to_json()}
        # A fullname's node never changes within one mypy run, but dmypy re-analyses
        # modules in place, so the memo is only used outside the daemon.
        self._memoize = not options.fine_grained_incremental
        self._memo = _Memo(self._gate)
        if self._memoize:
            # mypy asks for a hook for every call it checks, twice per call: answer known
            # names from the dict itself, with no Python frame (instance attributes win
            # over the methods below, which remain the documented entry points).
            setattr(self, "get_function_hook", self._memo.__getitem__)
            setattr(self, "get_method_hook", self._memo.__getitem__)
        # The hooks this plugin never uses are asked for constantly too (every attribute
        # access, every annotation...). A bound `{}.get` answers None with no Python frame.
        nothing: dict[str, None] = {}
        for name in _UNUSED_HOOKS:
            setattr(self, name, nothing.get)

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, Any]:
        """The settings, the plugin version and this module's marker stub: mypy's cache key.

        Called with `is_check=False` just before a module's cache is written: the moment
        to store the summaries of its functions with it (see `knowledge`)."""
        if not ctx.is_check:
            self._guarded(self.knowledge.store, ctx.id)
        stub = self.knowledge.stub_digest(ctx.id)
        return self._config_data if stub is None else {**self._config_data, "stub": stub}

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        """Calls of session-accepting functions and constructors, scope openers, functions
        that open a scope inside, and the markers themselves."""
        return self._gate(fullname)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        """The same for methods (inherited ones too), plus commit() and friends on sessions."""
        return self._gate(fullname)

    def _gate(self, fullname: str) -> Callable[[Any], Type] | None:
        # Return None for everything the plugin does not care about, or mypy's own hooks
        # and other plugins' would be shadowed (notes: "Precedence").
        hook: Callable[[Any], Type] | None = self._guarded(self._hook_for, fullname)
        return hook

    def _hook_for(self, fullname: str) -> Callable[[Any], Type] | None:
        knowledge = self.knowledge
        marker = fullnames.MARKERS.get(fullname)
        if marker is not None:
            return functools.partial(_on_marker, marker=marker, knowledge=knowledge)
        node = self._lookup(fullname)
        if node is None:
            return None
        owner, _, method = fullname.rpartition(".")
        if method in knowledge.config.commit_methods and self._is_session_class(owner):
            return functools.partial(_on_commit, method=method, knowledge=knowledge)
        callee = self._callee(fullname, node)
        if callee is None:
            return None
        return functools.partial(_on_call, callee=callee, knowledge=knowledge)

    def _callee(self, fullname: str, node: SymbolNode) -> Callee | None:
        knowledge = self.knowledge
        defined = node.fullname or fullname
        params = session_params_of(node, knowledge.config)
        if isinstance(node, TypeInfo):
            marker, opener = None, knowledge.constructor_opens(node)
        else:
            marker = knowledge.marker_of(defined)
            opener = marker == fullnames.OPENER or knowledge.is_opener(fullname)
        opens = None
        if not params and not opener and marker != fullnames.OWN:
            opens = knowledge.summary(defined).opens
        if not params and not opener and opens is None:
            return None
        return Callee(
            display=display_name(fullname, node),
            params=frozenset(name for name, _, _ in params),
            optional=frozenset(name for name, has_default, _ in params if has_default),
            marker=marker,
            opener=opener,
            opens=opens,
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

    def _guarded(self, work: Callable[[str], Any], arg: str) -> Any:
        try:
            return work(arg)
        except Exception:
            if os.environ.get(DEBUG_ENV):
                raise
            return None


class _Memo(dict[str, Callable[[Any], Type] | None]):
    """Hooks by callee name; a name not seen yet is asked of the gate once."""

    def __init__(self, gate: Callable[[str], Callable[[Any], Type] | None]) -> None:
        super().__init__()
        self._gate = gate

    def __missing__(self, fullname: str) -> Callable[[Any], Type] | None:
        hook = self[fullname] = self._gate(fullname)
        return hook


def _skipped(ctx: FunctionContext | MethodContext) -> bool:
    """Library code (errors silenced by mypy) is not analysed: it costs and reports nothing."""
    errors = cast(TypeChecker, ctx.api).errors
    return errors.file in errors.ignored_files


def _on_call(ctx: _Ctx, *, callee: Callee, knowledge: Knowledge) -> Type:
    def work() -> None:
        site = call_site(ctx, callee, knowledge)
        if site is not None:
            for check in CHECKS:
                check(site, ctx.api)

    return _safely(ctx, knowledge, work)


def _on_commit(ctx: MethodContext, *, method: str, knowledge: Knowledge) -> Type:
    return _safely(ctx, knowledge, lambda: check_borrowed_commit(ctx, method, knowledge))


def _on_marker(ctx: FunctionContext, *, marker: str, knowledge: Knowledge) -> Type:
    return _safely(ctx, knowledge, lambda: check_missing_param(ctx, marker, knowledge))


def _safely(
    ctx: FunctionContext | MethodContext, knowledge: Knowledge, work: Callable[[], None]
) -> Type:
    """Run a hook's work outside library code; code the plugin cannot understand is
    skipped quietly, never an INTERNAL ERROR (set MYPY_SESSION_DEBUG to see why)."""
    if not _skipped(ctx):
        try:
            knowledge.prepare(cast(TypeChecker, ctx.api).tree)
            work()
        except Exception:
            if os.environ.get(DEBUG_ENV):
                raise
    return ctx.default_return_type


def plugin(version: str) -> type[Plugin]:
    """mypy's plugin entry point."""
    return SessionPlugin


__all__ = ["SessionPlugin", "plugin"]
