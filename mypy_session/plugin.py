"""The mypy entry point: `plugins = ["mypy_session.plugin"]`.

Thin on purpose: it reads the settings, answers mypy's cache-key question and hands every
hook request to the gate (`gate.py`), which is imported only when mypy first asks for a
hook, so a run with nothing to check (a warm cache) does not load the analysis. Data flows
one way: hook -> facts about the call site (`facts.call_site`) -> checks (`checks/`) ->
messages (`errorcodes`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, NoReturn

from mypy.nodes import MypyFile
from mypy.options import Options
from mypy.plugin import AttributeContext, FunctionContext, MethodContext, Plugin, ReportConfigContext
from mypy.types import Type

AttributeHook = Callable[[AttributeContext], Type]

# Imported for its side effect: it registers the plugin's error codes with mypy, which
# checks the codes named in the options (--enable-error-code...) right after loading
# plugins, before any hook runs.
from mypy_session import errorcodes  # noqa: F401
from mypy_session.config import ConfigError, SessionConfig, load_config
from mypy_session.marker_stubs import check_configured_stubs, stub_fingerprints
from mypy_session.version import __version__

# Everything else is imported where it is first needed: a warm run (nothing to check)
# loads only this module, the settings and the error codes.
if TYPE_CHECKING:
    from mypy_session.boundary import Boundary
    from mypy_session.gate import Gate
    from mypy_session.recorder import Recorder
    from mypy_session.relationships import RelationshipAccess
    from mypy_session.report import Reporter

# Plugin hooks (each takes one name, returns a hook or None) this plugin does not use.
_UNUSED_HOOKS: Final = (
    "get_type_analyze_hook",
    "get_function_signature_hook",
    "get_method_signature_hook",
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
            self.config: SessionConfig = load_config(options.config_file)
            # Editing a marker stub invalidates the module it marks (report_config_data).
            self._stubs = stub_fingerprints(self.config.marker_stubs)
            # A stub that does not parse stops the run here, not at the first hook: a warm
            # run asks for none, and under -n only the workers do.
            check_configured_stubs(self.config.marker_stubs)
            if self.config.baseline is not None:
                from mypy_session import baseline

                if _is_parallel_coordinator(options):
                    baseline.read(self.config.baseline)  # the same, for the baseline
        except ConfigError as exc:
            _stop(exc, quiet=_IN_PARALLEL_WORKER)
        settings: dict[str, Any] = self.config.to_json()
        if self.config.baseline is not None:
            from mypy_session import baseline

            # Editing the baseline changes what is reported: it is part of the cache key.
            settings["baseline_crc"] = baseline.file_crc(self.config.baseline)
        self._config_data = _cache_key(settings)
        # Set by the commands (audit, baseline) before mypy asks for the first hook.
        self.recorder: Recorder | None = None
        self.use_baseline = True
        self.baseline_root: str | None = None  # where fingerprint paths start, if not the baseline's
        self._daemon = options.fine_grained_incremental
        self._gate_impl: Gate | None = None
        # A fullname's node never changes within one mypy run, but dmypy re-analyses
        # modules in place, so the memo is only used outside the daemon.
        self._memo = _Memo(self._gate)
        if not self._daemon:
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
        # Legacy `Column` models under SQLAlchemy 2.1 (`legacy_models`): asked for every
        # class attribute access, so answered from a memo too, outside the daemon.
        # Instance access to their `relationship(...)` attributes (`relationships`) too.
        self._relationships: RelationshipAccess | None = None
        if not self.config.legacy_model_typing:
            setattr(self, "get_class_attribute_hook", nothing.get)
            setattr(self, "get_attribute_hook", nothing.get)
        else:
            from mypy_session.legacy_models import ColumnAccess
            from mypy_session.relationships import RelationshipAccess

            columns = ColumnAccess(self.lookup_fully_qualified, memo=not self._daemon)
            setattr(self, "get_class_attribute_hook", columns.__getitem__)
            modules = lambda: getattr(self, "_modules", None)  # noqa: E731 - set by mypy later
            self._relationships = RelationshipAccess(
                self.lookup_fully_qualified, modules, memo=not self._daemon
            )
            setattr(self, "get_attribute_hook", self._relationships.__getitem__)
        # The service boundary (`boundary`): with nothing guarded, no hook at all; else the
        # attribute hook is a dict of the guarded names, and calls are wrapped in `_gate`.
        self._boundary: Boundary | None = None
        if self.config.guarded:
            from mypy_session.boundary import Boundary, class_finder

            find_class = class_finder(self.lookup_fully_qualified)
            self._boundary = Boundary(self.config, find_class, self._boundary_reporter)
            guarded = self._boundary.attribute_hooks
            if self._relationships is None:
                setattr(self, "get_attribute_hook", guarded.get)
            else:
                setattr(
                    self,
                    "get_attribute_hook",
                    functools.partial(_both_attribute_hooks, self._relationships, guarded),
                )

    def report_config_data(self, ctx: ReportConfigContext) -> str:
        """The settings, the plugin version and this module's marker stub: mypy's cache key.

        Called with `is_check=False` just before a module's cache is written: a moment to
        store the summaries of its functions with it (see `knowledge`)."""
        if not ctx.is_check:
            if self._relationships is not None:
                self._relationships.store(ctx.id)
            gate = self.gate()
            if gate is not None:
                gate.guarded(gate.store, ctx.id)
        stub = self._stubs.get(ctx.id)
        return self._config_data if stub is None else f"{self._config_data} stub:{stub}"

    def get_additional_indirect_deps(self, file: MypyFile) -> set[str]:
        """mypy calls this once per module right after checking it, the moment for the walk
        of sessions it saw as `Any` (`untyped_sessions`). The modules returned are those
        whose classes decided a call on an `Any` receiver (`any_receivers`): mypy checks
        the module again when one of them changes."""
        gate = self._gate_impl
        if gate is None and not file.is_stub:
            # No hook has fired yet (the modules checked so far call nothing the plugin
            # hooks, and a warm cache checks no library module): the walk may still have
            # something to report here (a call on an `Any` receiver, an untyped session's
            # commit), and a configured entry may name nothing in this module.
            gate = self.gate()
        depends_on: set[str] = set()
        if gate is not None:
            depends_on = gate.guarded(gate.module_checked, file) or set()
        if self._boundary is not None and self._boundary.pending:
            self._boundary.refresh()  # a guarded class may be declared in this module
        return depends_on

    def get_function_hook(self, fullname: str) -> Callable[[FunctionContext], Type] | None:
        """Calls of session-accepting functions and constructors, scope openers, functions
        that open a scope inside, and the markers themselves."""
        return self._gate(fullname)

    def get_method_hook(self, fullname: str) -> Callable[[MethodContext], Type] | None:
        """The same for methods (inherited ones too), plus commit() and friends on sessions."""
        return self._gate(fullname)

    def get_class_attribute_hook(
        self, fullname: str
    ) -> Callable[[AttributeContext], Type] | None:
        """`Model.column` of a legacy declarative model, typed `Never` by SQLAlchemy 2.1
        (`legacy_models`); replaced in `__init__` by the memo or by "none"."""
        return None

    def get_attribute_hook(self, fullname: str) -> Callable[[AttributeContext], Type] | None:
        """`obj.relationship` of a legacy declarative model, `Any` to SQLAlchemy
        (`relationships`); replaced in `__init__` by the memo or by "none"."""
        return None

    def gate(self) -> Gate | None:
        """The gate, created on first use (it reads the marker stubs)."""
        if self._gate_impl is None:
            try:
                from mypy_session.gate import Gate

                modules = lambda: self._modules  # noqa: E731 - set by mypy after __init__
                self._gate_impl = Gate(
                    self.config,
                    modules,
                    self.lookup_fully_qualified,
                    daemon=self._daemon,
                    reporter=self._reporter(),
                    forget_hooks=self._memo.clear,
                )
            except ConfigError as exc:  # a marker stub or baseline that does not parse
                _stop(exc)
        return self._gate_impl

    def _reporter(self) -> Reporter:
        from mypy_session.report import Reporter

        path = self.config.baseline if self.use_baseline else None
        accepted: frozenset[str] = frozenset()
        contexts: dict[str, str] = {}
        if path:
            from mypy_session import baseline

            entries = baseline.read(path)
            accepted = frozenset(item.fingerprint for item in entries)
            contexts = {item.fingerprint: item.context for item in entries if item.context}
        root = self.baseline_root or (os.path.dirname(path) if path else None)
        watch = None
        if path and self._daemon:
            from mypy_session import baseline

            watch = baseline.Watch(path)
        return Reporter(
            accepted=accepted, root=root, recorder=self.recorder, watch=watch, contexts=contexts
        )

    def _gate(self, fullname: str) -> Callable[[Any], Type] | None:
        # Return None for everything the plugin does not care about, or mypy's own hooks
        # and other plugins' would be shadowed (notes: "Precedence").
        gate = self.gate()
        if gate is None:
            return None
        hook: Callable[[Any], Type] | None = gate.guarded(gate.hook_for, fullname)
        if self._boundary is not None:
            hook = self._boundary.wrap(fullname, hook)
        return hook

    def _boundary_reporter(self) -> Reporter | None:
        gate = self.gate()
        return gate.knowledge.reporter if gate is not None else None


def _both_attribute_hooks(
    relationships: Mapping[str, AttributeHook | None],
    guarded: Mapping[str, AttributeHook],
    fullname: str,
) -> AttributeHook | None:
    """The relationship typing and the service boundary on one attribute: the boundary sees
    the type the relationship hook gives (a guarded relationship is both)."""
    typing = relationships[fullname]
    boundary = guarded.get(fullname)
    if boundary is None or typing is None:
        return typing or boundary
    return functools.partial(_chained_attribute_hook, typing, boundary)


def _chained_attribute_hook(
    typing: AttributeHook, boundary: AttributeHook, ctx: AttributeContext
) -> Type:
    return boundary(ctx._replace(default_attr_type=typing(ctx)))


def _cache_key(settings: dict[str, Any]) -> str:
    """The version and a digest of the settings: what mypy keeps with every module.

    A short string rather than the settings themselves: mypy serializes, hashes and
    compares the value once per module, and a dict of lists cost about 0.5 % of a cold
    run (benchmarks/README.md)."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
    return f"mypy-session {__version__} settings:{digest}"


# Under -n, mypy's coordinator and each worker process load the plugin.
_IN_PARALLEL_WORKER: Final = "mypy.build_worker.worker" in sys.modules


def _is_parallel_coordinator(options: Options) -> bool:
    return getattr(options, "num_workers", 0) > 0 and not _IN_PARALLEL_WORKER


def _stop(exc: ConfigError, *, quiet: bool = False) -> NoReturn:
    """Exit status 2 with one line, as mypy does for its own config errors. `quiet` where
    the coordinator says the same (a setting every process reads alike)."""
    if not quiet:
        print(f"mypy-session: error: {exc}", file=sys.stderr)
    sys.exit(2)


class _Memo(dict[str, Callable[[Any], Type] | None]):
    """Hooks by callee name; a name not seen yet is asked of the gate once."""

    def __init__(self, gate: Callable[[str], Callable[[Any], Type] | None]) -> None:
        super().__init__()
        self._gate = gate

    def __missing__(self, fullname: str) -> Callable[[Any], Type] | None:
        hook = self[fullname] = self._gate(fullname)
        return hook


def plugin(version: str) -> type[Plugin]:
    """mypy's plugin entry point."""
    return SessionPlugin


__all__ = ["SessionPlugin", "plugin"]
