"""The receiver holds the session: `UserService(session).rename(1, "n")`.

A repository or service class stores the session it is built with (`self.session =
session`) and its methods take an optional session of their own that falls back to it
(`session = session or self.session`). Such a method called without a session, on a
receiver that demonstrably holds the caller's held session, drops nothing: the method runs
in the held session. It is not `session-not-forwarded` (nor read-not-forwarded).

Two facts about method bodies, found here from the syntax and kept in the function
summaries (`knowledge.Summary.self_attributes`, stored with the module, so that they hold
when the class's module comes from mypy's cache):

- in `__init__`, a session parameter stored on self: `self.<attr> = <param>` (or
  `<param> or ...`), or handed to a base class's constructor that stores it
  (`super().__init__(session, Model)`); a dataclass field is one by construction (read
  from mypy's metadata);
- in another method, an optional session parameter that falls back to `self.<attr>` when
  not given: `p = p or self.a`, `p = self.a if p is None else p` (and its mirror forms),
  `if p is None: p = self.a` / `if not p: p = self.a`, or the same expressions used inline;
- a read-only property whose body is `return self.<attr>` stands for that attribute.

And, at a call that passes nothing for such a method's session parameter while a session
is held, the receiver holds the held session when it is:

- a construction in the call itself, `Cls(<held>, ...).method()`, the held session passed
  for a constructor parameter stored on the attribute the method falls back to;
- a local variable bound once in the function, from such a construction, with the held
  session not bound again between the construction and the call;
- `self` (any receiver) whose attribute the method falls back to is itself the held
  session (`self.rename()` in a method whose held session is `self.session`).

Anything else (a receiver built with another session or none, a parameter or attribute
of the class type, a method without a visible fallback, a class whose source is not in the
checked program) is reported as before. Only the reporting path asks: a call that passes
nothing while a session is held.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Final

from mypy.checker import TypeChecker
from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    AssignmentStmt,
    CallExpr,
    ComparisonExpr,
    ConditionalExpr,
    Decorator,
    Expression,
    ExpressionStmt,
    ForStmt,
    FuncDef,
    IfStmt,
    MemberExpr,
    MypyFile,
    NameExpr,
    OpExpr,
    OverloadedFuncDef,
    RefExpr,
    ReturnStmt,
    Statement,
    StrExpr,
    SuperExpr,
    SymbolNode,
    TupleExpr,
    ListExpr,
    TypeInfo,
    UnaryExpr,
    WithStmt,
)
from mypy.server.subexpr import get_subexpressions
from mypy.types import CallableType, Instance, Type, get_proper_type

from mypy_session.compat import current_function
from mypy_session.config import SessionConfig
from mypy_session.scopes import walk_statements
from mypy_session.vocabulary import Callee, render, session_param_kind

if TYPE_CHECKING:  # `held` imports `knowledge`, which imports this module
    from mypy_session.held import HeldSession

# (session parameter, attribute of self): stored on self (`__init__`), or fallen back to.
SelfAttributes = tuple[tuple[str, str], ...]
# The "parameter" of a property getter's fact: it returns `self.<attr>` (a keyword, so no
# parameter has this name).
RETURNS: Final = "return"
# The facts of a function by fullname (`Knowledge.summary(...).self_attributes`).
FactsOf = Callable[[str], SelfAttributes]

_OPTIONAL_KINDS: Final = (ARG_OPT, ARG_NAMED_OPT)


# -- facts about a method's body (summaries) -------------------------------------------------


def self_attributes(
    func: FuncDef | Decorator, config: SessionConfig, facts: FactsOf
) -> SelfAttributes:
    """The session parameters of a method tied to an attribute of self: in `__init__`, each
    one stored on self (also by handing it to the base class's constructor, whose `facts`
    say where it goes); in another method, each optional one that falls back to
    `self.<attr>` when not given. Empty for anything else (most functions, decided
    cheaply)."""
    if isinstance(func, Decorator):
        func = func.func
    if func.info is FUNC_NO_INFO or func.is_static or func.is_class or not func.arguments:
        return ()
    me = func.arguments[0].variable.name
    if func.is_property:
        returned = _returned_attribute(func, me)
        return ((RETURNS, returned),) if returned is not None else ()
    if len(func.arguments) < 2:
        return ()
    if func.name == "__init__":
        # Every constructor of the program comes here: the syntax first, the types after.
        names = frozenset(arg.variable.name for arg in func.arguments[1:])
        stored = set(_stored_on_self(func, me, names))
        stored.update(_handed_to_base(func, me, names, facts))
        if not stored:
            return ()
        params = _session_params(func, config, optional_only=False)
        return tuple(sorted(pair for pair in stored if pair[0] in params))
    params = _session_params(func, config, optional_only=True)
    if not params:
        return ()
    return tuple(sorted(set(_fallbacks(func, me, params))))


def _session_params(func: FuncDef, config: SessionConfig, *, optional_only: bool) -> frozenset[str]:
    typ = func.type
    arg_types = typ.arg_types if isinstance(typ, CallableType) else None
    names = []
    for index, arg in enumerate(func.arguments):
        if index == 0 or arg.kind in (ARG_STAR, ARG_STAR2):
            continue
        if optional_only and arg.kind not in _OPTIONAL_KINDS:
            continue
        declared = arg_types[index] if arg_types is not None and index < len(arg_types) else None
        if session_param_kind(arg.variable.name, declared, config) is not None:
            names.append(arg.variable.name)
    return frozenset(names)


def _stored_on_self(func: FuncDef, me: str, params: frozenset[str]) -> Iterator[tuple[str, str]]:
    """`self.<attr> = <param>` (or `<param> or ...`) anywhere in `__init__`'s own body."""
    for stmt, _ in walk_statements(func.body.body):
        if not isinstance(stmt, AssignmentStmt):
            continue
        value = stmt.rvalue
        if isinstance(value, OpExpr) and value.op == "or":
            value = value.left
        param = _name_in(value, params)
        if param is None:
            continue
        for lvalue in stmt.lvalues:
            attr = _self_attribute(lvalue, me)
            if attr is not None:
                yield param, attr


def _returned_attribute(func: FuncDef, me: str) -> str | None:
    """`return self.<attr>`, the whole body of a property getter (a docstring aside)."""
    body = [
        stmt
        for stmt in func.body.body
        if not (isinstance(stmt, ExpressionStmt) and isinstance(stmt.expr, StrExpr))
    ]
    if len(body) == 1 and isinstance(body[0], ReturnStmt) and body[0].expr is not None:
        return _self_attribute(body[0].expr, me)
    return None


def _handed_to_base(
    func: FuncDef, me: str, params: frozenset[str], facts: FactsOf
) -> Iterator[tuple[str, str]]:
    """`super().__init__(session, Model)` / `Base.__init__(self, session)`: a parameter
    handed to the base class's constructor, which stores it on self."""
    for stmt in func.body.body:
        call = stmt.expr if isinstance(stmt, ExpressionStmt) else None
        if not isinstance(call, CallExpr):
            continue
        target = call.callee
        if isinstance(target, SuperExpr) and target.name == "__init__":
            base = _constructor(func.info, after=func.info)
            handed = call
        elif (
            isinstance(target, MemberExpr)
            and target.name == "__init__"
            and isinstance(target.expr, RefExpr)
            and isinstance(target.expr.node, TypeInfo)
            and call.args
            and _name_in(call.args[0], frozenset((me,))) == me
        ):
            base = _constructor(target.expr.node)
            handed = CallExpr(call.callee, call.args[1:], call.arg_kinds[1:], call.arg_names[1:])
        else:
            continue
        if base is None:
            continue
        for formal, attr in _stored_by(base, facts):
            arg = _argument_for(handed, base, formal)
            param = _name_in(arg, params) if arg is not None else None
            if param is not None:
                yield param, attr


def _stored_by(init: FuncDef, facts: FactsOf) -> Iterator[tuple[str, str]]:
    """(constructor parameter, attribute) for each parameter `init` stores on self: its
    facts, or the fields of a dataclass."""
    yield from facts(init.fullname)
    if init.info is not FUNC_NO_INFO and "dataclass" in init.info.metadata:
        for name in init.arg_names[1:]:
            if name is not None and _is_dataclass_field(init.info, name):
                yield name, name


def _fallbacks(func: FuncDef, me: str, params: frozenset[str]) -> Iterator[tuple[str, str]]:
    """An optional session parameter that becomes `self.<attr>` when not given."""
    for stmt, _ in walk_statements(func.body.body):
        if isinstance(stmt, IfStmt):
            yield from _if_fallback(stmt, me, params)
    for expr in get_subexpressions(func.body):
        if isinstance(expr, (OpExpr, ConditionalExpr)):
            found = _fallback_expression(expr, me, params)
            if found is not None:
                yield found


def _if_fallback(stmt: IfStmt, me: str, params: frozenset[str]) -> Iterator[tuple[str, str]]:
    """`if p is None: p = self.a` / `if not p: p = self.a`."""
    for cond, body in zip(stmt.expr, stmt.body):
        param = _none_test(cond, params, negated=False)
        if param is None:
            continue
        for inner in body.body:
            if (
                isinstance(inner, AssignmentStmt)
                and any(_name_in(lvalue, params) == param for lvalue in inner.lvalues)
            ):
                attr = _self_attribute(inner.rvalue, me)
                if attr is not None:
                    yield param, attr


def _fallback_expression(
    expr: OpExpr | ConditionalExpr, me: str, params: frozenset[str]
) -> tuple[str, str] | None:
    """`p or self.a`; `self.a if p is None else p`, `p if p is not None else self.a`,
    `p if p else self.a`, `self.a if not p else p`."""
    if isinstance(expr, OpExpr):
        if expr.op != "or":
            return None
        param, attr = _name_in(expr.left, params), _self_attribute(expr.right, me)
        return (param, attr) if param is not None and attr is not None else None
    none_side = _none_test(expr.cond, params, negated=False)
    if none_side is not None:  # `self.a if p is None else p`
        attr = _self_attribute(expr.if_expr, me)
        if attr is not None and _name_in(expr.else_expr, params) == none_side:
            return none_side, attr
    given_side = _none_test(expr.cond, params, negated=True)
    if given_side is not None:  # `p if p is not None else self.a`, `p if p else self.a`
        attr = _self_attribute(expr.else_expr, me)
        if attr is not None and _name_in(expr.if_expr, params) == given_side:
            return given_side, attr
    return None


def _none_test(cond: Expression, params: frozenset[str], *, negated: bool) -> str | None:
    """The parameter that `cond` tests for None (`p is None`, `not p`), or, `negated`,
    for a value (`p is not None`, `p`)."""
    if isinstance(cond, UnaryExpr) and cond.op == "not":
        return _none_test(cond.expr, params, negated=not negated)
    if isinstance(cond, ComparisonExpr) and len(cond.operators) == 1:
        left, right = cond.operands
        operator = cond.operators[0]
        if isinstance(right, NameExpr) and right.fullname == "builtins.None":
            if operator == ("is not" if negated else "is"):
                return _name_in(left, params)
        return None
    return _name_in(cond, params) if negated else None


def _name_in(expr: Expression, params: frozenset[str]) -> str | None:
    if isinstance(expr, NameExpr):
        name = expr.name.rstrip("'")
        return name if name in params else None
    return None


def _self_attribute(expr: Expression, me: str) -> str | None:
    if isinstance(expr, MemberExpr) and isinstance(expr.expr, NameExpr) and expr.expr.name == me:
        return expr.name
    return None


# -- at the call ------------------------------------------------------------------------------

def held_by_receiver(
    call: CallExpr,
    callee: Callee,
    param: str,
    held: HeldSession,
    api: TypeChecker,
    facts: FactsOf,
) -> str | None:
    """How the receiver holding the held session reads (`UserService(s)`, `svc`, `self`),
    when the method called falls back to it for `param`; None if it does not (report)."""
    method = call.callee
    if not isinstance(method, MemberExpr):
        return None
    attr = dict(facts(callee.fullname)).get(param)
    if attr is None:
        return None  # no fallback visible in the method's body
    receiver = method.expr
    owner = _class_of(api.lookup_type_or_none(receiver))
    # `self.session` may be a read-only property returning `self._session`.
    attrs = _attribute_and_property_target(owner, attr, facts) if owner is not None else {attr}
    if any(f"{render(receiver)}.{name}" == held.text for name in attrs):
        return render(receiver)  # `self.rename()` where `self.session` is held
    construction = receiver
    if isinstance(receiver, NameExpr):
        found = _constructed_local(receiver, call, held, api)
        if found is None:
            return None
        construction = found
    if not isinstance(construction, CallExpr) or not isinstance(construction.callee, RefExpr):
        return None
    info = construction.callee.node
    if not isinstance(info, TypeInfo):
        return None
    for arg in _arguments_stored_as(construction, info, attrs, facts):
        if _is_held(arg, held):
            if isinstance(receiver, NameExpr):
                return render(receiver)
            return f"{render(construction.callee)}({render(arg)})"
    return None


def _class_of(typ: Type | None) -> TypeInfo | None:
    proper = get_proper_type(typ)
    return proper.type if isinstance(proper, Instance) else None


def _attribute_and_property_target(owner: TypeInfo, attr: str, facts: FactsOf) -> set[str]:
    """`attr`, and the attribute it returns if it is a read-only property of `owner`
    (`@property def session(self): return self._session`)."""
    found = owner.get(attr)
    node = found.node if found is not None else None
    if isinstance(node, Decorator) and node.var.is_property:
        return {attr, *(target for param, target in facts(node.fullname) if param == RETURNS)}
    return {attr}


def _arguments_stored_as(
    construction: CallExpr, info: TypeInfo, attrs: set[str], facts: FactsOf
) -> Iterator[Expression]:
    """The construction's arguments for constructor parameters stored as one of `attrs`."""
    init = _constructor(info)
    if init is None:
        return
    stored = {param for param, target in _stored_by(init, facts) if target in attrs}
    for name in sorted(stored):
        arg = _argument_for(construction, init, name)
        if arg is not None:
            yield arg


def _constructor(info: TypeInfo, *, after: TypeInfo | None = None) -> FuncDef | None:
    """The `__init__` instances of `info` run (of a base class after `after`, for
    `super().__init__`)."""
    mro = info.mro
    if after is not None:
        mro = mro[mro.index(after) + 1 :] if after in mro else []
    for base in mro:
        if base.fullname == "builtins.object":
            return None
        sym = base.names.get("__init__")
        node: SymbolNode | None = sym.node if sym is not None else None
        if node is None:
            continue
        if isinstance(node, Decorator):
            node = node.func
        if isinstance(node, OverloadedFuncDef):
            node = node.impl.func if isinstance(node.impl, Decorator) else node.impl
        return node if isinstance(node, FuncDef) else None
    return None


def _is_dataclass_field(info: TypeInfo, attr: str) -> bool:
    """A field of a dataclass (or a class made by a `dataclass_transform`) in `__init__`."""
    for base in info.mro:
        fields = base.metadata.get("dataclass", {}).get("attributes")
        if isinstance(fields, list):
            for field in fields:
                if isinstance(field, dict) and field.get("name") == attr:
                    return bool(field.get("is_in_init", True))
    return False


def _argument_for(construction: CallExpr, init: FuncDef, name: str) -> Expression | None:
    """The argument the construction passes for the constructor parameter `name`."""
    for arg, keyword in zip(construction.args, construction.arg_names):
        if keyword == name:
            return arg
    if name not in init.arg_names:
        return None
    index = init.arg_names.index(name) - 1  # less `self`
    if index < 0 or init.arg_kinds[index + 1] not in (ARG_POS, ARG_OPT):
        return None
    positional: list[Expression] = []
    for arg, kind in zip(construction.args, construction.arg_kinds):
        if kind in (ARG_STAR, ARG_STAR2):
            return None  # where the splat's items land is not known
        if kind == ARG_POS:
            positional.append(arg)
        elif kind != ARG_NAMED:
            return None
    return positional[index] if index < len(positional) else None


def _is_held(arg: Expression, held: HeldSession) -> bool:
    if held.var is not None and isinstance(arg, NameExpr) and arg.node is held.var:
        return True
    return render(arg, "") == held.text


def _constructed_local(
    receiver: NameExpr, call: CallExpr, held: HeldSession, api: TypeChecker
) -> CallExpr | None:
    """`svc = Cls(...)` when it is the only binding of `svc` in the function, before the
    call, and the held session is not bound again between it and the call."""
    function = current_function(api.scope)
    if function is not None:
        body = function.body.body
    else:
        first = api.scope.stack[0]
        if not isinstance(first, MypyFile):
            return None
        body = first.defs
    name = receiver.name.rstrip("'")
    bindings = list(_bindings(body, name))
    if len(bindings) != 1:
        return None  # bound more than once (or in an enclosing function): not followed
    stmt = bindings[0]
    if not isinstance(stmt, AssignmentStmt) or not isinstance(stmt.rvalue, CallExpr):
        return None
    built, at = (stmt.line, stmt.column), (call.line, call.column)
    if built >= at:
        return None
    for other in _bindings(body, held.text):
        if built < (other.line, other.column) < at:
            return None  # the held session was bound again in between
    return stmt.rvalue


def _bindings(body: list[Statement], name: str) -> Iterator[Statement]:
    """Statements of the function's own body (not nested functions) binding `name` (a
    plain name, or an attribute as it reads: `self.session`)."""
    for stmt, _ in walk_statements(body):
        targets: list[Expression | None]
        if isinstance(stmt, AssignmentStmt):
            targets = list(stmt.lvalues)
        elif isinstance(stmt, ForStmt):
            targets = [stmt.index]
        elif isinstance(stmt, WithStmt):
            targets = list(stmt.target)
        elif isinstance(stmt, (FuncDef, Decorator)):
            targets = [NameExpr(stmt.name)]
        else:
            continue
        if any(_binds(target, name) for target in targets):
            yield stmt


def _binds(target: Expression | None, name: str) -> bool:
    if isinstance(target, (TupleExpr, ListExpr)):
        return any(_binds(item, name) for item in target.items)
    if isinstance(target, NameExpr):
        return target.name.rstrip("'") == name
    return isinstance(target, MemberExpr) and render(target, "") == name
