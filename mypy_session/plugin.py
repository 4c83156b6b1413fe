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
from typing import Any, Final, TypeVar

from mypy.nodes import SymbolNode, TypeInfo
from mypy.options import Options
from mypy.plugin import FunctionContext, MethodContext, Plugin, ReportConfigContext
from mypy.types import Type

from mypy_session.checks.not_forwarded import check_forwarded
from mypy_session.config import ConfigError, SessionConfig, load_config
from mypy_session.facts import call_site
from mypy_session.version import __version__
from mypy_session.vocabulary import Callee, callee_of

# Set to re-raise instead of skipping code the plugin cannot understand (tests set it).
DEBUG_ENV: Final = "MYPY_SESSION_DEBUG"

_Ctx = TypeVar("_Ctx", FunctionContext, MethodContext)


class SessionPlugin(Plugin):
    """Reports SQLAlchemy transaction-boundary mistakes."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        try:
            self.config: SessionConfig = load_config(options.config_file)
        except ConfigError as exc:
            print(f"mypy-session: error: {exc}", file=sys.stderr)
            sys.exit(2)
        self._config_data = {"version": __version__, **self.config.to_json()}
        # A fullname's node never changes within one mypy run, but dmypy re-analyses
        # modules in place, so the memo is only used outside the daemon.
        self._memoize = not options.fine_grained_incremental
        self._memo: dict[str, Callable[[Any], Type] | None] = {}

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, Any]:
        """The settings and plugin version: part of mypy's cache key."""
        return self._config_data

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        """Calls of functions and constructors that take a session."""
        return self._gate(fullname)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        """Calls of methods (inherited ones too) that take a session."""
        return self._gate(fullname)

    def _gate(self, fullname: str) -> Callable[[Any], Type] | None:
        # Runs for every call mypy checks: return None at once for everything else, or
        # mypy's own hooks and other plugins' would be shadowed (notes: "Precedence").
        if self._memoize:
            try:
                return self._memo[fullname]
            except KeyError:
                pass
        callee = callee_of(fullname, self._lookup(fullname), self.config)
        hook = (
            functools.partial(_on_session_call, callee=callee, config=self.config)
            if callee is not None
            else None
        )
        if self._memoize:
            self._memo[fullname] = hook
        return hook

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


def _on_session_call(ctx: _Ctx, *, callee: Callee, config: SessionConfig) -> Type:
    try:
        site = call_site(ctx, callee, config)
        if site is not None:
            check_forwarded(site, ctx.api)
    except Exception:
        # Code the plugin cannot understand is skipped quietly, never an INTERNAL ERROR.
        if os.environ.get(DEBUG_ENV):
            raise
    return ctx.default_return_type


def plugin(version: str) -> type[Plugin]:
    """mypy's plugin entry point."""
    return SessionPlugin
