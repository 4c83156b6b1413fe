"""Who owns a session: the function where the unit of work starts (SPEC section 2).

A session parameter is *borrowed* from the caller, and the caller's transaction is not
the function's to end (`session-borrowed-commit`), unless the function is where that
transaction starts. It *owns* the parameter when:

- a framework injects it per request: a FastAPI / Starlette dependency, as the default
  (`session: Session = Depends(get_db)`) or in the annotation
  (`session: Annotated[Session, Depends(get_db)]`, or an alias of that, `DbSession`).
  An `Annotated[...]` session annotation whose metadata is a call counts: mypy keeps no
  more of it than that there was a call, and a call there is a dependency marker
  (`Depends`, `Security`, `Provide`, `Inject`...);
- the function is an entry point: decorated with a decorator named in the
  `session_owners` setting (scheduler tasks, queue workers, CLI commands, bot handlers).

A function under a session-providing decorator (`@provide_session`) owns its session only
when called without one: its body cannot tell, so it is treated as borrowing (the caller
may have passed its own). Every other check treats an owned session as held, as before.
Only `is_borrowed` asks, at a commit: nothing here runs on the common path.
"""

from __future__ import annotations

import ast
import re
from typing import Final

from mypy.nodes import (
    CallExpr,
    Decorator,
    Expression,
    FuncItem,
    MypyFile,
    NameExpr,
    RefExpr,
    TypeAlias,
    Var,
)
from mypy.types import CallableType, RawExpressionType, Type, UnboundType

from mypy_session.baseline_lines import read_lines
from mypy_session.knowledge import Knowledge

_FRAMEWORKS: Final = ("fastapi", "starlette")
_DEPENDENCY_MARKERS: Final = frozenset(("Depends", "Security"))


def owns(function: FuncItem, name: str, knowledge: Knowledge) -> bool:
    """Does `function` own its session parameter `name`?"""
    if _entry_point(function, knowledge):
        return True
    unanalyzed = function.unanalyzed_type
    annotations = unanalyzed.arg_types if isinstance(unanalyzed, CallableType) else []
    for index, arg in enumerate(function.arguments):
        if arg.variable.name != name:
            continue
        if arg.initializer is not None and _is_dependency(arg.initializer):
            return True
        annotation = annotations[index] if index < len(annotations) else None
        return annotation is not None and _injected(annotation, function, knowledge)
    return False


def _is_dependency(expr: Expression) -> bool:
    """`Depends(get_db)` (or `fastapi.Depends(...)`, `Security(...)`)."""
    if not isinstance(expr, CallExpr) or not isinstance(expr.callee, RefExpr):
        return False
    fullname = _name_of(expr.callee)
    short = fullname.rsplit(".", 1)[-1]
    if short not in _DEPENDENCY_MARKERS:
        return False
    # Imported from FastAPI / Starlette; or from a module mypy could not find
    # (`ignore_missing_imports`: the name is an `Any` of the importing module).
    node = expr.callee.node
    suppressed = isinstance(node, Var) and node.is_suppressed_import
    return fullname.split(".", 1)[0] in _FRAMEWORKS or fullname == short or suppressed


def _injected(annotation: Type, function: FuncItem, knowledge: Knowledge) -> bool:
    """`Annotated[Session, <a call>]`, or a name for such an alias."""
    if not isinstance(annotation, UnboundType):
        return False
    if annotation.name.rsplit(".", 1)[-1] == "Annotated":
        # A call in the metadata is an invalid type to mypy, kept as a RawExpressionType
        # without a value (a string or number there has one).
        return any(
            isinstance(arg, RawExpressionType) and arg.literal_value is None
            for arg in annotation.args[1:]
        )
    if annotation.args:
        return False
    alias = _alias(annotation.name, function, knowledge)
    return alias is not None and _alias_injects(alias, knowledge)


def _alias(name: str, function: FuncItem, knowledge: Knowledge) -> TypeAlias | None:
    """The type alias `name` refers to in the module of `function` (`DbSession`,
    `deps.DbSession`)."""
    module = knowledge.module_of(function.fullname)
    if module is None:
        return None
    first, _, rest = name.partition(".")
    sym = module[1].names.get(first)
    node = sym.node if sym is not None else None
    if rest and isinstance(node, MypyFile):
        sym = node.names.get(rest)
        node = sym.node if sym is not None else None
    return node if isinstance(node, TypeAlias) else None


def _alias_injects(alias: TypeAlias, knowledge: Knowledge) -> bool:
    """Is the alias defined as `Annotated[..., <a call>]`? mypy keeps only the type in
    the alias, and empties a module's statements once it is checked, so the definition
    is read from the module's source at the alias's line."""
    module = knowledge.module_of(alias.fullname)
    if module is None or not module[1].path:
        return False
    lines = read_lines(module[1].path)
    first = alias.line - 1
    if alias.line < 1:
        # From mypy's cache a type alias has no line (TypeAlias.read sets -1): find its
        # definition at the module's top level by name.
        found = _definition_line(lines, alias.name)
        if found is None:
            return False
        first = found
    for last in range(first + 1, min(first + 30, len(lines)) + 1):
        try:
            tree = ast.parse("\n".join(lines[first:last]).strip())
        except SyntaxError:
            continue
        stmt = tree.body[0] if tree.body else None
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign)) else None
        if not isinstance(value, ast.Subscript):
            return False
        base = value.value
        name = base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        if name != "Annotated":
            return False
        items = value.slice.elts if isinstance(value.slice, ast.Tuple) else [value.slice]
        return any(isinstance(item, ast.Call) for item in items[1:])
    return False


def _definition_line(lines: list[str], name: str) -> int | None:
    """The index of the top-level line that defines `name` (`name = ...`,
    `name: TypeAlias = ...`, `type name = ...`), if any."""
    pattern = re.compile(rf"^(?:type\s+)?{re.escape(name)}\s*(?::[^=]*)?=(?!=)")
    for index, line in enumerate(lines):
        if pattern.match(line):
            return index
    return None


def _entry_point(function: FuncItem, knowledge: Knowledge) -> bool:
    """Is `function` decorated with a decorator named in `session_owners`?"""
    owners = knowledge.config.session_owners
    if not owners:
        return False
    node = knowledge.lookup(function.fullname)
    if not isinstance(node, Decorator):
        return False
    for decorator in node.decorators:
        target = decorator.callee if isinstance(decorator, CallExpr) else decorator
        if isinstance(target, RefExpr):
            fullname = _name_of(target)
            if fullname in owners or fullname.rsplit(".", 1)[-1] in owners:
                return True
    return False


def _name_of(ref: RefExpr) -> str:
    """The full name a reference resolves to, or as written where it resolves to none."""
    if ref.fullname:
        return ref.fullname
    return ref.name if isinstance(ref, NameExpr) else ""
