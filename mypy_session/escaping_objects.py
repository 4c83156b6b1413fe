"""ORM objects that escape a session scope the function opened and closed
(`session-detached-return`, issue 12, item 3).

`with session_scope() as s:` (any scope opener, opened while the function held no session)
closes the session at the end of the block. An ORM object loaded in it and handed out of
the function (returned, yielded, stored on `self`), alone or inside a dict, list, tuple,
set, dataclass, pydantic model or named tuple built on the spot, reaches the caller
detached: lazy loads fail, and with `expire_on_commit=True` every attribute does.

What the hook at the opener call knows is only where the scope is: the block's body has
not been checked yet, so the types of what it hands out are unknown. The hook remembers
the scope (`remember`); once mypy has checked the whole module, `check_module` reads the
module's type map (the end-of-module callback of `untyped_sessions`) and reports.

A statement hands an object out of the scope when it is
- inside the block: a `return`, or an assignment to `self.<attr>` (or `self.<attr>[k]`);
- after the block, reached from its end (not in a sibling branch, not after a block or a
  branch that always returns or raises): the same, or a `yield` (a `yield` inside the
  block keeps the scope open while the caller uses the object);
and a *leaf* of the value it hands out is an ORM object (an instance, optional or list of
a mapped class; a typed `dict` / `set` / `tuple` holding them) that comes from the scope:
it mentions a name whose latest binding before the statement is inside the block (the
`as` target included). Not handed out:
- plain values (`obj.id`, `obj.name`, a dataclass of them), and pydantic models built with
  `model_validate(obj)` / `from_orm(obj)`, whose type is not an ORM object;
- objects re-attached to another session: `other.merge(obj)`, or a name last bound from one;
- objects the block detached on purpose: `s.expunge(obj)`, `s.expunge_all()`,
  `make_transient(obj)` (their loaded attributes stay readable: a decision, documented);
- new objects built on the spot (`Lot(...)`): transient, never attached;
- objects of a scope the function did not open (a borrowed session, `session.begin()`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import (
    AssignmentStmt,
    AwaitExpr,
    Block,
    CallExpr,
    Context,
    DictExpr,
    Expression,
    ForStmt,
    FuncItem,
    IfStmt,
    IndexExpr,
    IntExpr,
    ListExpr,
    MemberExpr,
    MypyFile,
    NameExpr,
    OperatorAssignmentStmt,
    RefExpr,
    ReturnStmt,
    SetExpr,
    Statement,
    StrExpr,
    TupleExpr,
    TypeInfo,
    Var,
    WithStmt,
    YieldExpr,
)
from mypy.server.subexpr import get_subexpressions
from mypy.types import CallableType, Instance, TupleType, Type, get_proper_type

from mypy_session import errorcodes
from mypy_session.conditional_openers import always_exits, blocks_of
from mypy_session.knowledge import Knowledge
from mypy_session.scopes import own_expressions, walk_statements
from mypy_session.kept_findings import current, keep
from mypy_session.vocabulary import is_mapped_class, is_mapped_instance, render

_DETACH: Final = frozenset(("expunge", "make_transient", "make_transient_to_detached"))
_PYDANTIC: Final = frozenset(("pydantic.main.BaseModel", "pydantic.BaseModel"))
_TYPED_CONTAINERS: Final = {
    "builtins.dict": "dict",
    "builtins.set": "set",
    "builtins.frozenset": "set",
    "typing.Mapping": "dict",
    "collections.abc.Mapping": "dict",
}
_CONTAINER_WORDS: Final = {ListExpr: "list", SetExpr: "set", TupleExpr: "tuple"}


class ClosedScope:
    """A `with <opener>(...) as x:` a function opened while it held no session."""

    __slots__ = ("path", "func", "stmt", "opener", "function", "target")

    def __init__(
        self, path: str, func: FuncItem, stmt: WithStmt, opener: str, function: str, target: str
    ) -> None:
        self.path = path
        self.func = func
        self.stmt = stmt
        self.opener = opener  # how the opener call reads: "session_scope()"
        self.function = function  # the top-level function's fullname, for the baseline
        self.target = target  # mypy's fine-grained target the opener call is checked in


# Scopes seen by the hooks, by path, until mypy has checked their module; under dmypy,
# with the number of the update step they were seen in (`kept_findings.step`).
_pending: dict[str, tuple[int, dict[int, ClosedScope]]] = {}


def forget() -> None:
    _pending.clear()


def remember(scope: ClosedScope) -> None:
    """The hook at the opener call: check this scope once the module is checked (a
    function that mypy defers is seen twice: kept once). Under dmypy a function is also
    checked alone, because it had errors (no end of its module follows): what such a check
    remembers is dropped by the next step of the update (`kept_findings.current`)."""
    step = current()
    seen = _pending.get(scope.path)
    if seen is None or seen[0] != step:
        seen = _pending[scope.path] = (step, {})
    seen[1][id(scope.stmt)] = scope


def check_module(file: MypyFile, checker: TypeChecker | None, knowledge: Knowledge) -> None:
    """mypy has checked `file`: report what escapes the scopes its hooks remembered (in
    this step of a dmypy update)."""
    pending = _pending.pop(file.path, None)
    if pending is None or pending[0] != current() or checker is None or checker.tree is not file:
        return  # without the module's own checker there is no type map to read
    types = checker._type_maps[0]
    errors = checker.errors
    reported: set[int] = set()
    for scope in pending[1].values():
        for context, message in _escapes(scope, types):
            if id(context) in reported:
                continue
            reported.add(id(context))
            before = len(errors.error_info_map.get(file.path, ()))
            knowledge.reporter.fail(
                checker, message, context, errorcodes.SESSION_DETACHED_RETURN,
                function=scope.function, path=file.path,
            )
            if knowledge.daemon:
                # Kept across dmypy updates, filed under the function the opener is in:
                # mypy checks it again in every update, and the opener's hook puts the
                # kept findings back (`kept_findings`).
                keep(file, errors.error_info_map.get(file.path, [])[before:], scope.target)


# -- one scope ---------------------------------------------------------------------------


def _escapes(scope: ClosedScope, types: dict[Expression, Type]) -> Iterator[tuple[Context, str]]:
    func, stmt = scope.func, scope.stmt
    body = stmt.body.body
    if not body:
        return
    start = (stmt.line, stmt.column)
    end = _end(stmt)
    detached, everything = _detached_on_purpose(stmt)
    if everything:
        return
    bindings = _bindings(func)
    paths = _paths(func.body)
    exits_after = _leaves_scope_closed(stmt, paths)
    for inner, _ in walk_statements(func.body.body):
        where = (inner.line, inner.column)
        inside = start < where <= end
        if not inside:
            if where <= end or not _reached_after(stmt, inner, paths, exits_after):
                continue
        for context, verb, value in _handed_out(inner, func, inside):
            names = _from_scope(value, where, start, end, bindings, detached, types)
            if not names and isinstance(context, ReturnStmt):
                names = _declared_leaf(func, value, where, start, end, bindings, detached)
            if names:
                yield context, errorcodes.detached_return(scope.opener, names, verb)


def _handed_out(
    stmt: Statement, func: FuncItem, inside: bool
) -> Iterator[tuple[Context, str, Expression]]:
    """(where, how, value) for each value the statement hands out of the function."""
    if isinstance(stmt, ReturnStmt) and stmt.expr is not None:
        yield stmt, "returned", stmt.expr
    elif isinstance(stmt, AssignmentStmt):
        for lvalue in stmt.lvalues:
            attribute = _self_attribute(lvalue, func)
            if attribute is not None:
                yield stmt, f'stored on "{attribute}"', stmt.rvalue
    if not inside:
        for expr in own_expressions(stmt):
            if isinstance(expr, YieldExpr) and expr.expr is not None:
                yield expr, "yielded", expr.expr


def _self_attribute(lvalue: Expression, func: FuncItem) -> str | None:
    if isinstance(lvalue, IndexExpr):
        lvalue = lvalue.base
    if not isinstance(lvalue, MemberExpr) or not isinstance(lvalue.expr, NameExpr):
        return None
    if not func.arguments or getattr(func, "is_static", False) or func.info is None:
        return None
    first = func.arguments[0].variable
    if lvalue.expr.node is not first or first.name not in ("self", "cls"):
        return None
    return f"{first.name}.{lvalue.name}"


def _from_scope(
    value: Expression,
    where: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    bindings: _Bindings,
    detached: set[int],
    types: dict[Expression, Type],
) -> list[tuple[str, str, bool]]:
    """(name, container word, plural) of each ORM leaf of `value` that comes from the
    scope (see the module docstring)."""
    found: list[tuple[str, str, bool]] = []
    for leaf, word, plural in _orm_leaves(value, types, "", 0):
        if any(
            _bound_in_scope(name, where, start, end, bindings, detached)
            for name in _names_in(leaf, where, start, end, bindings)
        ):
            found.append((_shown(leaf), word, plural))
    return found


def _declared_leaf(
    func: FuncItem,
    value: Expression,
    where: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    bindings: _Bindings,
    detached: set[int],
) -> list[tuple[str, str, bool]]:
    """A `return` whose value mypy types loosely (`list(session.scalars(table.select()))`
    is `list[Any]`) in a function declared to return ORM objects: the declaration says."""
    declared: Type | None = func.type.ret_type if isinstance(func.type, CallableType) else None
    if func.is_coroutine:
        proper = get_proper_type(declared)
        if isinstance(proper, Instance) and proper.args:
            declared = proper.args[-1]
    if not is_mapped_instance(declared):
        return []
    names = _names_in(value, where, start, end, bindings)
    if not any(_bound_in_scope(n, where, start, end, bindings, detached) for n in names):
        return []
    proper = get_proper_type(declared)
    plural = isinstance(proper, Instance) and not is_mapped_class(proper.type)
    return [(_shown(value), "", plural)]


def _orm_leaves(
    value: Expression, types: dict[Expression, Type], word: str, depth: int
) -> Iterator[tuple[Expression, str, bool]]:
    typ = types.get(value)
    if is_mapped_instance(typ):
        if isinstance(value, CallExpr) and _constructed_class(value) is not None:
            return  # `Lot(...)`: a new object, never attached
        proper = get_proper_type(typ)
        plural = isinstance(proper, Instance) and not is_mapped_class(proper.type)
        yield value, word, plural
        return
    if depth > 4:
        return
    if isinstance(value, DictExpr):
        for key, item in value.items:
            if key is not None:
                yield from _orm_leaves(key, types, "dict", depth + 1)
            yield from _orm_leaves(item, types, "dict", depth + 1)
        return
    container = _CONTAINER_WORDS.get(type(value))
    if container is not None:
        assert isinstance(value, (ListExpr, SetExpr, TupleExpr))
        for item in value.items:
            yield from _orm_leaves(item, types, container, depth + 1)
        return
    if isinstance(value, CallExpr):
        built = _constructed_class(value)
        if built is not None and _is_record_class(built):
            shown = "dict" if built.fullname == "builtins.dict" else f'"{built.name}"'
            for arg in value.args:
                yield from _orm_leaves(arg, types, shown, depth + 1)
        return
    held = _typed_container(typ)
    if held is not None:
        yield value, word or held, True


def _constructed_class(call: CallExpr) -> TypeInfo | None:
    callee = call.callee
    if isinstance(callee, RefExpr) and isinstance(callee.node, TypeInfo):
        return callee.node
    return None


def _is_record_class(info: TypeInfo) -> bool:
    """A dataclass, attrs class, named tuple, pydantic model or `dict(...)`."""
    if info.fullname == "builtins.dict":
        return True
    if "dataclass" in info.metadata or "attrs" in info.metadata or info.tuple_type is not None:
        return True
    return any(base.fullname in _PYDANTIC for base in info.mro)


def _typed_container(typ: Type | None) -> str | None:
    """`dict[str, Lot]`, `set[Lot]`, `tuple[Lot, int]`: the word for it, if it holds ORM
    objects."""
    proper = get_proper_type(typ)
    if isinstance(proper, TupleType):
        return "tuple" if any(is_mapped_instance(item) for item in proper.items) else None
    if isinstance(proper, Instance):
        word = _TYPED_CONTAINERS.get(proper.type.fullname)
        if word is not None and any(is_mapped_instance(arg) for arg in proper.args):
            return word
    return None


def _merged_into(leaf: Expression) -> Expression | None:
    """`other.merge(obj)`: the session it is merged into."""
    if (
        isinstance(leaf, CallExpr)
        and isinstance(leaf.callee, MemberExpr)
        and leaf.callee.name == "merge"
    ):
        return leaf.callee.expr
    return None


def _names_in(
    expr: Expression,
    where: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    bindings: _Bindings,
) -> list[NameExpr]:
    """The names the object comes from; none if it is merged into a session that is not
    the scope's (one that stays open)."""
    target = _merged_into(expr)
    if target is not None and not any(
        _bound_in_scope(name, where, start, end, bindings, set())
        for name in _names_in(target, where, start, end, bindings)
    ):
        return []
    found = [sub for sub in get_subexpressions(expr) if isinstance(sub, NameExpr)]
    if isinstance(expr, NameExpr):
        found.append(expr)
    return found


def _bound_in_scope(
    name: NameExpr,
    where: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    bindings: _Bindings,
    detached: set[int],
    depth: int = 0,
) -> bool:
    node = name.node
    if not isinstance(node, Var) or id(node) in detached:
        return False
    latest: tuple[tuple[int, int], object] | None = None
    for at, rvalue in bindings.get(id(node), ()):
        if at < where and (latest is None or at > latest[0]):
            latest = (at, rvalue)
    if latest is None:
        return False
    if not start <= latest[0] <= end:
        return depth < 3 and _carried_out(node, latest, where, start, end, bindings, detached, depth)
    rvalue = latest[1]
    # `x = other.merge(x)`: from the scope only if merged into the scope's own session.
    if not isinstance(rvalue, Expression):
        return True
    return bool(_names_in(rvalue, latest[0], start, end, bindings))


def _carried_out(
    node: Var,
    latest: tuple[tuple[int, int], object],
    where: tuple[int, int],
    start: tuple[int, int],
    end: tuple[int, int],
    bindings: _Bindings,
    detached: set[int],
    depth: int,
) -> bool:
    """A name bound after the block that still carries its objects: the target of
    `for row in rows:` over a name bound in the block, or a list that such an object is
    added to (`result.append(row)`) between its binding and `where`. Only ORM-typed
    targets and arguments count (`for i in ids:` over plain values does not)."""
    at, source = latest
    if isinstance(source, _Iterated):
        if not _holds_orm(node.type):
            return False
        return any(
            _bound_in_scope(n, at, start, end, bindings, detached, depth + 1)
            for n in _names_in(source.expr, at, start, end, bindings)
        )
    for added_at, arg in _additions.get(id(node), ()):
        if latest[0] < added_at < where and isinstance(arg, NameExpr) and isinstance(arg.node, Var):
            if _holds_orm(arg.node.type) and _bound_in_scope(
                arg, added_at, start, end, bindings, detached, depth + 1
            ):
                return True
    return False


def _holds_orm(typ: Type | None) -> bool:
    return is_mapped_instance(typ) or _typed_container(typ) is not None


class _Iterated:
    """The source of a `for` target: the iterated expression."""

    __slots__ = ("expr",)

    def __init__(self, expr: Expression) -> None:
        self.expr = expr


# id() of a local's variable -> (where, the argument) of `name.append(arg)` and the like;
# filled by `_bindings` for the function being looked at.
_additions: dict[int, list[tuple[tuple[int, int], Expression]]] = {}
_ADD: Final = frozenset(("append", "add", "extend", "insert", "appendleft"))


def _shown(leaf: Expression) -> str:
    """How the object reads in the message: `ingredient`, `rows[0]`, `s.get_one(...)`."""
    if isinstance(leaf, IndexExpr):
        index = leaf.index
        inner = index.name if isinstance(index, NameExpr) else (
            str(index.value) if isinstance(index, (IntExpr, StrExpr)) else "..."
        )
        if isinstance(index, StrExpr):
            inner = repr(index.value)
        text = f"{_shown(leaf.base)}[{inner}]"
    elif isinstance(leaf, CallExpr):
        text = f"{_shown(leaf.callee)}({'...' if leaf.args else ''})"
    elif isinstance(leaf, MemberExpr):
        text = f"{_shown(leaf.expr)}.{leaf.name}"
    elif isinstance(leaf, AwaitExpr):
        text = f"await {_shown(leaf.expr)}"
    else:
        text = render(leaf, "the value")
    return text if len(text) <= 60 else text[:57] + "..."


# id() of a local's variable -> where it is bound, and from a `merge` call (else None)
_Bindings = dict[int, list[tuple[tuple[int, int], object]]]  # Expression, `_Iterated` or None


def _bindings(func: FuncItem) -> _Bindings:
    """Where each local is bound (by id() of its variable), and whether from a `merge`."""
    found: _Bindings = {}
    _additions.clear()

    def bind(target: Expression | None, at: tuple[int, int], merged: object) -> None:
        if isinstance(target, NameExpr) and isinstance(target.node, Var):
            found.setdefault(id(target.node), []).append((at, merged))
        elif isinstance(target, (TupleExpr, ListExpr)):
            for item in target.items:
                bind(item, at, merged)

    for stmt, _ in walk_statements(func.body.body):
        at = (stmt.line, stmt.column)
        if isinstance(stmt, AssignmentStmt):
            merged = stmt.rvalue if _merged_into(stmt.rvalue) is not None else None
            for lvalue in stmt.lvalues:
                bind(lvalue, at, merged)
        elif isinstance(stmt, OperatorAssignmentStmt):
            bind(stmt.lvalue, at, None)
        elif isinstance(stmt, ForStmt):
            bind(stmt.index, at, _Iterated(stmt.expr))
        elif isinstance(stmt, WithStmt):
            for target in stmt.target:
                bind(target, at, None)
        for expr in own_expressions(stmt):
            if (
                isinstance(expr, CallExpr)
                and isinstance(expr.callee, MemberExpr)
                and expr.callee.name in _ADD
                and isinstance(expr.callee.expr, NameExpr)
                and isinstance(expr.callee.expr.node, Var)
                and expr.args
            ):
                _additions.setdefault(id(expr.callee.expr.node), []).append((at, expr.args[-1]))
    return found


def _detached_on_purpose(stmt: WithStmt) -> tuple[set[int], bool]:
    """Variables the block expunges (or makes transient), and whether it expunges all."""
    names: set[int] = set()
    for inner, _ in walk_statements(stmt.body.body):
        for expr in own_expressions(inner):
            if not isinstance(expr, CallExpr):
                continue
            callee = expr.callee
            name = callee.name if isinstance(callee, (NameExpr, MemberExpr)) else ""
            if name == "expunge_all":
                return names, True
            if name in _DETACH and expr.args and isinstance(expr.args[0], NameExpr):
                node = expr.args[0].node
                if isinstance(node, Var):
                    names.add(id(node))
    return names, False


# -- is a statement after the block reached from its end? ---------------------------------

# id(stmt) -> the blocks that enclose it, outermost first
_Paths = dict[int, tuple[Block, ...]]


def _paths(body: Block) -> _Paths:
    found: _Paths = {}

    def walk(block: Block, outer: tuple[Block, ...]) -> None:
        path = (*outer, block)
        for stmt in block.body:
            found[id(stmt)] = path
            for child in _children(stmt):
                walk(child, path)

    walk(body, ())
    return found


def _children(stmt: Statement) -> list[Block]:
    if isinstance(stmt, IfStmt):
        return [*stmt.body, *([stmt.else_body] if stmt.else_body is not None else [])]
    return blocks_of(stmt)


def _leaves_scope_closed(stmt: WithStmt, paths: _Paths) -> list[Block]:
    """The blocks that hold the `with` (innermost first, its own body first)."""
    return [stmt.body, *reversed(paths.get(id(stmt), ()))]


def _reached_after(stmt: WithStmt, later: Statement, paths: _Paths, around: list[Block]) -> bool:
    """Is `later` (after the `with` in the source) reached from the end of its block:
    not in a sibling branch, and no block in between always returns or raises?"""
    mine = paths.get(id(stmt), ())
    theirs = paths.get(id(later), ())
    common = 0
    while common < min(len(mine), len(theirs)) and mine[common] is theirs[common]:
        common += 1
    if common == 0:
        return False
    # The statement of the common block that holds the `with`: `later` must come after it.
    holder: Statement = stmt
    if common < len(mine):
        holder = _owner(mine[common - 1], mine[common]) or stmt
    if (later.line, later.column) <= _end(holder):
        return False  # a sibling branch of the same statement
    between = around[: len(around) - common]  # the with body and the blocks not shared
    return not any(always_exits(block.body) for block in between)


def _owner(block: Block, child: Block) -> Statement | None:
    for stmt in block.body:
        if any(inner is child for inner in _children(stmt)):
            return stmt
    return None


def _end(stmt: Statement) -> tuple[int, int]:
    return (stmt.end_line if stmt.end_line is not None else stmt.line, 1 << 30)
