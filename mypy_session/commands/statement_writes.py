"""Writes that the audit's READ / SINGLE / MULTI inference reads from a call (issue 12,
item 4): a function that changes rows through a statement, or commits, is not READ.

A call writes when it is one of:
- a session method that writes: `add`, `add_all`, `delete`, `merge`, any `bulk_*`;
- `.execute()` of a session or a connection (`Connection`, `AsyncConnection`) handed an
  `insert()` / `update()` / `delete()` statement: known by its type (an `UpdateBase`),
  or, where mypy has no type for it, by how it is built (`update(Lot).where(...)`,
  a local assigned from one), or a SQL string that starts with INSERT, UPDATE, DELETE,
  MERGE, REPLACE or UPSERT (`text("UPDATE ...")`, a plain string, a local assigned from one);
- `Query.update()` / `Query.delete()`: `.update(...)` / `.delete(...)` on a `Query` (by
  type), or on a chain that starts with `<session>.query(...)` where the type is unknown;
- `.commit()` of a session: it makes the function at least SINGLE (it ends a transaction
  that wrote something, or it would not commit), without adding a write of its own.

The session is known by its type, or, where it is `Any` (an unannotated `session`), by
being one of the function's session parameters.
"""

from __future__ import annotations

import re
from typing import Final

from mypy.nodes import (
    AwaitExpr,
    CallExpr,
    Expression,
    MemberExpr,
    NameExpr,
    StrExpr,
)
from mypy.types import Instance, Type, get_proper_type

from mypy_session.config import SessionConfig
from mypy_session.vocabulary import is_session_instance

# Session methods that write (besides `bulk_*`).
SESSION_WRITES: Final = frozenset(("add", "add_all", "delete", "merge"))
COMMIT: Final = "commit"
_EXECUTE: Final = frozenset(("execute", "exec", "execute_many"))
_QUERY_WRITES: Final = frozenset(("update", "delete"))
_DML_BASE: Final = "sqlalchemy.sql.dml.UpdateBase"
_QUERY: Final = "sqlalchemy.orm.query.Query"
_CONNECTIONS: Final = frozenset(
    ("sqlalchemy.engine.base.Connection", "sqlalchemy.ext.asyncio.engine.AsyncConnection")
)
_MAYBE_SQL: Final = frozenset(("builtins.str", "sqlalchemy.sql.elements.TextClause"))
_DML_BUILDERS: Final = frozenset(("insert", "update", "delete"))
_TEXT: Final = frozenset(("text", "sqlalchemy.text", "sqlalchemy.sql.expression.text"))
_DML_SQL: Final = re.compile(r"\s*(?:--[^\n]*\n\s*)*(insert|update|delete|merge|replace|upsert)\b", re.I)

WRITE: Final = "write"
COMMITS: Final = "commit"


class StatementWrites:
    """Decides, call by call, whether a call of one function writes (see the module
    docstring). `rvalues` are the function's simple local assignments seen so far
    (`stmt = update(...)`), by name."""

    def __init__(
        self, types: dict[Expression, Type], config: SessionConfig, params: set[str]
    ) -> None:
        self.types = types
        self.config = config
        self.params = params
        self.rvalues: dict[str, Expression] = {}

    def assigned(self, name: str, rvalue: Expression) -> None:
        """`name = <rvalue>` in the body (the latest one wins)."""
        self.rvalues[name] = rvalue

    def kind(self, call: CallExpr) -> str | None:
        """`WRITE`, `COMMITS`, or None for a call that does neither."""
        callee = call.callee
        if not isinstance(callee, MemberExpr):
            return None
        name = callee.name
        receiver = callee.expr
        if name in _QUERY_WRITES and self._is_query(receiver):
            return WRITE
        if not (name in SESSION_WRITES or name.startswith("bulk_") or name in _EXECUTE or name == COMMIT):
            return None
        session = self._is_session(receiver)
        if name in _EXECUTE:
            if (session or self._is_connection(receiver)) and call.args and self._is_dml(call.args[0], 0):
                return WRITE
            return None
        if not session:
            return None
        return COMMITS if name == COMMIT else WRITE

    def _is_session(self, expr: Expression) -> bool:
        if is_session_instance(self.types.get(expr), self.config):
            return True
        # An `Any` session: one of the function's session parameters, by name.
        return isinstance(expr, NameExpr) and expr.name in self.params and self._unknown(expr)

    def _is_connection(self, expr: Expression) -> bool:
        proper = get_proper_type(self.types.get(expr))
        return isinstance(proper, Instance) and any(
            base.fullname in _CONNECTIONS for base in proper.type.mro
        )

    def _unknown(self, expr: Expression) -> bool:
        proper = get_proper_type(self.types.get(expr))
        return proper is None or not isinstance(proper, Instance)

    def _is_query(self, expr: Expression) -> bool:
        proper = get_proper_type(self.types.get(expr))
        if isinstance(proper, Instance):
            return any(base.fullname == _QUERY for base in proper.type.mro)
        # No type: a chain `<session>.query(...)...` (legacy, untyped code).
        while isinstance(expr, CallExpr) and isinstance(expr.callee, MemberExpr):
            if expr.callee.name == "query":
                return self._is_session(expr.callee.expr)
            expr = expr.callee.expr
        return False

    def _is_dml(self, expr: Expression, depth: int) -> bool:
        if isinstance(expr, AwaitExpr):
            expr = expr.expr
        proper = get_proper_type(self.types.get(expr))
        if isinstance(proper, Instance):
            if any(b.fullname == _DML_BASE for b in proper.type.mro):
                return True
            if proper.type.fullname not in _MAYBE_SQL:
                return False  # a type that says it is no statement (`select(...)`)
        if isinstance(expr, StrExpr):
            return _DML_SQL.match(expr.value) is not None
        if isinstance(expr, NameExpr) and depth < 3:
            rvalue = self.rvalues.get(expr.name)
            return rvalue is not None and self._is_dml(rvalue, depth + 1)
        if not isinstance(expr, CallExpr):
            return False
        callee = expr.callee
        if isinstance(callee, (NameExpr, MemberExpr)) and (
            callee.fullname in _TEXT or callee.name == "text"
        ):
            first = expr.args[0] if expr.args else None
            return isinstance(first, StrExpr) and _DML_SQL.match(first.value) is not None
        # update(Lot).where(...).values(...): the builder at the start of the chain.
        call: Expression = expr
        while isinstance(call, CallExpr):
            callee = call.callee
            if isinstance(callee, NameExpr):
                return callee.name in _DML_BUILDERS
            if not isinstance(callee, MemberExpr):
                return False
            if isinstance(callee.expr, NameExpr) and callee.name in _DML_BUILDERS:
                return callee.expr.name in ("sa", "sqlalchemy")  # sa.update(Lot)
            call = callee.expr
        return False
