"""Functions and lambdas defined inside a function: where a call does not run when the
enclosing function runs (issue 12, item 2).

A function that only *defines* a function or lambda that opens a session, and returns it
(a factory, a closure handed to a scheduler), opens none when it is called; a function
that calls its own nested function opens what that one opens, and the chain names it
(`restock -> _impl -> session_scope()`). `Knowledge._opens` asks here only once it has
found a call that opens a scope, so the common path pays nothing.
"""

from __future__ import annotations

from mypy.nodes import Decorator, Expression, FuncDef, FuncItem, LambdaExpr, Node
from mypy.server.subexpr import get_subexpressions

from mypy_session.scopes import walk_statements

# id(body) -> (body, spans of the nested functions and lambdas, the nested defs by id)
_cache: dict[int, tuple[object, list[tuple[int, int, int, int]], set[int]]] = {}


def forget() -> None:
    _cache.clear()


def _span(node: Node) -> tuple[int, int, int, int]:
    end_line = node.end_line if node.end_line is not None else node.line
    end_column = node.end_column if node.end_column is not None else 1 << 30
    return (node.line, node.column, end_line, end_column)


def _find(func: FuncItem) -> tuple[list[tuple[int, int, int, int]], set[int]]:
    """The spans of the functions (at any depth of blocks, not inside nested classes)
    and lambdas in `func`'s body, and the nested defs by id."""
    spans: list[tuple[int, int, int, int]] = []
    defs: set[int] = set()
    for stmt, _ in walk_statements(func.body.body):
        if isinstance(stmt, FuncDef):
            defs.add(id(stmt))
            spans.append(_span(stmt))
        elif isinstance(stmt, Decorator):
            defs.update((id(stmt), id(stmt.func)))
            spans.append(_span(stmt.func))
    for expr in get_subexpressions(func.body):
        if type(expr) is LambdaExpr:
            spans.append(_span(expr))
    return spans, defs


def _of(func: FuncItem) -> tuple[list[tuple[int, int, int, int]], set[int]]:
    body = func.body
    hit = _cache.get(id(body))
    if hit is None or hit[0] is not body:
        spans, defs = _find(func)
        hit = _cache[id(body)] = (body, spans, defs)
    return hit[1], hit[2]


def inside_nested(func: FuncItem, expr: Expression) -> bool:
    """Is `expr` (an expression of `func`'s body) inside a function or lambda nested in
    `func`, so that it does not run when `func` runs?"""
    spans, _ = _of(func)
    where = (expr.line, expr.column)
    return any((line, column) <= where <= (end_line, end_column) for line, column, end_line, end_column in spans)


def is_nested_def(func: FuncItem, node: object) -> bool:
    """Is `node` a function defined inside `func`?"""
    return id(node) in _of(func)[1]
