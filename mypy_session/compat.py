"""Differences between the mypy versions the plugin supports, in one place.

mypy 2.x renamed `CheckerScope.top_function` to `current_function`, and replaced
`top_non_lambda_function` (the innermost non-lambda function) with `top_level_function`
(the outermost). Both are derived here from `CheckerScope.stack`, which every supported
version has, so the answer does not depend on the version.
"""

from __future__ import annotations

from mypy.nodes import FuncItem, LambdaExpr


def current_function(scope: object) -> FuncItem | None:
    """The innermost function or lambda being checked."""
    for entry in reversed(getattr(scope, "stack")):
        if isinstance(entry, FuncItem):
            return entry
    return None


def top_level_function(scope: object) -> FuncItem | None:
    """The outermost function (not a lambda) being checked."""
    for entry in getattr(scope, "stack"):
        if isinstance(entry, FuncItem) and not isinstance(entry, LambdaExpr):
            return entry
    return None


def is_lvalue(ctx: object) -> bool:
    """Is an attribute hook's access the target of an assignment? mypy before 1.16 does not
    say (`AttributeContext.is_lvalue` is newer): taken as a read."""
    return bool(getattr(ctx, "is_lvalue", False))
