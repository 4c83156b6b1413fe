"""Functions that open a session only on a branch of their own parameters (issue 12,
item 2): `def get_client(account=None): if account: ... Session()` called without
`account` opens nothing, and neither does `def report(conn=None): if conn is None: with
session_scope() ...` called with a connection.

A function summary (`knowledge.Summary`) records, beside the chain, *when* the function
opens: a disjunction of conjunctions of guards, each guard a test of one parameter, as
plain strings and numbers, so that it is stored with the module's facts and read back from
mypy's cache like the rest of the summary. `None` means "always" (as before).

A guard is `(name, position, kind)`: the parameter's name, its position among the
arguments a call passes (after `self` / `cls`; -1 for a keyword-only one), and one of:
- `GIVEN`: the scope opens under `if p is not None:` (or `p != None`), `p` defaults to None;
- `TRUTHY`: under `if p:`, `p` defaults to None, False, 0 or an empty string;
- `NONE`: under `if p is None:` (or `p == None`);
- `FALSY`: under `if not p:`.
The `else` arm of such an `if`, and the code after an `if` whose body always ends in
`return` / `raise` (without `else`), are under the opposite guard; `and` in a condition
adds guards, `or` in a negated one too. A parameter the body assigns is not a guard.

A call *rules out* a guard only where its arguments make the test certainly false:
- `GIVEN` / `TRUTHY`: the argument is left out (its default is None or falsy), or passed
  as `None` (or, for `TRUTHY`, a falsy literal: `False`, `0`, `""`);
- `NONE`: the argument is a literal other than None, or, at a call mypy has checked, its
  type cannot be None (not optional, not `Any`);
- `FALSY`: the argument is a true literal, or its type is a class that defines neither
  `__bool__` nor `__len__` (an object is then always true).
Everything else (a variable, an expression of unknown type) leaves the guard possible,
and the call is reported as before. In a chain, a parameter passed straight on
(`def sync(account=None): get_client(account)`) carries the guard over to the caller's
own parameter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    FUNC_NO_INFO,
    AssignmentStmt,
    Block,
    CallExpr,
    ComparisonExpr,
    Expression,
    FloatExpr,
    ForStmt,
    FuncDef,
    IfStmt,
    IntExpr,
    MatchStmt,
    NameExpr,
    OperatorAssignmentStmt,
    OpExpr,
    RaiseStmt,
    ReturnStmt,
    Statement,
    ListExpr,
    StrExpr,
    TryStmt,
    TupleExpr,
    UnaryExpr,
    Var,
    WhileStmt,
    WithStmt,
)
from mypy.types import (
    CallableType,
    Instance,
    LiteralType,
    TupleType,
    Type,
    TypedDictType,
    get_proper_type,
)

from mypy_session.scopes import walk_statements

GIVEN: Final = "given"
TRUTHY: Final = "truthy"
NONE: Final = "none"
FALSY: Final = "falsy"
_OPPOSITE: Final = {GIVEN: NONE, NONE: GIVEN, TRUTHY: FALSY, FALSY: TRUTHY}
# More alternatives than this: "always" (a summary stays small).
_MOST: Final = 8

Guard = tuple[str, int, str]
Conjunction = tuple[Guard, ...]
When = tuple[Conjunction, ...]  # the function opens if any conjunction holds

# A parameter's default: None, another falsy literal, or anything else.
_DEFAULT_NONE: Final = "none"
_DEFAULT_FALSY: Final = "falsy"
_DEFAULT_OTHER: Final = "other"
_FALSY_NAMES: Final = ("builtins.None", "builtins.False")
_TRUE_NAMES: Final = ("builtins.True",)


class Parameter:
    """A parameter that can be a guard: its position and what its default is."""

    __slots__ = ("name", "index", "default")

    def __init__(self, name: str, index: int, default: str | None) -> None:
        self.name = name
        self.index = index
        self.default = default  # None: required


def parameters(func: FuncDef) -> dict[int, Parameter]:
    """The parameters of `func` that can be guards, by id() of their variable."""
    skip = 1 if func.info is not FUNC_NO_INFO and not func.is_static else 0
    found: dict[int, Parameter] = {}
    position = 0
    for number, arg in enumerate(func.arguments):
        if number < skip:
            continue
        kind = arg.kind
        if kind in (ARG_POS, ARG_OPT):
            index = position
            position += 1
        elif kind in (ARG_NAMED, ARG_NAMED_OPT):
            index = -1
        else:
            continue
        default = _default_kind(arg.initializer) if arg.initializer is not None else None
        found[id(arg.variable)] = Parameter(arg.variable.name, index, default)
    return found


def without_rebound(func: FuncDef, when: Conjunction) -> Conjunction:
    """The guards whose parameter the body never assigns (`p = p or default()` makes a
    test of `p` say nothing about the argument). Asked only once a guard is found: one
    walk of the body."""
    if not when:
        return when
    assigned: set[str] = set()
    for stmt, _ in walk_statements(func.body.body, into_functions=True):
        for target in _assigned(stmt):
            for name in _names(target):
                assigned.add(name)
    return tuple(guard for guard in when if guard[0] not in assigned)


def _names(target: Expression) -> list[str]:
    if isinstance(target, NameExpr):
        return [target.name]
    if isinstance(target, (TupleExpr, ListExpr)):
        return [name for item in target.items for name in _names(item)]
    return []


def guards_at(func: FuncDef, expr: Expression, params: dict[int, Parameter]) -> Conjunction:
    """The guards under which `expr` (in `func`'s body) runs: every one must hold."""
    if not params:
        return ()
    found = _in_block(func.body.body, (expr.line, expr.column), (), params)
    return found if found is not None else ()


def carry(
    when: When, call: CallExpr, params: dict[int, Parameter]
) -> When | None:
    """The callee's `when`, decided from the call's own arguments (in a chain, with no
    types: literals and the caller's parameters passed straight on): the conjunctions
    still possible, in terms of the caller's parameters. `None`: it opens whatever the
    caller is given; `()`: it cannot open from this call."""
    by_name = {p.name: (key, p) for key, p in params.items()}
    kept: list[Conjunction] = []
    for conjunction in when:
        carried: list[Guard] = []
        possible = True
        for guard in conjunction:
            given = passed_for(call, guard[0], guard[1])
            if given is _UNKNOWN:
                continue
            if rules_out(guard, given if isinstance(given, Expression) else None, None):
                possible = False
                break
            if isinstance(given, NameExpr) and isinstance(given.node, Var):
                own = params.get(id(given.node))
                if own is not None and own.name in by_name:
                    moved = _guard_of(own, guard[2])
                    if moved is not None:
                        carried.append(moved)
        if not possible:
            continue
        if not carried:
            return None
        kept.append(tuple(carried))
    return tuple(kept)


class _Unknown:
    pass


_UNKNOWN: Final = _Unknown()


def passed_for(call: CallExpr, name: str, index: int) -> Expression | None | _Unknown:
    """What `call` passes for the parameter: an expression, None (left out), or unknown
    (a `*args` / `**kwargs` splat)."""
    positional = 0
    for arg, kind, keyword in zip(call.args, call.arg_kinds, call.arg_names):
        if kind.is_star():
            return _UNKNOWN
        if keyword == name:
            return arg
        if keyword is None:
            if positional == index:
                return arg
            positional += 1
    return None


def rules_out(guard: Guard, given: Expression | None, given_type: Type | None) -> bool:
    """Does passing `given` (None: left out) make the guard certainly false?"""
    kind = guard[2]
    if given is None:
        return kind in (GIVEN, TRUTHY)  # stored only where the default is None / falsy
    literal = _literal_truth(given)
    if kind == GIVEN:
        return isinstance(given, NameExpr) and given.fullname == "builtins.None"
    if kind == TRUTHY:
        return literal is False
    if kind == NONE:
        if literal is not None:
            return not (isinstance(given, NameExpr) and given.fullname == "builtins.None")
        return _never_none(given_type if given_type is not None else _declared(given))
    # FALSY
    if literal is not None:
        return literal
    return _always_true(given_type if given_type is not None else _declared(given))


def ruled_out_by_call(
    when: When, call: CallExpr, type_of: Callable[[Expression], Type | None]
) -> bool:
    """At a call mypy has checked: do its arguments (and their types) rule out every
    way the callee opens?"""
    for conjunction in when:
        closed = False
        for guard in conjunction:
            given = passed_for(call, guard[0], guard[1])
            if given is _UNKNOWN:
                continue
            expr = given if isinstance(given, Expression) else None
            if rules_out(guard, expr, type_of(expr) if expr is not None else None):
                closed = True
                break
        if not closed:
            return False
    return True


def merge(alternatives: list[Conjunction]) -> When | None:
    """The `when` of a function from the guards of each of its ways to open."""
    unique: list[Conjunction] = []
    for conjunction in alternatives:
        if not conjunction:
            return None
        if conjunction not in unique:
            unique.append(conjunction)
    if len(unique) > _MOST:
        return None
    return tuple(unique)


def describe(when: When) -> str:
    """How the condition reads in the audit: "account is given", "conn is None"."""
    words = {GIVEN: "is given", TRUTHY: "is given", NONE: "is None", FALSY: "is not given"}
    return " or ".join(
        " and ".join(f"{name} {words[kind]}" for name, _, kind in conjunction)
        for conjunction in when
    )


def to_json(when: When | None) -> list[list[list[object]]] | None:
    if when is None:
        return None
    return [[[name, index, kind] for name, index, kind in conjunction] for conjunction in when]


def from_json(raw: object) -> When | None:
    """Read back what `to_json` stored; anything else is "always"."""
    if not isinstance(raw, list):
        return None
    result: list[Conjunction] = []
    for conjunction in raw:
        if not isinstance(conjunction, list):
            return None
        guards: list[Guard] = []
        for guard in conjunction:
            if (
                not isinstance(guard, list)
                or len(guard) != 3
                or not isinstance(guard[0], str)
                or not isinstance(guard[1], int)
                or guard[2] not in _OPPOSITE
            ):
                return None
            guards.append((guard[0], guard[1], guard[2]))
        result.append(tuple(guards))
    return tuple(result)


# -- where an expression runs ------------------------------------------------------------


def _in_block(
    stmts: Sequence[Statement],
    target: tuple[int, int],
    guards: Conjunction,
    params: dict[int, Parameter],
) -> Conjunction | None:
    after: Conjunction = ()
    for stmt in stmts:
        end = (stmt.end_line if stmt.end_line is not None else stmt.line, 1 << 30)
        if not ((stmt.line, stmt.column) <= target <= end) and (stmt.line, stmt.column) < target:
            # An `if` before the target that always leaves: what follows is its negation.
            if isinstance(stmt, IfStmt) and stmt.else_body is None and len(stmt.expr) == 1:
                if always_exits(stmt.body[0].body):
                    after += _conditions(stmt.expr[0], params, negated=True)
            continue
        if (stmt.line, stmt.column) > target:
            return None
        here = guards + after
        if isinstance(stmt, IfStmt):
            for condition, body in zip(stmt.expr, stmt.body):
                if _contains(body, target):
                    inner = here + _conditions(condition, params, negated=False)
                    return _in_block(body.body, target, inner, params)
            if stmt.else_body is not None and _contains(stmt.else_body, target):
                negated: Conjunction = ()
                if len(stmt.expr) == 1:
                    negated = _conditions(stmt.expr[0], params, negated=True)
                return _in_block(stmt.else_body.body, target, here + negated, params)
            return here
        for body in blocks_of(stmt):
            if _contains(body, target):
                found = _in_block(body.body, target, here, params)
                return found if found is not None else here
        return here
    return None


def _contains(block: Block, target: tuple[int, int]) -> bool:
    if not block.body:
        return False
    first = block.body[0]
    last = block.body[-1]
    end_line = last.end_line if last.end_line is not None else last.line
    return (first.line, first.column) <= target <= (end_line, 1 << 30)


def blocks_of(stmt: Statement) -> list[Block]:
    if isinstance(stmt, Block):
        return [stmt]
    if isinstance(stmt, (WhileStmt, ForStmt)):
        return [stmt.body] + ([stmt.else_body] if stmt.else_body is not None else [])
    if isinstance(stmt, WithStmt):
        return [stmt.body]
    if isinstance(stmt, TryStmt):
        blocks = [stmt.body, *stmt.handlers]
        blocks += [b for b in (stmt.else_body, stmt.finally_body) if b is not None]
        return blocks
    if isinstance(stmt, MatchStmt):
        return list(stmt.bodies)
    return []


def always_exits(stmts: Sequence[Statement]) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, (ReturnStmt, RaiseStmt)):
        return True
    if isinstance(last, IfStmt) and last.else_body is not None:
        return all(always_exits(b.body) for b in last.body) and always_exits(last.else_body.body)
    return False


def _conditions(expr: Expression, params: dict[int, Parameter], *, negated: bool) -> Conjunction:
    """The guards a condition (or its negation) implies."""
    if isinstance(expr, OpExpr) and expr.op == ("or" if negated else "and"):
        return _conditions(expr.left, params, negated=negated) + _conditions(
            expr.right, params, negated=negated
        )
    if isinstance(expr, UnaryExpr) and expr.op == "not":
        return _conditions(expr.expr, params, negated=not negated)
    kind: str | None = None
    name: Expression | None = None
    if isinstance(expr, NameExpr):
        name, kind = expr, TRUTHY
    elif isinstance(expr, ComparisonExpr) and len(expr.operators) == 1:
        left, right = expr.operands
        if isinstance(right, NameExpr) and right.fullname == "builtins.None":
            operator = expr.operators[0]
            if operator in ("is", "=="):
                name, kind = left, NONE
            elif operator in ("is not", "!="):
                name, kind = left, GIVEN
    if kind is None or not isinstance(name, NameExpr) or not isinstance(name.node, Var):
        return ()
    param = params.get(id(name.node))
    if param is None:
        return ()
    guard = _guard_of(param, _OPPOSITE[kind] if negated else kind)
    return (guard,) if guard is not None else ()


def _guard_of(param: Parameter, kind: str) -> Guard | None:
    """The guard, where a call can rule it out (see the module docstring)."""
    if kind == GIVEN and param.default != _DEFAULT_NONE:
        return None
    if kind == TRUTHY and param.default not in (_DEFAULT_NONE, _DEFAULT_FALSY):
        return None
    return (param.name, param.index, kind)


def _default_kind(initializer: Expression) -> str:
    if isinstance(initializer, NameExpr) and initializer.fullname == "builtins.None":
        return _DEFAULT_NONE
    return _DEFAULT_FALSY if _literal_truth(initializer) is False else _DEFAULT_OTHER


def _literal_truth(expr: Expression) -> bool | None:
    """The truth of a literal argument, or None for anything else."""
    if isinstance(expr, NameExpr):
        if expr.fullname in _FALSY_NAMES:
            return False
        if expr.fullname in _TRUE_NAMES:
            return True
        return None
    if isinstance(expr, (IntExpr, FloatExpr)):
        return bool(expr.value)
    if isinstance(expr, StrExpr):
        return bool(expr.value)
    return None


def _declared(expr: Expression) -> Type | None:
    """The declared type of a name (a parameter or an annotated variable), without a
    type map (in a chain, the caller may not be checked yet)."""
    if isinstance(expr, NameExpr) and isinstance(expr.node, Var) and not expr.node.is_inferred:
        return expr.node.type
    return None


def _never_none(typ: Type | None) -> bool:
    proper = get_proper_type(typ)
    return isinstance(proper, (Instance, TupleType, CallableType, LiteralType, TypedDictType)) and not (
        isinstance(proper, Instance) and proper.type.fullname == "builtins.object"
    )


def _always_true(typ: Type | None) -> bool:
    proper = get_proper_type(typ)
    if not isinstance(proper, Instance):
        return isinstance(proper, CallableType)
    for base in proper.type.mro:
        if base.fullname == "builtins.object":
            continue
        if "__bool__" in base.names or "__len__" in base.names:
            return False
    return True


def _assigned(stmt: Statement) -> list[Expression]:
    if isinstance(stmt, AssignmentStmt):
        return list(stmt.lvalues)
    if isinstance(stmt, OperatorAssignmentStmt):
        return [stmt.lvalue]
    if isinstance(stmt, ForStmt):
        return [stmt.index]
    if isinstance(stmt, WithStmt):
        return [t for t in stmt.target if t is not None]
    return []

