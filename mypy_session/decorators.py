"""Decorators that hide a callee's signature, and decorators that provide a session.

SPEC section 2: "A callee behind a decorator that hides its signature (untyped, or typed
`Callable[..., Any]`) has the session parameters of the function under the decorator", and
"Session provider: a decorator that passes a session when the caller gives none".

Two facts are found from a decorator's own body, where it is in the checked program:

- *transparent*: an unannotated decorator that returns the function, or a wrapper defined
  in its body that calls the function with the wrapper's `**kwargs` (`@wraps(func)` or not);
  or a factory (`@deco(option=...)`) that returns such a decorator;
- *provider*: a transparent decorator whose wrapper handles a session keyword itself
  (`kwargs.get("session")`, `"session" in kwargs`, `kwargs["session"] = ...`,
  `func(*args, session=session, **kwargs)`), with any name in `session_param_names`.
  The `session_providers` setting names providers whose body the plugin does not see.

mypy types the result of an untyped decorator as `Any`, and it runs no plugin hook for a
call whose callee is `Any`. So the hook mypy runs for the decorator's application at the
definition (`checker.visit_decorator`) returns, for a transparent decorator, the callable
mypy uses for `Callable[..., Any]`: `def (*Any, **Any) -> Any`, which accepts every call
and returns `Any` as before, so it adds no error of mypy's own; its fallback is
`types.SimpleNamespace`, whose `__getattribute__` / `__setattr__` keep attribute access
on the decorated function as free as on `Any` (`f.__wrapped__`, `f.cache = ...`). The
type is stored in the decorated name's `Var`, so it survives mypy's cache; the call sites
then get hooks, and the session parameters are read from the function under it
(`vocabulary.session_params_of`). The kinds of a module's decorators are stored with the
module (as `knowledge` stores summaries) for the modules that use them from the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Final

from mypy.nodes import (
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    GDEF,
    Block,
    CallExpr,
    ClassDef,
    Decorator,
    Expression,
    ExpressionStmt,
    FuncDef,
    IfStmt,
    MypyFile,
    NameExpr,
    RaiseStmt,
    RefExpr,
    ReturnStmt,
    StrExpr,
    SymbolTableNode,
    TryStmt,
    TypeInfo,
    Var,
    WithStmt,
)
from mypy.plugin import FunctionContext, MethodContext
from mypy.server.subexpr import get_subexpressions
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    LiteralType,
    Type,
    TypeOfAny,
    get_proper_type,
)

from mypy_session.config import SessionConfig

TRANSPARENT: Final = "transparent"
PROVIDER: Final = "provider"
# A factory: `@with_session(expire_on_commit=False)` returns the decorator.
TRANSPARENT_FACTORY: Final = "transparent()"
PROVIDER_FACTORY: Final = "provider()"
# Either, by the call: `def count_it(self, original_function=None)` returns
# `_decorator(original_function)` when given the function (`@METRICS.count_it`) and
# `_decorator` otherwise (`@METRICS.count_it()`), as rucio's metrics decorators do.
TRANSPARENT_EITHER: Final = "transparent?"
PROVIDER_EITHER: Final = "provider?"
PROVIDERS: Final = frozenset((PROVIDER, PROVIDER_FACTORY, PROVIDER_EITHER))
_AS_PROVIDER: Final = {
    TRANSPARENT_FACTORY: PROVIDER_FACTORY,
    PROVIDER_FACTORY: PROVIDER_FACTORY,
    TRANSPARENT_EITHER: PROVIDER_EITHER,
    PROVIDER_EITHER: PROVIDER_EITHER,
}

STORE: Final = "__mypy_session_decorators__"
# The fallback of the callable a transparent decorator's application gets (see above).
_FALLBACK: Final = "types.SimpleNamespace"

# Found by name, as before the setting existed: Airflow's provide_session, whose body
# (`find_session_idx`, `"session" in kwargs`) is in site-packages and never walked.
PROVIDER_NAMES: Final = frozenset(("provide_session",))


class Decorators:
    """The kinds of the decorators of the checked program, by fullname."""

    def __init__(
        self,
        config: SessionConfig,
        module_of: Callable[[str], tuple[str, MypyFile] | None],
        modules: Callable[[], dict[str, MypyFile] | None],
        *,
        daemon: bool,
    ) -> None:
        self.config = config
        self._module_of = module_of
        self._modules = modules
        self._daemon = daemon
        self._kinds: dict[str, str | None] = {}
        self._stored: dict[str, tuple[object, dict[str, str]]] = {}

    def kind_of(self, fullname: str) -> str | None:
        """TRANSPARENT, PROVIDER (or their factories) for the decorator named `fullname`:
        from the setting, its body, or what was stored with its module."""
        if not self._daemon and fullname in self._kinds:
            return self._kinds[fullname]
        kind = self._found(fullname)
        if self._configured(fullname) and kind not in PROVIDERS:
            kind = _AS_PROVIDER.get(kind or "", PROVIDER)
        if not self._daemon:
            self._kinds[fullname] = kind
        return kind

    def forget(self) -> None:
        """The settings changed: decide every decorator's kind again."""
        self._kinds.clear()

    def _configured(self, fullname: str) -> bool:
        providers = self.config.session_providers
        return fullname in providers or fullname.rsplit(".", 1)[-1] in providers

    def _found(self, fullname: str) -> str | None:
        kind: str | None = None
        module = self._module_of(fullname)
        if module is not None:
            name, file = module
            relative = fullname[len(name) + 1 :]
            if file.is_cache_skeleton or STORE in file.names:
                kind = self._read_store(name, file).get(relative)
            else:
                func = _defined(file, relative)
                if func is not None:
                    kind = classify(func, self.config)
        return kind

    def provider_of(self, func: Decorator) -> str | None:
        """The name of the session provider decorating `func`, if one does."""
        for dec in func.decorators:
            target = dec.callee if isinstance(dec, CallExpr) else dec
            if not isinstance(target, RefExpr) or not target.fullname:
                continue
            name = target.fullname.rsplit(".", 1)[-1]
            if name in PROVIDER_NAMES or self.kind_of(target.fullname) in PROVIDERS:
                return name
        return None

    def prepare(self, file: MypyFile) -> None:
        """Store the kinds of the module's decorators in its symbol table, so that they are
        serialized with it (see `knowledge.Knowledge.prepare`, which calls this)."""
        file.names.pop(STORE, None)
        kinds: dict[str, str] = {}
        for name, func in _decorator_candidates(file):
            kind = classify(func, self.config)
            if kind is not None:
                kinds[name] = kind
        if not kinds:
            return
        modules = self._modules()
        if not modules or "builtins" not in modules:
            return
        str_info = modules["builtins"].names["str"].node
        assert isinstance(str_info, TypeInfo)
        var = Var(STORE, LiteralType(json.dumps(kinds, sort_keys=True), Instance(str_info, [])))
        var._fullname = f"{file.fullname}.{STORE}"
        file.names[STORE] = SymbolTableNode(GDEF, var, module_public=False, plugin_generated=True)

    def _read_store(self, module_id: str, file: MypyFile) -> dict[str, str]:
        sym = file.names.get(STORE)
        hit = self._stored.get(module_id)
        if hit is not None and hit[0] is sym:
            return hit[1]
        kinds: dict[str, str] = {}
        node = sym.node if sym is not None else None
        literal = get_proper_type(node.type) if isinstance(node, Var) else None
        if isinstance(literal, LiteralType) and isinstance(literal.value, str):
            try:
                raw = json.loads(literal.value)
            except ValueError:
                raw = {}
            if isinstance(raw, dict):
                kinds = {k: v for k, v in raw.items() if isinstance(v, str)}
        self._stored[module_id] = (sym, kinds)
        return kinds


def _defined(file: MypyFile, relative: str) -> FuncDef | None:
    """The function `relative` names in the module: `deco`, or a method `Class.deco`."""
    owner, _, name = relative.rpartition(".")
    names = file.names
    if owner:
        sym = names.get(owner)
        if sym is None or not isinstance(sym.node, TypeInfo) or "." in owner:
            return None
        names = sym.node.names
    found = names.get(name)
    return found.node if found is not None and isinstance(found.node, FuncDef) else None


def _decorator_candidates(file: MypyFile) -> list[tuple[str, FuncDef]]:
    """The module's functions and its classes' methods (`MetricManager.count_it`)."""
    found: list[tuple[str, FuncDef]] = []
    for defn in file.defs:
        if isinstance(defn, FuncDef):
            found.append((defn.name, defn))
        elif isinstance(defn, ClassDef):
            for stmt in defn.defs.body:
                if isinstance(stmt, FuncDef) and not stmt.is_static and not stmt.is_class:
                    found.append((f"{defn.name}.{stmt.name}", stmt))
    return found


# -- the decorator's body ----------------------------------------------------------------


def classify(func: FuncDef, config: SessionConfig, *, nested: bool = False) -> str | None:
    """What a decorator does, read from its body: TRANSPARENT, PROVIDER, a factory of
    either, or None (anything else). Typed decorators are classified too: a typed provider
    still opens a scope when called without a session; only the hook's type needs an
    untyped one (`hidden_signature`)."""
    # Runs on every function of the project (`prepare`): what it returns is read first,
    # and most functions return something no decorator does (a call, a literal).
    returned: list[Expression | None] = []
    _returned(func.body, returned)
    if not returned:
        return None
    first = 1 if func.info is not FUNC_NO_INFO and not func.is_static else 0  # a method's self
    target = func.arguments[first].variable if len(func.arguments) > first else None
    defs: dict[str, FuncDef] | None = None  # the nested functions by name, when needed
    kinds: set[str] = set()
    for expr in returned:
        if isinstance(expr, CallExpr):
            if target is None:
                return None
            if defs is None:
                defs = _nested_defs(func.body)
            applied = _applied(expr, target, defs)
            if applied is None:
                return None
            # `return _decorator(original_function)`: what that decorator makes of it.
            inner = classify(applied, config, nested=True) if not nested else None
            if inner not in (TRANSPARENT, PROVIDER):
                return None
            kinds.add(inner)
            continue
        if not isinstance(expr, NameExpr):
            return None
        if target is not None and expr.node is target:
            kinds.add(TRANSPARENT)  # registers the function and returns it unchanged
            continue
        if defs is None:
            defs = _nested_defs(func.body)
        wrapper = defs.get(expr.name)
        if wrapper is None:
            return None
        kind = _wrapper_kind(wrapper, target, config) if target is not None else None
        if kind is None and not nested:
            inner = classify(wrapper, config, nested=True)
            if inner == TRANSPARENT:
                kind = TRANSPARENT_FACTORY
            elif inner == PROVIDER:
                kind = PROVIDER_FACTORY
        if kind is None:
            return None
        kinds.add(kind)
    if kinds == {TRANSPARENT, TRANSPARENT_FACTORY}:
        return TRANSPARENT_EITHER
    if kinds == {PROVIDER, PROVIDER_FACTORY}:
        return PROVIDER_EITHER
    if len(kinds) != 1:
        return None
    return kinds.pop()


def _applied(expr: Expression | None, target: Var | None, defs: dict[str, FuncDef]) -> FuncDef | None:
    """The nested decorator `expr` applies to the decorated function, if it is
    `_decorator(target)`."""
    if not isinstance(expr, CallExpr) or target is None or not isinstance(expr.callee, NameExpr):
        return None
    inner = defs.get(expr.callee.name)
    if inner is None or len(expr.args) != 1 or expr.arg_kinds != [ARG_POS]:
        return None
    arg = expr.args[0]
    return inner if isinstance(arg, NameExpr) and arg.node is target else None


def _nested_defs(block: Block) -> dict[str, FuncDef]:
    """Functions defined in the block by name, also under an `if` (one wrapper per
    branch: the last of a name wins)."""
    found: dict[str, FuncDef] = {}
    _collect_defs(block, found)
    return found


def _collect_defs(block: Block, found: dict[str, FuncDef]) -> None:
    for stmt in block.body:
        if isinstance(stmt, FuncDef):
            found[stmt.name] = stmt
        elif isinstance(stmt, Decorator):
            found[stmt.func.name] = stmt.func
        elif isinstance(stmt, IfStmt):
            for body in stmt.body:
                _collect_defs(body, found)
            if stmt.else_body is not None:
                _collect_defs(stmt.else_body, found)


def _returned(block: Block, found: list[Expression | None]) -> None:
    """The expressions the block returns, outside nested functions, in source order."""
    for stmt in block.body:
        if isinstance(stmt, ReturnStmt):
            found.append(stmt.expr)
        elif isinstance(stmt, IfStmt):
            for body in stmt.body:
                _returned(body, found)
            if stmt.else_body is not None:
                _returned(stmt.else_body, found)
        elif isinstance(stmt, TryStmt):
            _returned(stmt.body, found)
            for handler in stmt.handlers:
                _returned(handler, found)
            if stmt.else_body is not None:
                _returned(stmt.else_body, found)
            if stmt.finally_body is not None:
                _returned(stmt.finally_body, found)
        elif isinstance(stmt, WithStmt):
            _returned(stmt.body, found)
        elif isinstance(stmt, Block):
            _returned(stmt, found)


def _wrapper_kind(wrapper: FuncDef, target: Var, config: SessionConfig) -> str | None:
    """A wrapper that calls `target` passing on its `**kwargs` is transparent; one that
    handles a session keyword too is a provider."""
    kwargs = next((arg.variable for arg in wrapper.arguments if arg.kind == ARG_STAR2), None)
    if kwargs is None:
        return None
    if _only_raises(wrapper.body):
        # rucio's `policy_filter`: the function itself, or a stand-in that takes anything
        # and raises (`def raise_funct(*args, **kwargs): raise UndefinedPolicy`).
        return TRANSPARENT
    names = config.session_param_names
    calls_target = provides = False
    for expr in get_subexpressions(wrapper.body):
        if isinstance(expr, CallExpr):
            callee = expr.callee
            if isinstance(callee, NameExpr) and callee.node is target:
                if any(
                    kind == ARG_STAR2 and isinstance(arg, NameExpr) and arg.node is kwargs
                    for arg, kind in zip(expr.args, expr.arg_kinds)
                ):
                    calls_target = True
                if any(name in names for name in expr.arg_names if name is not None):
                    provides = True
        elif isinstance(expr, StrExpr) and expr.value in names:
            provides = True  # kwargs.get("session"), "session" in kwargs, kwargs["session"]
    if not calls_target:
        return None
    return PROVIDER if provides else TRANSPARENT


def _only_raises(block: Block) -> bool:
    """A body that raises and does nothing else (a docstring aside)."""
    body = [
        stmt for stmt in block.body
        if not (isinstance(stmt, ExpressionStmt) and isinstance(stmt.expr, StrExpr))
    ]
    return len(body) == 1 and isinstance(body[0], RaiseStmt)


# -- the hook at the decorator's application -----------------------------------------------


def may_hide(node: object) -> bool:
    """Can applying this function leave mypy with `Any` (a module-level function or an
    instance method without a return annotation, or `-> Any`)? Only those get the hook
    below."""
    if not isinstance(node, FuncDef) or node.is_static or node.is_class:
        return False
    if node.type is None:
        return True
    return isinstance(get_proper_type(getattr(node.type, "ret_type", None)), AnyType)



def hidden_signature(ctx: FunctionContext | MethodContext, kind: str) -> Type:
    """The type of a transparent decorator's application (or, for a factory, of the
    decorator it returns), where mypy would have `Any`; else mypy's own type."""
    if not isinstance(get_proper_type(ctx.default_return_type), AnyType):
        return ctx.default_return_type  # typed somewhere mypy sees: keep mypy's answer
    hidden = _hidden_callable(ctx)
    if kind in (TRANSPARENT_EITHER, PROVIDER_EITHER):
        # Applied to the function (`@count_it`), or called for a decorator (`@count_it()`).
        given = ctx.arg_types[0] if ctx.arg_types else []
        kind = TRANSPARENT if given else TRANSPARENT_FACTORY
    if kind in (TRANSPARENT_FACTORY, PROVIDER_FACTORY):
        anything = AnyType(TypeOfAny.implementation_artifact)
        function = ctx.api.named_generic_type("builtins.function", [])
        return CallableType([anything], [ARG_POS], [None], hidden, function)
    if len(ctx.arg_types) < 1 or len(ctx.arg_types[0]) != 1:
        return ctx.default_return_type
    decorated = get_proper_type(ctx.arg_types[0][0])
    if not isinstance(decorated, CallableType) or decorated.is_type_obj():
        return ctx.default_return_type  # a class, an overload: left as mypy has it
    return hidden


def _hidden_callable(ctx: FunctionContext | MethodContext) -> CallableType:
    # The call's result is the `Any` mypy gives the untyped decorator's result, as a call
    # of the decorated name on `Any` would have had; the arguments are a special form, so
    # the options that report explicit `Any` see nothing new.
    anything = AnyType(TypeOfAny.special_form)
    return CallableType(
        [anything, anything],
        [ARG_STAR, ARG_STAR2],
        [None, None],
        ctx.default_return_type,
        ctx.api.named_generic_type(_FALLBACK, []),
        is_ellipsis_args=True,
    )
