"""Facts about session code the plugin did not analyse, so that PASS never means "not
looked at" (SPEC section 3, last paragraph).

A function with a session parameter is *not analysed* where mypy never checked its session
code, so that no hook ran there:
- `UNTYPED`: an unannotated function (or one nested in it) while `check_untyped_defs` is
  off for its module: mypy skips the body;
- `UNREACHABLE`: statements using the session, or calling a function that takes a
  session (where a dropped session would be reported), that mypy found unreachable (after a
  `return` / `raise`, a `NoReturn` call, a comparison typed `Never`...): mypy checks no
  expression there; found at the end of the module's check from mypy's type map (an
  expression mypy checked has a type in it). Blocks that mypy's semantic analysis drops on
  purpose (`if TYPE_CHECKING:`, platform and version checks) are not counted;
- `FAILED`: a hook in the function met code the plugin could not understand and skipped it
  (outside debug mode; `MYPY_SESSION_DEBUG` re-raises instead).

- `ANY_RECEIVER`: a call on a receiver mypy types as `Any` (`ti.set_state(...)` on an
  unannotated `ti`) that passes no session while one is held, where the methods of that
  name the module can reach differ in taking a session (`any_receivers`): which one runs
  is not known.

The end-of-module walk (`untyped_sessions`) finds them; `checks/not_analysed.py` reports
them as `session-not-analysed` (off by default); a recording run (`audit`) keeps them.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Final

from mypy.nodes import (
    Block,
    CallExpr,
    MemberExpr,
    RefExpr,
    SymbolNode,
    TypeInfo,
    Expression,
    ForStmt,
    IfStmt,
    MatchStmt,
    NameExpr,
    Statement,
    TryStmt,
    WhileStmt,
    WithStmt,
    ReturnStmt,
    RaiseStmt,
    BreakStmt,
    ContinueStmt,
)

from mypy_session.config import SessionConfig
from mypy_session.vocabulary import session_params_of

_EXITS: Final = (ReturnStmt, RaiseStmt, BreakStmt, ContinueStmt)

UNTYPED: Final = "untyped"
UNREACHABLE: Final = "unreachable"
FAILED: Final = "failed"
ANY_RECEIVER: Final = "any-receiver"
REASONS: Final = (UNREACHABLE, UNTYPED, ANY_RECEIVER, FAILED)  # in the order the audit counts them


class NotAnalysed:
    """One function whose session code was skipped. (A plain class: see `scopes`.)"""

    __slots__ = (
        "path", "function", "line", "reason", "after", "context_line", "context_column", "detail",
    )

    def __init__(
        self,
        path: str,
        function: str,
        line: int,
        reason: str,
        *,
        after: int | None = None,
        context_line: int | None = None,
        context_column: int = 0,
        detail: str = "",
    ) -> None:
        self.path = path
        self.function = function  # fullname of the function ("pkg.mod.Class.method")
        self.line = line  # where the function is defined
        self.reason = reason  # UNTYPED, UNREACHABLE or FAILED
        self.after = after  # UNREACHABLE: the last line mypy checked before the skipped code
        self.context_line = context_line if context_line is not None else line
        self.context_column = context_column  # where the finding is reported
        self.detail = detail  # ANY_RECEIVER: the call whose callee is not known ("ti.run()")

    @property
    def text(self) -> str:
        """How the audit and the message say it: "not analysed: unreachable after line 12"."""
        return f"not analysed: {describe(self.reason, self.after, self.detail)}"

    def __repr__(self) -> str:
        return f"NotAnalysed({self.function!r}, {self.text!r})"


def describe(reason: str, after: int | None = None, detail: str = "") -> str:
    if reason == UNTYPED:
        return "untyped (check_untyped_defs is off)"
    if reason == UNREACHABLE:
        return f"unreachable after line {after}" if after else "unreachable"
    if reason == ANY_RECEIVER:
        where = f" at line {after}" if after else ""
        return (
            f"the callee of {detail or 'a call'}{where} is not known "
            "(its receiver is typed Any; methods of that name differ in taking a session)"
        )
    return "the plugin could not analyse it (run with MYPY_SESSION_DEBUG=1 to see why)"


def remedy(reason: str) -> str:
    """What makes the skipped code analysed (the audit's "what to do")."""
    if reason == UNTYPED:
        return "annotate the function, or set check_untyped_defs = true for its module"
    if reason == ANY_RECEIVER:
        return "annotate the receiver (the parameter or variable) with its class"
    if reason == UNREACHABLE:
        return (
            "find why mypy stops before it (a NoReturn call, a comparison typed Never); "
            "remove the dead code or make it reachable"
        )
    return "run with MYPY_SESSION_DEBUG=1 to see the traceback, and report it"


class Reach:
    """Which statements of a body mypy checked. From the module's type map where it is
    known (a checked expression has a type in it), else syntactically: what follows a
    `return`, `raise`, `break` or `continue` in its block is unreachable."""

    __slots__ = ("_types", "_dead")

    def __init__(self, types: Mapping[Expression, object] | None, body: Sequence[Statement]):
        self._types = types
        self._dead: set[int] = set()
        if types is None:
            _mark_dead(body, self._dead, False)

    def checked(self, stmt: Statement, exprs: Sequence[Expression]) -> bool:
        types = self._types
        if types is None:
            return id(stmt) not in self._dead
        return any(expr in types for expr in exprs)


def statements(body: Sequence[Statement]) -> Iterator[Statement]:
    """The statements of a body in source order, nested blocks included, nested
    functions and classes not, and without the blocks that semantic analysis drops on
    purpose (`if TYPE_CHECKING:`, platform and version checks)."""
    for stmt, dropped in _statements(body, False):
        if not dropped:
            yield stmt


def uses(exprs: Sequence[Expression], session_vars: set[int]) -> bool:
    """Do the expressions name one of the variables (by id)?"""
    return any(isinstance(e, NameExpr) and id(e.node) in session_vars for e in exprs)


def is_exit(stmt: Statement) -> bool:
    """`return`, `raise`, `break`, `continue`: what ends a block."""
    return isinstance(stmt, _EXITS)


def calls_session_service(exprs: Sequence[Expression], config: SessionConfig) -> bool:
    """Do the expressions call a function that takes a session (`save(order_id)`, which
    drops the held session)? Semantic analysis binds names in unreachable code too:
    `save`, `module.save`; `Class.method` is looked up in the class."""
    for expr in exprs:
        if isinstance(expr, CallExpr) and isinstance(expr.callee, RefExpr):
            if session_params_of(_callee_node(expr.callee), config):
                return True
    return False


def _callee_node(callee: RefExpr) -> SymbolNode | None:
    if callee.node is None and isinstance(callee, MemberExpr):
        owner = callee.expr
        if isinstance(owner, RefExpr) and isinstance(owner.node, TypeInfo):
            found = owner.node.get(callee.name)
            return found.node if found is not None else None
    return callee.node


def _mark_dead(body: Sequence[Statement], dead: set[int], inherited: bool) -> None:
    gone = inherited
    for stmt in body:
        if gone:
            dead.add(id(stmt))
        for block in _blocks(stmt):
            _mark_dead(block.body, dead, gone)
        if isinstance(stmt, _EXITS):
            gone = True


def _statements(
    statements: Sequence[Statement], dropped: bool
) -> Iterator[tuple[Statement, bool]]:
    """Every statement in source order, not entering nested functions or classes;
    `dropped`: inside a block that semantic analysis marked unreachable on purpose."""
    for stmt in statements:
        yield stmt, dropped
        for block in _blocks(stmt):
            yield from _statements(block.body, dropped or block.is_unreachable)


def _blocks(stmt: Statement) -> list[Block]:
    if isinstance(stmt, Block):
        return [stmt]
    if isinstance(stmt, (WhileStmt, ForStmt)):
        return [stmt.body] + ([stmt.else_body] if stmt.else_body is not None else [])
    if isinstance(stmt, WithStmt):
        return [stmt.body]
    if isinstance(stmt, IfStmt):
        return list(stmt.body) + ([stmt.else_body] if stmt.else_body is not None else [])
    if isinstance(stmt, TryStmt):
        return [b for b in (stmt.body, *stmt.handlers, stmt.else_body, stmt.finally_body) if b]
    if isinstance(stmt, MatchStmt):
        return list(stmt.bodies)
    return []
