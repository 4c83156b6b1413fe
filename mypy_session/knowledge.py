"""What the plugin knows beyond a single call: settings, markers and function summaries.

- Markers come from marker stubs (read once) and from decorators in the source.
- A function *summary* says whether a function opens a session scope, directly or through
  a chain of calls (`restock -> consume_fifo -> session_scope()`), and how it is marked.
  Summaries are computed from the syntax tree, which mypy keeps only for modules it checks
  in this run. So when mypy writes a module's cache (`report_config_data` with
  `is_check=False`, called just before the tree is serialized and, in mypy 2.x, before
  function bodies are checked) the summaries of its functions are stored in the module's
  own symbol table as a hidden variable. A module loaded from the cache (warm runs, `-n`
  workers) reads them back from there; because they are part of the serialized tree they
  are part of the module's interface hash, so callers are re-checked when they change.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Final

from mypy.nodes import (
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    GDEF,
    CallExpr,
    ClassDef,
    Decorator,
    Expression,
    FuncDef,
    MemberExpr,
    MypyFile,
    NameExpr,
    OverloadedFuncDef,
    RefExpr,
    Statement,
    SymbolNode,
    SymbolTableNode,
    TypeInfo,
    Var,
)
from mypy.server.subexpr import get_subexpressions
from mypy.types import Instance, LiteralType, get_proper_type

from mypy_session import fullnames
from mypy_session.config import SessionConfig
from mypy_session.daemon_deps import FACTS, FactDependencies
from mypy_session.decorators import Decorators
from mypy_session.marker_stubs import load_markers
from mypy_session.conditional_openers import (
    Conjunction,
    Parameter,
    When,
    carry,
    from_json,
    guards_at,
    merge,
    parameters,
    to_json,
    without_rebound,
)
from mypy_session.nested_functions import inside_nested, is_nested_def
from mypy_session.receiver_sessions import SelfAttributes, self_attributes
from mypy_session.report import Reporter
from mypy_session.typed_openers import declares_new_session, opens_by_declaration
from mypy_session.vocabulary import Callee, render, session_params_of

STORE: Final = FACTS
_LIBRARY_PARTS: Final = ("/site-packages/", "/dist-packages/", "/typeshed/")


class Summary:
    """How a function is marked and whether (and through what) it opens a scope. (A plain
    class: see the note in `scopes` on compiled dataclasses.)"""

    __slots__ = ("marker", "opens", "when", "self_attributes")

    def __init__(
        self,
        marker: str | None = None,
        opens: tuple[str, ...] | None = None,
        when: When | None = None,
        self_attributes: SelfAttributes = (),
    ) -> None:
        self.marker = marker
        self.opens = opens  # the links after the function, e.g. ("session_scope()",)
        # Only on these branches of its parameters (`conditional_openers`); None: always.
        self.when = when
        # A method's session parameters tied to `self.<attr>` (`receiver_sessions`).
        self.self_attributes = self_attributes

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Summary)
            and self.marker == other.marker
            and self.opens == other.opens
            and self.when == other.when
            and self.self_attributes == other.self_attributes
        )

    def __hash__(self) -> int:
        return hash((self.marker, self.opens, self.when, self.self_attributes))

    def __repr__(self) -> str:
        return (
            f"Summary(marker={self.marker!r}, opens={self.opens!r}, when={self.when!r}, "
            f"self_attributes={self.self_attributes!r})"
        )


_EMPTY: Final = Summary()
# What calling a function opens: (links, its session parameters, when).
_Step = tuple[tuple[str, ...], list[tuple[str, bool, int]], When | None]


class Knowledge:
    """Settings plus everything learned about callables, shared by hooks and commands."""

    def __init__(
        self,
        config: SessionConfig,
        modules: Callable[[], dict[str, MypyFile] | None],
        *,
        daemon: bool = False,
        reporter: Reporter | None = None,
    ) -> None:
        self.config = config
        self.reporter = reporter if reporter is not None else Reporter()
        self._daemon = daemon  # dmypy edits modules in place: keep no name-keyed memos
        self.stub_markers: dict[str, str] = load_markers(config.marker_stubs)
        self._modules = modules
        self._summaries: dict[str, tuple[object, Summary]] = {}
        self._owners: dict[str, tuple[str, MypyFile]] = {}  # "pkg.mod.Class" -> its module
        self._stored: dict[str, tuple[object, dict[str, Summary]]] = {}
        self._in_progress: set[str] = set()
        self._openers: dict[str, bool] = {}
        self._markers: dict[str, str | None] = {}
        self._method_openers: dict[tuple[TypeInfo, str], bool] = {}
        self._receivers: dict[tuple[TypeInfo, str], tuple[bool, str | None]] = {}
        self._param_memo: dict[str, list[tuple[str, bool, int]]] = {}
        self._prepared: dict[str, object] = {}
        self._steps: dict[str, _Step | None] = {}
        self.session_attributes: dict[TypeInfo, list[str]] = {}  # see held._session_attributes
        self.checking: MypyFile | None = None  # the module whose calls the hooks last saw
        # Called when the hooks move to another module (the gate resolves the settings'
        # entries that could not be yet: `settings_resolution`).
        self.on_new_module: Callable[[], None] = lambda: None
        self.decorators = Decorators(config, self._module_of, modules, daemon=daemon)
        # Under dmypy: callers depend on the facts of the modules their answers read.
        self.fact_deps = FactDependencies(modules) if daemon else None

    @property
    def daemon(self) -> bool:
        """Under dmypy, which edits modules in place: no memo may outlive a check."""
        return self._daemon

    def settings_changed(self) -> None:
        """A setting gained a name (`settings_resolution`): drop what was decided by name."""
        self._openers.clear()
        self._method_openers.clear()
        self._receivers.clear()
        self._steps.clear()
        self._summaries.clear()
        self.decorators.forget()

    # -- markers and openers ---------------------------------------------------------------

    def marker_of(self, fullname: str) -> str | None:
        """The marker of a function: from a marker stub, its decorators, or the facts
        stored with its module when the module comes from the cache."""
        marker = self.stub_markers.get(fullname)
        if marker is not None:
            return marker
        if fullname in self._markers:
            return self._markers[fullname]
        module = self._module_of(fullname)
        if module is None:
            return None
        file = module[1]
        if self.fact_deps is not None and not is_library(file):
            self.fact_deps.consulted(module[0])
        if file.is_cache_skeleton or (STORE in file.names and self.fact_deps is None):
            marker = self._read_store(module[0], file).get(fullname, _EMPTY).marker
        else:
            func = _function_node(file, fullname[len(module[0]) + 1 :])
            marker = _decorator_marker(func) if isinstance(func, Decorator) else None
        if not self._daemon:  # outside dmypy a name's definition is fixed for the run
            self._markers[fullname] = marker
        return marker

    def is_opener(self, fullname: str) -> bool:
        """Is the callable named `fullname` a scope opener (SPEC section 2)?"""
        known = self._openers.get(fullname)
        if known is None:
            known = (
                fullname in self.config.scope_factories
                or fullname.rsplit(".", 1)[-1] in self.config.scope_factory_names
                or self.marker_of(fullname) == fullnames.OPENER
                or self._typed_opener(fullname)
            )
            if not self._daemon:
                self._openers[fullname] = known
        return known

    def _typed_opener(self, fullname: str) -> bool:
        """Declared to give a new session (`typed_openers`): decided by the body where the
        checked program has one, by the type elsewhere."""
        node = self._lookup(fullname)
        if not declares_new_session(node, self.config):
            return False
        module = self._module_of(fullname)
        if module is None or is_library(module[1]):
            return True
        return self.summary(fullname).opens is not None

    def constructor_opens(self, info: TypeInfo) -> bool:
        """Does instantiating this class open a session (Session(...), subclasses)?"""
        return self._method_opens(info, "__init__")

    def opener_name(self, expr: Expression) -> str | None:
        """If `expr` calls a scope opener, how to show it ("session_scope()"), else None."""
        if not isinstance(expr, CallExpr):
            return None
        callee = expr.callee
        if isinstance(callee, (NameExpr, MemberExpr)):
            node = callee.node
            if isinstance(node, TypeInfo):
                return f"{node.name}()" if self.constructor_opens(node) else None
            if callee.fullname and self.is_opener(callee.fullname):
                return f"{callee.name}()"
            if isinstance(callee, MemberExpr):
                if callee.name in self.config.scope_factory_names:
                    return f"{callee.name}()"
                owner = _instance_type(callee.expr)
                if owner is not None and (
                    self._method_opens(owner, callee.name) or self._attribute_opens(owner, callee.name)
                ):
                    return render(callee, "...") + "()"
            elif isinstance(node, Var):
                owner = _instance_type(callee)
                if owner is not None and self._method_opens(owner, "__call__"):
                    return f"{callee.name}()"
        elif isinstance(callee, CallExpr) and isinstance(callee.callee, RefExpr):
            # sessionmaker()()
            node = callee.callee.node
            if isinstance(node, TypeInfo) and self._method_opens(node, "__call__"):
                return f"{node.name}()()"
        return None

    def _attribute_opens(self, owner: TypeInfo, name: str) -> bool:
        """`self.session_factory()`: an attribute holding an opener (a `sessionmaker`)."""
        found = owner.get(name)
        node = found.node if found is not None else None
        typ = get_proper_type(node.type) if isinstance(node, Var) else None
        return isinstance(typ, Instance) and self._method_opens(typ.type, "__call__")

    def _method_opens(self, info: TypeInfo, method: str) -> bool:
        key = (info, method)
        known = self._method_openers.get(key)
        if known is None:
            known = any(self.is_opener(f"{base.fullname}.{method}") for base in info.mro)
            if not self._daemon:
                self._method_openers[key] = known
        return known

    # -- summaries -------------------------------------------------------------------------

    def summary(self, fullname: str) -> Summary:
        """The summary of the function (or method) named `fullname`."""
        if not self._daemon:
            known = self._summaries.get(fullname)
            if known is not None:
                return known[1]  # outside dmypy a name's definition is fixed for the run
        module = self._module_of(fullname)
        if module is None:
            return _EMPTY
        file = module[1]
        deps = self.fact_deps
        if deps is not None and not is_library(file):
            deps.consulted(module[0])
        # Under dmypy the stored facts may be older than the bodies: read the bodies.
        if file.is_cache_skeleton or (STORE in file.names and deps is None):
            return self._read_store(module[0], file).get(fullname, _EMPTY)
        hit = self._summaries.get(fullname)
        if hit is not None and hit[0] is file:
            return hit[1]  # library code and non-functions: nothing to summarize
        if is_library(file):
            self._summaries[fullname] = (file, _EMPTY)
            return _EMPTY
        func = _function_node(file, fullname[len(module[0]) + 1 :])
        if func is None:
            self._summaries[fullname] = (file, _EMPTY)
            return _EMPTY
        body = func.body if isinstance(func, FuncDef) else func.func.body
        if hit is not None and hit[0] is body and (deps is None or deps.reuse(fullname)):
            return hit[1]
        if not body.body:
            # Stripped after checking (mypy 1.x): only what `prepare` learned counts.
            if hit is not None:
                return hit[1]
            if STORE in file.names:
                return self._read_store(module[0], file).get(fullname, _EMPTY)
            return _EMPTY
        if fullname in self._in_progress:
            return _EMPTY  # recursion: the outer computation decides
        self._in_progress.add(fullname)
        if deps is not None:
            deps.begin()
        try:
            result = self._summarize(func)
        finally:
            self._in_progress.discard(fullname)
            if deps is not None:
                deps.end(fullname)
        self._summaries[fullname] = (body, result)
        return result

    def prepare(self, file: MypyFile) -> None:
        """Summarize every function of a module while its bodies exist, and store the
        summaries in its symbol table so that they are serialized with it.

        mypy 2.x writes a module's cache (calling `store`) before it checks the function
        bodies. mypy 1.x checks first, strips the bodies, and serializes the tree before it
        calls `report_config_data`; for it, this runs at the first hook of the module
        being checked (a module whose functions open a scope or carry a marker always has
        one: openers, opening callees and markers are hooked)."""
        if self._prepared.get(file.fullname) is file.defs:
            return
        self._prepared[file.fullname] = file.defs
        if file.is_cache_skeleton or is_library(file):
            return
        facts: dict[str, list[object]] = {}
        for name, _ in _functions(file):
            found = self.summary(f"{file.fullname}.{name}")
            if found != _EMPTY:
                facts[name] = [
                    found.marker,
                    list(found.opens) if found.opens is not None else None,
                    to_json(found.when),
                ]
                if found.self_attributes:
                    facts[name].append([list(pair) for pair in found.self_attributes])
        self._inject(file, facts)
        self.decorators.prepare(file)

    def store(self, module_id: str) -> None:
        """Called just before mypy writes a module's cache (see the module docstring)."""
        modules = self._modules()
        file = modules.get(module_id) if modules else None
        if file is not None:
            self.prepare(file)

    def _inject(self, file: MypyFile, facts: dict[str, list[object]]) -> None:
        file.names.pop(STORE, None)
        modules = self._modules()
        if not facts or not modules or "builtins" not in modules:
            return
        str_info = modules["builtins"].names["str"].node
        assert isinstance(str_info, TypeInfo)
        var = Var(STORE, LiteralType(json.dumps(facts, sort_keys=True), Instance(str_info, [])))
        var._fullname = f"{file.fullname}.{STORE}"
        file.names[STORE] = SymbolTableNode(GDEF, var, module_public=False, plugin_generated=True)

    def _read_store(self, module_id: str, file: MypyFile) -> dict[str, Summary]:
        sym = file.names.get(STORE)
        hit = self._stored.get(module_id)
        if hit is not None and hit[0] is sym:
            return hit[1]
        facts: dict[str, Summary] = {}
        node = sym.node if sym is not None else None
        literal = get_proper_type(node.type) if isinstance(node, Var) else None
        if isinstance(literal, LiteralType) and isinstance(literal.value, str):
            try:
                raw = json.loads(literal.value)
            except ValueError:
                raw = {}
            for name, (marker, opens, *rest) in raw.items():
                facts[f"{module_id}.{name}"] = Summary(
                    marker,
                    tuple(opens) if opens is not None else None,
                    from_json(rest[0]) if rest else None,
                    _self_attributes_from_json(rest[1] if len(rest) > 1 else None),
                )
        self._stored[module_id] = (sym, facts)
        return facts

    def _summarize(self, func: FuncDef | Decorator) -> Summary:
        found = self._summarize_opening(func)
        attributes = self_attributes(func, self.config, self._self_attributes_of)
        if not attributes:
            return found
        return Summary(found.marker, found.opens, found.when, attributes)

    def _self_attributes_of(self, fullname: str) -> SelfAttributes:
        return self.summary(fullname).self_attributes

    def _summarize_opening(self, func: FuncDef | Decorator) -> Summary:
        if isinstance(func, Decorator):
            found = self._opens(func.func)
            if found is not None:
                return Summary(_decorator_marker(func), found[0], found[1])
            opens: tuple[str, ...] | None = None
            provider = self.decorators.provider_of(func)
            if provider is not None:
                # @provide_session: called without a session, the decorator opens one.
                opens = ("create_session()",) if provider == "provide_session" else (f"@{provider}",)
            if opens is None and opens_by_declaration(func, self.config):
                opens = (f"{func.func.name}()",)
            return Summary(_decorator_marker(func), opens)
        found = self._opens(func)
        if found is not None:
            return Summary(None, found[0], found[1])
        if opens_by_declaration(func, self.config):
            return Summary(None, (f"{func.name}()",))  # `def get_db() -> Session: ...`
        return Summary(None, None)

    def _opens(self, func: FuncDef) -> tuple[tuple[str, ...], When | None] | None:
        """The first way the function's body opens a scope, as a chain of links, and when
        it opens (`conditional_openers`: None, always, unless every way to open is on a
        branch of the function's own parameters).

        Runs over every call of every function of the project (see `store`), so the
        common cases are decided inline: a call by plain name goes straight to the
        memoized `_step` of its callee."""
        steps = self._steps
        factory_names = self.config.scope_factory_names
        first: tuple[str, ...] | None = None
        alternatives: list[Conjunction] = []
        params: dict[int, Parameter] | None = None
        # CallExpr in a local: compiled, each use of a name imported from another module
        # is a dict lookup, and this test sees every expression of the project.
        call_type = CallExpr
        for expr in get_subexpressions(func.body):  # one compiled traversal, source order
            if type(expr) is not call_type:
                continue
            callee = expr.callee
            node = callee.node if isinstance(callee, RefExpr) else None
            found: tuple[str, ...] | None = None
            when: When | None = None
            target: str | None = None
            if type(callee) is NameExpr and node is not None and type(node) is not Var:
                if type(node) is FuncDef and "." not in node.fullname:
                    # Not a module-level name: a function nested in this one (its own
                    # hop is named in the chain) or in another.
                    if not is_nested_def(func, node) or inside_nested(func, expr):
                        continue
                    inner = self._opens(node)
                    if inner is None:
                        continue
                    found = (node.name, *inner[0])  # its own guards: taken as always
                else:
                    target = callee.fullname
            else:
                target = _callee_fullname(expr, func)
            if found is not None:
                pass
            elif target is None and type(callee) is MemberExpr and callee.node is None:
                # The most common call of all, `obj.method(...)` on a typed local or
                # parameter: what `opener_name` and `_receiver_method` would find, decided
                # once per (class, method).
                if callee.name in factory_names:
                    found = (f"{callee.name}()",)
                else:
                    owner = _instance_type(callee.expr)
                    if owner is None:
                        continue
                    opens, target = self._receiver(owner, callee.name)
                    if opens:
                        found = (render(callee, "...") + "()",)
                    elif target is None:
                        continue
                    node = None
            elif target is None:
                # SessionLocal(), SessionLocal.begin(), sessionmaker()(), obj.session_scope()
                opener = self.opener_name(expr)
                if opener is not None:
                    found = (opener,)
                else:
                    target = _receiver_method(expr)  # store.refresh() on a typed name
                    if target is None:
                        continue
                    node = None
            if found is None and target is not None:
                step = steps[target] if target in steps else self._step(target, node)
                if step is None:
                    continue
                links, session_params, when = step
                if session_params and _passes_session(expr, session_params):
                    continue
                found = links
            # Only now (rare): a call inside a function or lambda nested in this one
            # runs when that one is called, not when this one is (a factory).
            if found is None or inside_nested(func, expr):
                continue
            if params is None:
                params = parameters(func)
            # The call's own arguments may rule out every branch the callee opens on.
            carried = carry(when, expr, params) if when is not None else None
            if carried == ():
                continue
            outer = without_rebound(func, guards_at(func, expr, params))
            if carried is not None:
                kept = tuple(without_rebound(func, conjunction) for conjunction in carried)
                carried = None if any(not conjunction for conjunction in kept) else kept
            if first is None:
                first = found
            if carried is None:
                if not outer:
                    return first, None  # opens whatever the function is given
                alternatives.append(outer)
            else:
                alternatives.extend(outer + conjunction for conjunction in carried)
            if len(alternatives) > 8:
                return first, None
        if first is None:
            return None
        return first, merge(alternatives)

    def _receiver(self, owner: TypeInfo, method: str) -> tuple[bool, str | None]:
        """(does calling `method` on an instance of `owner` open a scope, the method's
        fullname): `opener_name` and `_receiver_method` for a call on a typed name."""
        key = (owner, method)
        known = self._receivers.get(key)
        if known is None:
            opens = self._method_opens(owner, method) or self._attribute_opens(owner, method)
            known = (opens, _method_fullname(owner, method))
            if not self._daemon:
                self._receivers[key] = known
        return known

    def _step(self, target: str, node: SymbolNode | None) -> _Step | None:
        """What calling `target` opens, if anything: (the links of the chain from it, its
        session parameters, which stop the chain when the call passes a session, and when
        it opens)."""
        if target in self._steps:
            return self._steps[target]
        display = target.rsplit(".", 1)[-1]
        step: _Step | None = None
        if isinstance(node, TypeInfo):
            if self.constructor_opens(node):
                step = ((f"{display}()",), [], None)
        elif self.is_opener(target):
            step = ((f"{display}()",), [], None)
        else:
            found = self.summary(target)
            if found.opens is not None and found.marker != fullnames.OWN:
                step = ((display, *found.opens), self._params(target), found.when)
        if not self._daemon and target not in self._in_progress:
            self._steps[target] = step
        return step

    # -- lookups ---------------------------------------------------------------------------

    def _params(self, fullname: str) -> list[tuple[str, bool, int]]:
        known = self._param_memo.get(fullname)
        if known is None:
            node = self._lookup(fullname)
            known = session_params_of(node, self.config) if node is not None else []
            if not self._daemon:
                self._param_memo[fullname] = known
        return known

    def _module_of(self, fullname: str) -> tuple[str, MypyFile] | None:
        owner = fullname.rpartition(".")[0]
        known = self._owners.get(owner)
        if known is not None:
            return known
        modules = self._modules()
        if not modules:
            return None
        name = fullname
        while "." in name:
            name = name.rsplit(".", 1)[0]
            file = modules.get(name)
            if file is not None:
                if not self._daemon:  # a module, once loaded, stays for the run
                    self._owners[owner] = (name, file)
                return name, file
        return None

    def module_of(self, fullname: str) -> tuple[str, MypyFile] | None:
        """The module (its name and tree) that defines `fullname`, if in the build."""
        return self._module_of(fullname)

    def lookup(self, fullname: str) -> SymbolNode | None:
        """The definition named `fullname` (a function, decorated function, class)."""
        return self._lookup(fullname)

    def defined_in_project(self, fullname: str) -> bool:
        """Is `fullname` defined in a module of the checked program (not a library)?"""
        module = self._module_of(fullname)
        return module is not None and not is_library(module[1])

    def _lookup(self, fullname: str) -> SymbolNode | None:
        module = self._module_of(fullname)
        if module is None:
            return None
        return _function_node(module[1], fullname[len(module[0]) + 1 :])


def _self_attributes_from_json(raw: object) -> SelfAttributes:
    """Read back the pairs `prepare` stored; anything else is none."""
    if not isinstance(raw, list):
        return ()
    return tuple(
        (pair[0], pair[1])
        for pair in raw
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(x, str) for x in pair)
    )


def _decorator_marker(func: Decorator) -> str | None:
    for decorator in func.decorators:
        if isinstance(decorator, RefExpr) and decorator.fullname in fullnames.MARKERS:
            return fullnames.MARKERS[decorator.fullname]
    return None


def is_library(file: MypyFile) -> bool:
    if file.is_stub:
        return True
    path = file.path.replace("\\", "/")
    return any(part in path for part in _LIBRARY_PARTS)


def _functions(file: MypyFile) -> Iterator[tuple[str, FuncDef | Decorator]]:
    """Module-level functions and methods of module-level classes, by relative name."""
    for defn in file.defs:
        yield from _defs_named(defn, "")
        if isinstance(defn, ClassDef):
            for item in defn.defs.body:
                yield from _defs_named(item, f"{defn.name}.")


def _defs_named(defn: Statement, prefix: str) -> Iterator[tuple[str, FuncDef | Decorator]]:
    if isinstance(defn, (FuncDef, Decorator)):
        yield f"{prefix}{defn.name}", defn
    elif isinstance(defn, OverloadedFuncDef) and isinstance(defn.impl, (FuncDef, Decorator)):
        yield f"{prefix}{defn.name}", defn.impl


def _function_node(file: MypyFile, relative: str) -> FuncDef | Decorator | None:
    names = file.names
    parts = relative.split(".")
    if len(parts) == 2:
        owner = names.get(parts[0])
        if owner is None or not isinstance(owner.node, TypeInfo):
            return None
        names = owner.node.names
    elif len(parts) != 1:
        return None
    sym = names.get(parts[-1])
    node = sym.node if sym is not None else None
    if isinstance(node, OverloadedFuncDef):
        node = node.impl
    return node if isinstance(node, (FuncDef, Decorator)) else None


def _callee_fullname(call: CallExpr, func: FuncDef) -> str | None:
    callee = call.callee
    if isinstance(callee, MemberExpr) and isinstance(callee.expr, NameExpr) and func.arguments:
        # self.helper() inside a method: resolve through the class.
        is_method = func.info is not FUNC_NO_INFO and not func.is_static
        if is_method and callee.expr.name == func.arguments[0].variable.name:
            found = func.info.get(callee.name)
            if found is not None and found.node is not None and not isinstance(found.node, Var):
                return found.node.fullname
            return None  # an attribute (`self.session_factory()`): see `_receiver`
    if isinstance(callee, RefExpr) and callee.fullname and not isinstance(callee.node, Var):
        return callee.fullname
    return None


def _receiver_method(call: CallExpr) -> str | None:
    """`ti.xcom_push(...)` on a parameter or local with a declared class type: the method."""
    callee = call.callee
    if not isinstance(callee, MemberExpr):
        return None
    owner = _instance_type(callee.expr)
    return _method_fullname(owner, callee.name) if owner is not None else None


def _method_fullname(owner: TypeInfo, name: str) -> str | None:
    """The fullname of the method `name` that `owner` (or a base) defines, if any."""
    found = owner.get(name)
    if found is None or found.node is None or isinstance(found.node, Var):
        return None
    return found.node.fullname


def _passes_session(call: CallExpr, params: list[tuple[str, bool, int]]) -> bool:
    if any(kind in (ARG_STAR, ARG_STAR2) for kind in call.arg_kinds):
        return True
    names = {name for name, _, _ in params}
    if any(name in names for name in call.arg_names if name is not None):
        return True
    positional = sum(1 for name in call.arg_names if name is None)
    return any(index < positional for _, _, index in params)


def _instance_type(expr: Expression) -> TypeInfo | None:
    node = expr.node if isinstance(expr, RefExpr) else None
    typ = get_proper_type(node.type) if isinstance(node, Var) else None
    return typ.type if isinstance(typ, Instance) else None



