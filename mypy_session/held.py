"""Which session is held at a point of a function body (SPEC section 2, "Held session").

Innermost first: the target of an enclosing `with` over a scope opener or a session-typed
value; a local bound from a scope opener or a session-typed call; a session parameter that
flow narrowing does not make `None` here (asked of mypy's own binder, and of the walk's
syntactic narrowing for what the binder leaves open, such as `if not session:`);
`self.<attr>` of a session type; and, in a nested function or lambda without a session
parameter of its own, what the enclosing function holds where the nested one is defined.

`passed_parameter` answers the question a `session-mismatch` needs (is the argument a
parameter that is not the held session?) mostly without walking the body.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import (
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    CallExpr,
    Decorator,
    Expression,
    FuncDef,
    FuncItem,
    MemberExpr,
    MypyFile,
    NameExpr,
    Node,
    TypeInfo,
    Var,
)
from mypy.types import Type

from mypy_session.compat import current_function
from mypy_session.knowledge import Knowledge
from mypy_session.scopes import FAILED, is_post_transaction_listener, DefPoint, WithItem, position, scopes_of
from mypy_session.vocabulary import (
    OPTIONAL,
    is_any,
    is_none,
    render,
    session_kind,
    session_param_kind,
)

WITH: Final = "with"
LOCAL: Final = "local"
PARAMETER: Final = "parameter"
ATTRIBUTE: Final = "attribute"


class HeldSession:
    """A session variable in sight of a call, as the user would write it. (A plain class:
    see the note in `scopes` on compiled dataclasses.)"""

    __slots__ = ("text", "kind", "var", "enclosing", "held")

    def __init__(
        self,
        text: str,
        kind: str,
        var: Var | None = None,
        enclosing: bool = False,
        held: bool = True,
    ) -> None:
        self.text = text  # "session", "sess", "self.session"
        self.kind = kind  # WITH, LOCAL, PARAMETER or ATTRIBUTE
        self.var = var  # the variable, for names
        self.enclosing = enclosing  # from an enclosing function (closure or lambda)
        self.held = held  # False: a parameter that narrowing makes None here


class Sight:
    """What a call site sees: the held session, found only if a check asks for it.

    Candidates are produced innermost first, and only until the held one is found; the
    walk of the function body happens on the first request."""

    __slots__ = ("_candidates", "_held", "_done", "_none_parameter")

    def __init__(self, candidates: Iterator[HeldSession]) -> None:
        self._candidates = candidates
        self._held: HeldSession | None = None
        self._done = False
        self._none_parameter = False

    @property
    def held(self) -> HeldSession | None:
        while self._held is None and self._advance():
            pass
        return self._held

    def _advance(self) -> bool:
        if self._done:
            return False
        candidate = next(self._candidates, None)
        if candidate is None:
            self._done = True
            return False
        if self._held is None and candidate.held:
            self._held = candidate
        elif candidate.kind == PARAMETER and not candidate.held and not candidate.enclosing:
            self._none_parameter = True
        return True

    @property
    def none_parameter(self) -> bool:
        """No session is held here because the function's own optional session parameter
        is narrowed to None (pattern A's fallback, pattern B's `else session_scope()`)."""
        return self.held is None and self._none_parameter


def sight_at_call(api: TypeChecker, call: CallExpr, knowledge: Knowledge) -> Sight:
    """The innermost session held where `call` is being checked, and the others in sight."""
    stack = list(api.scope.stack)
    func = current_function(api.scope)
    container: FuncItem | MypyFile = func if func is not None else _module(stack)
    return Sight(_candidates_at(api, call, container, stack, knowledge))


def _candidates_at(
    api: TypeChecker,
    call: CallExpr,
    container: FuncItem | MypyFile,
    stack: list[TypeInfo | FuncItem | MypyFile],
    knowledge: Knowledge,
) -> Iterator[HeldSession]:
    # A generator: the body walk happens only if a check asks for the held session.
    found = scopes_of(container).point_of(call)
    if found is None:
        here = _Point((), position(call), frozenset(), binder=api)
    else:
        # mypy's binder does not narrow `if not session:` (an instance may be falsy),
        # so the syntactic narrowing of the walk is consulted too.
        here = _Point(found.scopes, found.position, found.known_none, binder=api)
    yield from _in_sight(container, here, stack, knowledge)


def passed_parameter(api: TypeChecker, var: Var, knowledge: Knowledge) -> str | None:
    """Without walking the body: is `var`, passed for a session parameter, a parameter
    that may not be the held session? "narrowed" (an own session parameter that mypy
    narrows to None here), "maybe" (an own parameter still `Session | None` here: the
    mismatch if a scope inside holds another session), "outer" (an enclosing function's
    parameter, while this function has a session parameter of its own: the
    `_impl(sess)` case), or None (anything else: a held session or a local)."""
    func = current_function(api.scope)
    if func is None:
        return None
    own = own_session_params(func, knowledge)
    for _, param in own:
        if param is var:
            probe = NameExpr(var.name)
            probe.node = var
            narrowed = api.binder.get(probe)
            if is_none(narrowed):
                return "narrowed"
            current = narrowed if narrowed is not None else var.type
            return "maybe" if session_kind(current, knowledge.config) == OPTIONAL else None
    if not own:
        return None
    for entry in api.scope.stack:
        if isinstance(entry, FuncItem) and entry is not func:
            if any(arg.variable is var for arg in entry.arguments):
                return "outer"
    return None


class _Point:
    __slots__ = ("scopes", "position", "known_none", "binder")

    def __init__(
        self,
        scopes: tuple[WithItem, ...],
        position: tuple[int, int],
        known_none: frozenset[str],
        binder: TypeChecker | None,
    ) -> None:
        self.scopes = scopes
        self.position = position
        self.known_none = known_none  # syntactic narrowing, where the binder is not live
        self.binder = binder  # live narrowing, at the call being checked only


def _in_sight(
    container: FuncItem | MypyFile,
    point: _Point,
    stack: list[TypeInfo | FuncItem | MypyFile],
    knowledge: Knowledge,
) -> Iterator[HeldSession]:
    enclosing = False
    while True:
        if isinstance(container, FuncItem) and _is_listener(container, stack):
            return  # it runs once the transaction it listens to is over: nothing is held
        for candidate in _candidates_here(container, point, knowledge):
            if enclosing:
                candidate = HeldSession(
                    candidate.text, candidate.kind, candidate.var, True, candidate.held
                )
            yield candidate
        if not isinstance(container, FuncItem):
            return
        outer = _enclosing_function(container, stack)
        if outer is None:
            return
        definition: DefPoint | None = scopes_of(outer).point_of(container)
        if definition is None:
            return
        # A nested function with a session parameter of its own holds only that one;
        # the enclosing function's sessions stay in sight (passing them is a mismatch).
        own = bool(own_session_params(container, knowledge))
        point = _Point(definition.scopes, definition.position, definition.known_none, None)
        container = outer
        if own:
            for candidate in _candidates_here(container, point, knowledge):
                yield HeldSession(candidate.text, candidate.kind, candidate.var, True, False)
            return
        enclosing = True


def _is_listener(func: FuncItem, stack: list[TypeInfo | FuncItem | MypyFile]) -> bool:
    """Is `func` an after-commit / after-rollback listener (see `scopes`)?"""
    outer = _enclosing_function(func, stack)
    if outer is not None:
        return id(func) in scopes_of(outer).listeners
    if not isinstance(func, FuncDef) or not func.is_decorated:
        return False
    names = func.info.names if func.info is not FUNC_NO_INFO else _module(stack).names
    sym = names.get(func.name)
    node = sym.node if sym is not None else None
    return isinstance(node, Decorator) and is_post_transaction_listener(node)


def _candidates_here(
    container: FuncItem | MypyFile, point: _Point, knowledge: Knowledge
) -> Iterator[HeldSession]:
    config = knowledge.config
    if FAILED in point.known_none:
        return  # in `except <database error>:` before a rollback: no session is usable
    known_none = point.known_none
    for item in point.scopes:
        # `del session` / `session.close()` inside the `with`: not held from there on.
        if isinstance(item.target, NameExpr) and item.target.name in known_none:
            continue
        if _holds_with(item, point, knowledge):
            target = item.target
            var = target.node if isinstance(target, NameExpr) and isinstance(target.node, Var) else None
            yield HeldSession(render(target, "session"), WITH, var)
    for binding in reversed(scopes_of(container).locals):
        if binding.end >= point.position or binding.name.name in known_none:
            continue
        # A typed local holds a session if its type says so (`scope = session_scope()`
        # is a context manager, not a session); an untyped one if an opener made it.
        local_type = _type_at(binding.name, point)
        if session_kind(local_type, config) is not None or (
            is_any(local_type) and knowledge.opener_name(binding.rvalue) is not None
        ):
            var = binding.name.node if isinstance(binding.name.node, Var) else None
            yield HeldSession(binding.name.name, LOCAL, var)
    if not isinstance(container, FuncItem):
        return
    for name, var in own_session_params(container, knowledge):
        probe = NameExpr(name)
        probe.node = var
        narrowed_none = name in point.known_none or (
            point.binder is not None and is_none(_type_at(probe, point))
        )
        yield HeldSession(name, PARAMETER, var, held=not narrowed_none)
    attribute = _held_attribute(container, knowledge, point)
    if attribute is not None:
        yield attribute


def scope_holder(item: WithItem, knowledge: Knowledge) -> str | None:
    """The name a `with` item binds to a session (by opener, name or declared type), if any:
    the same rule as for a held session, without a call's narrowing."""
    if _holds_with(item, _Point((), (0, 0), frozenset(), None), knowledge):
        target = item.target
        return target.name if isinstance(target, NameExpr) else None
    return None


def _holds_with(item: WithItem, point: _Point, knowledge: Knowledge) -> bool:
    target = item.target
    if not isinstance(target, (NameExpr, MemberExpr)):
        return False
    if item.opens(knowledge.opener_name):
        return True
    if isinstance(target, NameExpr) and target.name in knowledge.config.session_param_names:
        return True
    return session_kind(_type_at(target, point), knowledge.config) is not None


def _type_at(expr: Expression, point: _Point) -> Type | None:
    """The narrowed type of a name where the call is, else its declared type."""
    if point.binder is not None and isinstance(expr, NameExpr) and expr.node is not None:
        narrowed = point.binder.binder.get(expr)
        if narrowed is not None:
            return narrowed
    node = expr.node if isinstance(expr, (NameExpr, MemberExpr)) else None
    return node.type if isinstance(node, Var) else None


_params_cache: dict[int, tuple[FuncItem, object, list[tuple[str, Var]]]] = {}


def forget() -> None:
    """Drop every cached parameter list (a new build: the old trees must not stay alive)."""
    _params_cache.clear()


def own_session_params(func: FuncItem, knowledge: Knowledge) -> list[tuple[str, Var]]:
    """The function's own session parameters, with the variables that hold them.
    Cached per function and body (dmypy swaps a changed function's body)."""
    hit = _params_cache.get(id(func))
    if hit is not None and hit[0] is func and hit[1] is func.body:
        return hit[2]
    found = _own_session_params(func, knowledge)
    _params_cache[id(func)] = (func, func.body, found)
    return found


def _own_session_params(func: FuncItem, knowledge: Knowledge) -> list[tuple[str, Var]]:
    config = knowledge.config
    found = []
    skip_self = isinstance(func, FuncDef) and func.info is not FUNC_NO_INFO and not func.is_static
    arg_types = getattr(func.type, "arg_types", None)
    for index, arg in enumerate(func.arguments):
        if (skip_self and index == 0) or arg.kind in (ARG_STAR, ARG_STAR2):
            continue
        declared = arg.variable.type if arg.variable.type is not None else arg.type_annotation
        if arg_types is not None and index < len(arg_types):
            declared = arg_types[index]
        name = arg.variable.name
        if session_param_kind(name, declared, config) is not None:
            found.append((name, arg.variable))
    return found


def _held_attribute(func: FuncItem, knowledge: Knowledge, point: _Point) -> HeldSession | None:
    if not isinstance(func, FuncDef) or func.info is FUNC_NO_INFO or func.is_static:
        return None
    if func.is_class or not func.arguments or func.name in ("__init__", "__new__"):
        return None  # a constructor is where the attribute gets its session
    self_name = func.arguments[0].variable.name
    for name in _session_attributes(func.info, knowledge):
        if not _attribute_is_none(func, name, point):
            return HeldSession(f"{self_name}.{name}", ATTRIBUTE)
    return None


def _session_attributes(info: TypeInfo, knowledge: Knowledge) -> list[str]:
    """Session-typed attributes of a class, those named like a session parameter first.
    Memoized per class outside dmypy (which edits classes in place)."""
    memo = knowledge.session_attributes
    known = memo.get(info)
    if known is None:
        known = _find_session_attributes(info, knowledge)
        if not knowledge.daemon:
            memo[info] = known
    return known


def _find_session_attributes(info: TypeInfo, knowledge: Knowledge) -> list[str]:
    config = knowledge.config
    named: list[str] = []
    others: list[str] = []
    for base in info.mro:
        if base.fullname == "builtins.object":
            break
        for name, sym in base.names.items():
            node = sym.node
            if not isinstance(node, Var) or node.is_classvar:
                continue
            if name.isupper():
                # A constant, not a session the instance holds: airflow's operators import
                # the `NEW_SESSION` sentinel (typed Session) into their class body. (mypy
                # makes such an import a class attribute like any other, also in its cache.)
                continue
            if session_param_kind(name, node.type, config) is None:
                continue
            (named if name in config.session_param_names else others).append(name)
    return named + others


def _attribute_is_none(func: FuncDef, name: str, point: _Point) -> bool:
    """Does the binder narrow `self.<name>` to None here (`if self._session is None:`)?"""
    if point.binder is None:
        return False
    receiver = NameExpr(func.arguments[0].variable.name)
    receiver.node = func.arguments[0].variable
    probe = MemberExpr(receiver, name)
    return is_none(point.binder.binder.get(probe))


def _enclosing_function(
    func: FuncItem, stack: list[TypeInfo | FuncItem | MypyFile]
) -> FuncItem | None:
    for index, entry in enumerate(stack):
        if entry is func:
            outer = stack[index - 1] if index > 0 else None
            return outer if isinstance(outer, FuncItem) else None
    return None


def _module(stack: list[TypeInfo | FuncItem | MypyFile]) -> MypyFile:
    first = stack[0]
    assert isinstance(first, MypyFile)
    return first


