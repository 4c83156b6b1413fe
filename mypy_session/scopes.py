"""One walk over a function body: which `with` scopes enclose each call.

mypy gives a plugin no parent pointers, so the plugin walks a body once, on the first
session-related call in it. The walk visits statements only: for each simple statement
and each header expression (a `with` item, an `if` condition...) it records a *region*:
its source span, the `with` items around it (innermost first) and the names known to be
`None` there (mypy's binder does not reach into nested functions, so closures need this
syntactic narrowing). A call or lambda is placed by its position; the expressions of a
region are looked at only when a call in it is asked about (most never are), which is
also when `x or open()` / `a if x else open()` narrowing is applied. The result is cached per body object: dmypy keeps a FuncDef but
swaps its body, which makes the cache miss exactly when it must.

mypy's compiled visitors cannot be subclassed from interpreted code, so statements are
walked by hand; expressions are listed with `mypy.server.subexpr.get_subexpressions`.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from typing import Final, cast

from mypy.nodes import (
    AssertStmt,
    AssignmentStmt,
    AwaitExpr,
    Block,
    BreakStmt,
    CallExpr,
    ClassDef,
    ComparisonExpr,
    ConditionalExpr,
    ContinueStmt,
    DelStmt,
    DictionaryComprehension,
    ExpressionStmt,
    Decorator,
    Expression,
    ForStmt,
    FuncDef,
    FuncItem,
    GeneratorExpr,
    IfStmt,
    LambdaExpr,
    ListComprehension,
    MatchStmt,
    MemberExpr,
    MypyFile,
    NameExpr,
    Node,
    OpExpr,
    OperatorAssignmentStmt,
    OverloadedFuncDef,
    PassStmt,
    RaiseStmt,
    RefExpr,
    ReturnStmt,
    SetComprehension,
    Statement,
    StrExpr,
    TryStmt,
    TupleExpr,
    UnaryExpr,
    WhileStmt,
    WithStmt,
)
from mypy.server.subexpr import get_subexpressions


# The records below are plain classes, not dataclasses: compiled by mypyc, a dataclass's
# constructor still runs the interpreted `__init__` the dataclass decorator generates
# (several thousand instructions per object; these are made for every statement and call
# the plugin looks at), and decorating it costs about a millisecond at import.


class WithItem:
    """One `with <expr> as <target>` item that encloses some code."""

    __slots__ = ("expr", "target", "_opens")

    def __init__(self, expr: Expression, target: Expression | None) -> None:
        self.expr = expr
        self.target = target
        self._opens: bool | None = None  # does `expr` call a scope opener? (asked once)

    def opens(self, opener_name: Callable[[Expression], str | None]) -> bool:
        if self._opens is None:
            self._opens = opener_name(self.expr) is not None
        return self._opens


class LocalBinding:
    """`<name> = <call>` in the body: a candidate held session from that point on."""

    __slots__ = ("name", "rvalue", "end")

    def __init__(self, name: NameExpr, rvalue: CallExpr, end: tuple[int, int]) -> None:
        self.name = name
        self.rvalue = rvalue
        self.end = end


class DefPoint:
    """A point of a body (a call, or where a nested function or lambda is defined)."""

    __slots__ = ("scopes", "position", "known_none")

    def __init__(
        self, scopes: tuple[WithItem, ...], position: tuple[int, int], known_none: frozenset[str]
    ) -> None:
        self.scopes = scopes
        self.position = position
        self.known_none = known_none  # names that a syntactic narrowing makes None here


class WithBlock:
    """A `with` statement of the body, with the scopes it opens around its body."""

    __slots__ = ("stmt", "items")

    def __init__(self, stmt: WithStmt, items: tuple[WithItem, ...]) -> None:
        self.stmt = stmt
        self.items = items  # its own items, innermost first


class Region:
    """A simple statement or a header expression, with what holds throughout it."""

    __slots__ = ("start", "end", "scopes", "known_none", "node", "precise")

    def __init__(
        self,
        start: tuple[int, int],
        end: tuple[int, int],
        scopes: tuple[WithItem, ...],
        known_none: frozenset[str],
        node: Node,
    ) -> None:
        self.start = start
        self.end = end
        self.scopes = scopes
        self.known_none = known_none
        self.node = node
        self.precise: dict[int, DefPoint] | None = None  # per call / lambda, on demand


class BodyScopes:
    """What the walk of one body found."""

    __slots__ = (
        "regions", "locals", "defs", "defs_at", "withs", "assigned", "rebound", "iterated",
        "listeners", "_starts",
    )

    def __init__(self) -> None:
        self.regions: list[Region] = []  # in source order
        self.locals: list[LocalBinding] = []
        self.defs: dict[int, DefPoint] = {}
        self.defs_at: dict[tuple[int, int], DefPoint] = {}  # the same, by position
        self.withs: list[WithBlock] = []
        # id(call) -> the name it is assigned to (`x = f(...)`, `x = await f(...)`)
        self.assigned: dict[int, NameExpr] = {}
        self.rebound: set[str] = set()  # every name the body assigns
        self.iterated: set[int] = set()  # id() of each `for` statement's iterable
        # id() of nested functions registered as after-commit / after-rollback listeners
        self.listeners: set[int] = set()
        self._starts: list[tuple[int, int]] | None = None

    def point_of(self, node: Node) -> DefPoint | None:
        """Where a call, nested function or lambda of this body sits."""
        found = self.defs.get(id(node))
        if found is not None:
            return found
        if isinstance(node, FuncDef):
            # mypy checks a function with a value-restricted TypeVar once per value, on
            # copies of its body (nested functions included) while the original stays on
            # the scope stack: find the nested copy by where it is defined.
            found = self.defs_at.get(position(node))
            if found is not None:
                return found
        if self._starts is None:
            self._starts = [region.start for region in self.regions]
        pos = position(node)
        index = bisect.bisect_right(self._starts, pos) - 1
        if index < 0:
            return None
        region = self.regions[index]
        if pos > region.end:
            return None
        if region.precise is None:
            region.precise = _precise(region)
        found = region.precise.get(id(node))
        return found if found is not None else DefPoint(region.scopes, pos, region.known_none)


_cache: dict[int, tuple[object, BodyScopes]] = {}


def forget() -> None:
    """Drop every cached walk (a new build: the old trees must not stay alive)."""
    _cache.clear()


def scopes_of(container: FuncItem | MypyFile) -> BodyScopes:
    """The (cached) walk of a function body, or of a module's top level."""
    body: object = container.defs if isinstance(container, MypyFile) else container.body
    key = id(container)
    hit = _cache.get(key)
    if hit is not None and hit[0] is body:
        return hit[1]
    found = BodyScopes()
    statements = container.defs if isinstance(container, MypyFile) else container.body.body
    _Walker(found).block(statements, (), frozenset())
    _cache[key] = (body, found)
    return found


def position(node: Node) -> tuple[int, int]:
    return (node.line, node.column)


class _Walker:
    def __init__(self, out: BodyScopes) -> None:
        self.out = out

    def block(
        self, statements: Sequence[Statement], scopes: tuple[WithItem, ...], none: frozenset[str]
    ) -> frozenset[str]:
        """Walk statements in order; return the names known to be None after them."""
        for stmt in statements:
            none = self.statement(stmt, scopes, none)
        return none

    def statement(
        self, stmt: Statement, scopes: tuple[WithItem, ...], none: frozenset[str]
    ) -> frozenset[str]:
        if type(stmt) in _SIMPLE:  # most statements: one region, nothing else to learn
            self.region(stmt, scopes, none)
            if type(stmt) is ExpressionStmt:
                return _after_expression(stmt.expr, none)
            if type(stmt) is DelStmt:
                return _after_del(stmt, none)
            return none
        # Most frequent first: each test of a class imported from mypy costs a lookup.
        if isinstance(stmt, AssignmentStmt):
            self.region(stmt, scopes, none)
            for lvalue in stmt.lvalues:
                bound = self.bind(lvalue)
                if none:  # usually empty: nothing to take away
                    none = none - bound
            rvalue = stmt.rvalue.expr if isinstance(stmt.rvalue, AwaitExpr) else stmt.rvalue
            if isinstance(rvalue, CallExpr):
                end = (stmt.end_line or stmt.line, stmt.end_column or stmt.column)
                for lvalue in stmt.lvalues:
                    if isinstance(lvalue, NameExpr):
                        self.out.locals.append(LocalBinding(lvalue, rvalue, end))
                        self.out.assigned[id(rvalue)] = lvalue
            return none
        if isinstance(stmt, Block):
            return self.block(stmt.body, scopes, none)
        if isinstance(stmt, WithStmt):
            inner = scopes
            own: tuple[WithItem, ...] = ()
            for expr, target in zip(stmt.expr, stmt.target):
                self.region(expr, inner, none)
                item = WithItem(expr, target)
                inner, own = (item, *inner), (item, *own)
                none = none - self.bind(target)
            self.out.withs.append(WithBlock(stmt, own))
            self.block(stmt.body.body, inner, none)
            return none
        if isinstance(stmt, IfStmt):
            return self.if_stmt(stmt, scopes, none)
        if isinstance(stmt, (WhileStmt, ForStmt)):
            if isinstance(stmt, WhileStmt):
                self.region(stmt.expr, scopes, none)
            else:
                self.region(stmt.expr, scopes, none)
                self.out.iterated.add(id(stmt.expr))
                none = none - self.bind(stmt.index)
            self.block(stmt.body.body, scopes, none)
            if stmt.else_body is not None:
                self.block(stmt.else_body.body, scopes, none)
            return none
        if isinstance(stmt, TryStmt):
            self.block(stmt.body.body, scopes, none)
            for typ, handler in zip(stmt.types, stmt.handlers):
                if typ is not None:
                    self.region(typ, scopes, none)
                # `except IntegrityError:` after a failed flush: the session's transaction
                # is dead until it is rolled back, so no session is held in the handler.
                failed = none | {FAILED} if typ is not None and _is_db_error(typ) else none
                self.block(handler.body, scopes, failed)
            if stmt.else_body is not None:
                self.block(stmt.else_body.body, scopes, none)
            if stmt.finally_body is not None:
                self.block(stmt.finally_body.body, scopes, none)
            return none
        if isinstance(stmt, MatchStmt):
            self.region(stmt.subject, scopes, none)
            for guard, body in zip(stmt.guards, stmt.bodies):
                if guard is not None:
                    self.region(guard, scopes, none)
                self.block(body.body, scopes, none)
            return none
        if isinstance(stmt, (FuncDef, Decorator, OverloadedFuncDef)):
            self.definition(stmt, scopes, none)
            return none
        if isinstance(stmt, ClassDef):
            return none  # methods of a nested class are functions of their own
        if isinstance(stmt, OperatorAssignmentStmt):
            self.bind(stmt.lvalue)
        if isinstance(stmt, AssertStmt):
            self.region(stmt.expr, scopes, none)
            return _narrow(stmt.expr, none)[0]  # past the assert, the condition holds
        self.region(stmt, scopes, none)
        return none

    def if_stmt(
        self, stmt: IfStmt, scopes: tuple[WithItem, ...], none: frozenset[str]
    ) -> frozenset[str]:
        outcomes: list[frozenset[str]] = []
        exits_all = True
        for cond, body in zip(stmt.expr, stmt.body):
            self.region(cond, scopes, none)
            if_true, if_false = _narrow(cond, none)
            after = self.block(body.body, scopes, if_true)
            if not _always_exits(body.body):
                outcomes.append(after)
                exits_all = False
            none = if_false
        if stmt.else_body is not None:
            after = self.block(stmt.else_body.body, scopes, none)
            if not _always_exits(stmt.else_body.body):
                outcomes.append(after)
                exits_all = False
        else:
            outcomes.append(none)
            exits_all = False
        if exits_all or not outcomes:
            return none
        merged = outcomes[0]
        for other in outcomes[1:]:
            merged &= other
        return merged

    def definition(
        self,
        stmt: FuncDef | Decorator | OverloadedFuncDef,
        scopes: tuple[WithItem, ...],
        none: frozenset[str],
    ) -> None:
        funcs: list[FuncDef] = []
        if isinstance(stmt, Decorator):
            for dec in stmt.decorators:
                self.region(dec, scopes, none)
            funcs.append(stmt.func)
            if is_post_transaction_listener(stmt):
                self.out.listeners.add(id(stmt.func))
        elif isinstance(stmt, OverloadedFuncDef):
            for item in stmt.items:
                funcs.append(item.func if isinstance(item, Decorator) else item)
            if stmt.impl is not None:
                impl = stmt.impl
                funcs.append(impl.func if isinstance(impl, Decorator) else impl)
        else:
            funcs.append(stmt)
        for func in funcs:
            point = DefPoint(scopes, position(func), none)
            self.out.defs[id(func)] = point
            self.out.defs_at.setdefault(point.position, point)

    def bind(self, target: Expression | None) -> frozenset[str]:
        if isinstance(target, NameExpr):  # the common case, without building a set
            self.out.rebound.add(target.name)
            return frozenset((target.name,))
        names = _bound_names(target)
        self.out.rebound.update(names)
        return names

    def region(self, node: Node, scopes: tuple[WithItem, ...], none: frozenset[str]) -> None:
        end_line = node.end_line
        end = (end_line, node.end_column or _FAR) if end_line else (node.line, _FAR)
        self.out.regions.append(Region((node.line, node.column), end, scopes, none, node))


def _precise(region: Region) -> dict[int, DefPoint]:
    """Every call and lambda of a region, with `or` / conditional narrowing applied."""
    scopes, none = region.scopes, region.known_none
    node = region.node
    subs: list[Expression] = list(get_subexpressions(node))
    if isinstance(node, Expression):
        subs.insert(0, node)
    out: dict[int, DefPoint] = {}
    # mypy's classes in locals (compiled, a name from another module is a dict lookup)
    call_type, lambda_type, op_type, conditional_type = CallExpr, LambdaExpr, OpExpr, ConditionalExpr
    for sub in subs:
        kind = type(sub)
        if kind is call_type or kind is lambda_type:
            out[id(sub)] = DefPoint(scopes, position(sub), none)
    # `session or open()` and `x if session else open()`: mypy's binder leaves an
    # instance "maybe falsy", so narrow by hand inside the other operand.
    for sub in subs:
        if type(sub) is op_type and sub.op == "or":
            _, if_false = _narrow(sub.left, none)
            _renarrow(sub.right, scopes, if_false, out)
        elif type(sub) is conditional_type:
            if_true, if_false = _narrow(sub.cond, none)
            _renarrow(sub.if_expr, scopes, if_true, out)
            _renarrow(sub.else_expr, scopes, if_false, out)
    return out


def _renarrow(
    expr: Expression, scopes: tuple[WithItem, ...], none: frozenset[str], out: dict[int, DefPoint]
) -> None:
    for sub in (expr, *get_subexpressions(expr)):
        if isinstance(sub, CallExpr):
            known = out.get(id(sub))
            extra = known.known_none if known is not None else frozenset()
            out[id(sub)] = DefPoint(scopes, position(sub), none | extra)


_FAR: Final = 10**9
# Statements with no nested block and nothing the walk learns from (no binding, narrowing
# or definition): each is a single region.
_SIMPLE: Final = frozenset((ExpressionStmt, ReturnStmt, RaiseStmt, DelStmt, PassStmt))


def _bound_names(target: Expression | None) -> frozenset[str]:
    if isinstance(target, NameExpr):
        return frozenset((target.name,))
    if target is None:
        return frozenset()
    return frozenset(e.name for e in get_subexpressions(target) if isinstance(e, NameExpr))


def _narrow(cond: Expression, none: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """Names known None when `cond` is true, and when it is false."""
    if isinstance(cond, ComparisonExpr) and len(cond.operators) == 1:
        left, right = cond.operands
        if isinstance(right, NameExpr) and right.fullname == "builtins.None":
            name = left.name if isinstance(left, NameExpr) else None
            if name is not None and cond.operators[0] in ("is", "=="):
                return none | {name}, none - {name}
            if name is not None and cond.operators[0] in ("is not", "!="):
                return none - {name}, none | {name}
    if isinstance(cond, UnaryExpr) and cond.op == "not" and isinstance(cond.expr, NameExpr):
        return none | {cond.expr.name}, none - {cond.expr.name}
    if isinstance(cond, NameExpr):
        return none - {cond.name}, none | {cond.name}
    if isinstance(cond, OpExpr) and cond.op == "and":
        true_left, _ = _narrow(cond.left, none)
        true_both, _ = _narrow(cond.right, true_left)
        return true_both, none
    return none, none


def _always_exits(body: Sequence[Statement]) -> bool:
    return bool(body) and isinstance(body[-1], (ReturnStmt, RaiseStmt, ContinueStmt, BreakStmt))


def returns_within(stmt: WithStmt) -> list[ReturnStmt]:
    """The `return <value>` statements inside a `with` body (not in nested functions)."""
    return [
        inner
        for inner, _ in walk_statements(stmt.body.body)
        if isinstance(inner, ReturnStmt) and inner.expr is not None
    ]


def walk_statements(
    statements: Sequence[Statement], *, into_functions: bool = False, loops: int = 0
) -> list[tuple[Statement, int]]:
    """Every statement under `statements` in source order (each before what it contains),
    with how many loops enclose it; the bodies of nested functions and classes only if
    `into_functions`. A list, built by one recursive pass: nested generators cost a
    frame per level for every statement, and this runs over every function mypy checks
    (benchmarks/results/overhead-compiled.md)."""
    found: list[tuple[Statement, int]] = []
    _walk_into(statements, into_functions, loops, found)
    return found


def _walk_into(
    statements: Sequence[Statement],
    into_functions: bool,
    loops: int,
    found: list[tuple[Statement, int]],
) -> None:
    # By exact type: none of these node classes has a subclass, and `isinstance` against a
    # class of mypy's own compiled library is a slow generic call from this one.
    for stmt in statements:
        found.append((stmt, loops))
        kind = type(stmt)
        if kind is Block:
            _walk_into(cast(Block, stmt).body, into_functions, loops, found)
        elif kind is WhileStmt or kind is ForStmt:
            loop = cast("WhileStmt | ForStmt", stmt)
            _walk_into(loop.body.body, into_functions, loops + 1, found)
            if loop.else_body is not None:
                _walk_into(loop.else_body.body, into_functions, loops, found)
        elif kind is WithStmt:
            _walk_into(cast(WithStmt, stmt).body.body, into_functions, loops, found)
        elif kind is IfStmt:
            branch = cast(IfStmt, stmt)
            for body in branch.body:
                _walk_into(body.body, into_functions, loops, found)
            if branch.else_body is not None:
                _walk_into(branch.else_body.body, into_functions, loops, found)
        elif kind is TryStmt:
            attempt = cast(TryStmt, stmt)
            _walk_into(attempt.body.body, into_functions, loops, found)
            for handler in attempt.handlers:
                _walk_into(handler.body, into_functions, loops, found)
            if attempt.else_body is not None:
                _walk_into(attempt.else_body.body, into_functions, loops, found)
            if attempt.finally_body is not None:
                _walk_into(attempt.finally_body.body, into_functions, loops, found)
        elif kind is MatchStmt:
            for body in cast(MatchStmt, stmt).bodies:
                _walk_into(body.body, into_functions, loops, found)
        elif into_functions:
            if kind is Decorator:
                _walk_into(cast(Decorator, stmt).func.body.body, into_functions, loops, found)
            elif kind is FuncDef:
                _walk_into(cast(FuncDef, stmt).body.body, into_functions, loops, found)
            elif kind is ClassDef:
                _walk_into(cast(ClassDef, stmt).defs.body, into_functions, loops, found)


def functions_in(defs: Sequence[Statement], prefix: str = "") -> list[tuple[str, FuncDef | Decorator]]:
    """(class prefix, definition) of every function and method, nested classes included."""
    found: list[tuple[str, FuncDef | Decorator]] = []
    for stmt in defs:
        if isinstance(stmt, (FuncDef, Decorator)):
            found.append((prefix, stmt))
        elif isinstance(stmt, OverloadedFuncDef) and stmt.impl is not None:
            found.append((prefix, stmt.impl))
        elif isinstance(stmt, ClassDef):
            found.extend(functions_in(stmt.defs.body, f"{prefix}{stmt.name}."))
    return found


def _is_compound(stmt: Statement) -> bool:
    return isinstance(
        stmt,
        (Block, IfStmt, ForStmt, WhileStmt, WithStmt, TryStmt, MatchStmt, FuncDef, Decorator,
         OverloadedFuncDef, ClassDef),
    )


def own_expressions(stmt: Statement) -> list[Expression]:
    """Every expression the statement evaluates itself: all of a simple statement's, a
    compound statement's headers (not its bodies: `walk_statements` yields those)."""
    if not _is_compound(stmt):
        return get_subexpressions(stmt)
    if isinstance(stmt, IfStmt):
        exprs: list[Expression] = list(stmt.expr)
    elif isinstance(stmt, ForStmt):
        exprs = [stmt.expr, stmt.index]
    elif isinstance(stmt, WhileStmt):
        exprs = [stmt.expr]
    elif isinstance(stmt, WithStmt):
        exprs = [*stmt.expr, *(t for t in stmt.target if t is not None)]
    elif isinstance(stmt, MatchStmt):
        exprs = [stmt.subject, *(g for g in stmt.guards if g is not None)]
    elif isinstance(stmt, Decorator):
        exprs = list(stmt.decorators)
    else:
        return []
    return [sub for expr in exprs for sub in get_subexpressions(expr)]


def uses_within(stmt: WithStmt, var: object) -> bool:
    """Does the `with` body use the variable `var` (other than re-attaching it with
    `session.merge(var)`)?"""
    for inner in stmt.body.body:
        subs = get_subexpressions(inner)
        merged = {
            id(arg)
            for expr in subs
            if isinstance(expr, CallExpr)
            and isinstance(expr.callee, MemberExpr)
            and expr.callee.name == "merge"
            for arg in expr.args
        }
        for expr in subs:
            if isinstance(expr, NameExpr) and expr.node is var and id(expr) not in merged:
                return True
    return False


# Session events that fire once the transaction is over: the session handed to the
# listener cannot run SQL in it, and nothing the listener calls can join it.
POST_TRANSACTION_EVENTS: Final = frozenset(
    ("after_commit", "after_rollback", "after_soft_rollback", "after_transaction_end")
)


def is_post_transaction_listener(decorated: Decorator) -> bool:
    """`@event.listens_for(target, "after_commit")` and the like."""
    for dec in decorated.decorators:
        if (
            isinstance(dec, CallExpr)
            and isinstance(dec.callee, RefExpr)
            and dec.callee.fullname == "sqlalchemy.event.api.listens_for"
            and len(dec.args) >= 2
            and isinstance(dec.args[1], StrExpr)
            and dec.args[1].value in POST_TRANSACTION_EVENTS
        ):
            return True
    return False


_CONSUMERS: Final = frozenset(
    f"builtins.{name}"
    for name in ("list", "tuple", "set", "frozenset", "dict", "sorted", "sum", "any", "all", "min", "max")
)


def iterated_here(container: FuncItem | MypyFile, call: CallExpr) -> bool:
    """Is the generator that `call` makes run where it is made: the iterable of a `for` or
    of a comprehension, or the argument of a builtin that consumes it (`list(gen())`)?"""
    body = scopes_of(container)
    if id(call) in body.iterated:
        return True
    if body._starts is None:
        body._starts = [region.start for region in body.regions]
    index = bisect.bisect_right(body._starts, position(call)) - 1
    if index < 0:
        return False
    node = body.regions[index].node
    for sub in (node, *get_subexpressions(node)):
        if isinstance(sub, (GeneratorExpr, DictionaryComprehension)):
            if any(seq is call for seq in sub.sequences):
                return True
        elif isinstance(sub, (ListComprehension, SetComprehension)):
            if any(seq is call for seq in sub.generator.sequences):
                return True
        elif isinstance(sub, CallExpr) and isinstance(sub.callee, NameExpr):
            if sub.callee.fullname in _CONSUMERS and any(arg is call for arg in sub.args):
                return True
    return False


def _after_expression(expr: Expression, none: frozenset[str]) -> frozenset[str]:
    """`name.close()`: the function is done with that session, which is not held from here
    on (until the name is rebound). `name.rollback()` ends a failed transaction (F4)."""
    if isinstance(expr, AwaitExpr):
        expr = expr.expr
    if not (isinstance(expr, CallExpr) and isinstance(expr.callee, MemberExpr)):
        return none
    method = expr.callee.name
    if method == "rollback" and FAILED in none:
        return none - {FAILED}
    if method == "close" and not expr.args and isinstance(expr.callee.expr, NameExpr):
        return none | {expr.callee.expr.name}
    return none


def _after_del(stmt: DelStmt, none: frozenset[str]) -> frozenset[str]:
    """`del session`: the name is unbound, so no session is held through it (and
    `pass session=session` would fail) until it is bound again."""
    targets = stmt.expr.items if isinstance(stmt.expr, TupleExpr) else [stmt.expr]
    names = {target.name for target in targets if isinstance(target, NameExpr)}
    return none | names if names else none


# In `known_none`: inside `except <database error>:`, before a rollback() (F4).
FAILED: Final = "*failed transaction*"


def _is_db_error(typ: Expression) -> bool:
    """An exception class (or a tuple of them) from `sqlalchemy.exc`, other than those a
    result raises about its rows (`scalar_one()` found none or several): they leave the
    transaction usable, and rucio's `except NoResultFound: Model(...).save(session=session)`
    goes on with it."""
    items = typ.items if isinstance(typ, TupleExpr) else [typ]
    return any(
        isinstance(item, RefExpr)
        and item.fullname.startswith("sqlalchemy.exc.")
        and item.fullname not in _RESULT_ERRORS
        for item in items
    )


_RESULT_ERRORS: Final = frozenset(
    ("sqlalchemy.exc.NoResultFound", "sqlalchemy.exc.MultipleResultsFound")
)
