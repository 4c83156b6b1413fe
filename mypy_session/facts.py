"""Facts about one call the plugin cares about, gathered once per call.

The hook builds a `CallSite`; the checks (`checks/`) only read it and report. The command
line reuses the same hooks, so there is one analysis, not two.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final, cast

from mypy.checker import TypeChecker
from mypy.nodes import (
    AwaitExpr,
    CallExpr,
    Context,
    Expression,
    FuncItem,
    MemberExpr,
    MypyFile,
    NameExpr,
    Var,
    WithStmt,
)
from mypy.plugin import FunctionContext, MethodContext
from mypy.types import AnyType, Instance, NoneType, Type, UnionType, get_proper_type

from mypy_session.compat import current_function, top_level_function
from mypy_session.errorcodes import SESSION_DETACHED_RETURN
from mypy_session.escaping_objects import ClosedScope
from mypy_session.conditional_openers import ruled_out_by_call
from mypy_session import fullnames
from mypy_session.held import PARAMETER, HeldSession, Sight, passed_parameter, scope_holder, sight_at_call
from mypy_session.knowledge import Knowledge
from mypy_session.receiver_sessions import held_by_receiver
from mypy_session.report import function_name
from mypy_session.scopes import (
    WithBlock, iterated_here, returns_within, scopes_of, uses_within, walk_statements,
)
from mypy_session.vocabulary import Callee, is_mapped_instance, render, session_kind

if TYPE_CHECKING:  # imported where a recording run (audit) needs it
    from mypy_session.recorder import CallRecord

# How the argument passed for the session parameter relates to the held session.
NOTHING: Final = "nothing"
PASSED: Final = "passed"  # a session (the held one, or another one that is held too)
LITERAL_NONE: Final = "None"
FRESH: Final = "fresh"  # a newly opened session
OTHER: Final = "other"  # a parameter that is not the held session


class CallSite:
    """What is held, what is passed, and what the call leads to. The checks only read it.
    One is made for every session call: a plain class, not a dataclass, whose compiled
    constructor would run an interpreted `__init__` (see the note in `scopes`)."""

    __slots__ = (
        "callee", "context", "sight", "param", "required", "passed", "passed_text",
        "in_own_transaction", "detached_name", "detached_scope_line", "detached_scope_held",
        "opener_text", "closed_scope", "with_context",
    )

    def __init__(self, callee: Callee, context: Context, sight: Sight) -> None:
        self.callee = callee
        self.context = context
        self.sight = sight
        self.param: str | None = None  # the callee's session parameter, by name
        self.required = False  # no default: mypy itself reports a missing argument
        self.passed = NOTHING  # one of the constants above
        self.passed_text = ""  # how the passed expression reads
        self.in_own_transaction = False  # the calling function is marked OwnTransaction
        # session-detached-use: the name the result is bound to, and the later scope using it
        self.detached_name: str | None = None
        self.detached_scope_line: int | None = None
        self.detached_scope_held: str | None = None
        self.opener_text = ""  # for a scope opener: how the call reads ("SessionLocal()")
        # session-detached-return: the scope this opener call opens, where the function
        # held no session (`escaping_objects` looks at what leaves it)
        self.closed_scope: ClosedScope | None = None
        # the call is the context of a `with` item (`with get_db() as db:`)
        self.with_context = False

    @property
    def held(self) -> HeldSession | None:
        return self.sight.held


def call_site(
    ctx: FunctionContext | MethodContext, callee: Callee, knowledge: Knowledge
) -> CallSite | None:
    """Facts about the call being checked (built once: this runs for every session call)."""
    call = ctx.context
    if not isinstance(call, CallExpr):
        return None
    api = cast(TypeChecker, ctx.api)
    lazy = _LazySight(api, call, knowledge)
    argument = _argument(ctx, callee, lazy, knowledge) if callee.params else None
    if argument is not None:
        if (
            argument[1] == PASSED
            and not callee.opener
            and callee.opens is None
            and knowledge.reporter.recorder is None
        ):
            return None  # the session is passed on: no check has anything to say
    sight = lazy.get()
    by_receiver = False  # the receiver holds the held session (`receiver_sessions`)
    if argument is not None and argument[1] == NOTHING and argument[0] in callee.optional:
        receiver = _receiver_holding(call, callee, argument[0], sight, api, knowledge)
        if receiver is not None:
            argument, by_receiver = (argument[0], PASSED, receiver), True
    with_context: bool | None = None
    if callee.deferred and not iterated_here(_container(api), call):
        # `StreamingResponse(waiter.wait())`: the generator's body, and the scope it
        # opens, runs only when it is iterated, after this function has moved on; a
        # `@contextmanager` one runs when a `with` enters it (`with get_db() as db:`).
        with_context = _is_with_context(api, call)
        if not with_context:
            callee = callee.changed(opener=callee.opener, opens=None)
    if callee.when is not None and ruled_out_by_call(callee.when, call, api.lookup_type_or_none):
        # It opens only on branches this call's own arguments rule out (`get_client()`
        # without `account`): `conditional_openers`.
        callee = callee.changed(opener=callee.opener, opens=None)
    in_own_transaction = (callee.opener or callee.opens is not None) and _marked_own(api, knowledge)
    opener_text = ""
    closed_scope: ClosedScope | None = None
    if callee.opener:
        if by_receiver or _passes_held(call, sight):
            # `session_scope(session)`: an opener handed the held session reuses it (so
            # does one whose receiver holds it, `Unit(session).session_scope()`).
            callee = callee.changed(opener=False, opens=callee.opens)
        else:
            opener_text = knowledge.opener_name(call) or f"{callee.display}()"
            closed_scope = _closed_scope(call, sight, api, opener_text)
    site = CallSite(callee, call, sight)
    if argument is not None:
        param, passed, text = argument
        site.param, site.required = param, param not in callee.optional
        site.passed, site.passed_text = passed, text
        if passed == NOTHING and sight.held is None:
            _detached_use(site, call, ctx, api, knowledge)
    site.in_own_transaction = in_own_transaction
    site.opener_text, site.closed_scope = opener_text, closed_scope
    if callee.opens is not None and not callee.opener and sight.held is not None:
        site.with_context = with_context if with_context is not None else _is_with_context(api, call)
    return site


def _receiver_holding(
    call: CallExpr, callee: Callee, param: str, sight: Sight, api: TypeChecker, knowledge: Knowledge
) -> str | None:
    """`UserService(session).rename()`: the receiver holds the held session, and the method
    falls back to it when given none (`receiver_sessions`); how the receiver reads."""
    held = sight.held
    if held is None:
        return None
    return held_by_receiver(
        call, callee, param, held, api, lambda name: knowledge.summary(name).self_attributes
    )


def _is_with_context(api: TypeChecker, call: CallExpr) -> bool:
    """Is `call` the context expression of a `with` item of the function being checked?
    (Asked only for a call that opens a scope where a session is held: rare.)"""
    function = current_function(api.scope)
    body = function.body.body if function is not None else _module(api).defs
    for stmt, _ in walk_statements(body):
        if isinstance(stmt, WithStmt) and any(expr is call for expr in stmt.expr):
            return True
    return False


class _LazySight:
    """The call's `Sight`, made on first use (most calls pass the session on and never
    need it)."""

    __slots__ = ("_api", "_call", "_knowledge", "_sight")

    def __init__(self, api: TypeChecker, call: CallExpr, knowledge: Knowledge) -> None:
        self._api, self._call, self._knowledge = api, call, knowledge
        self._sight: Sight | None = None

    def get(self) -> Sight:
        if self._sight is None:
            self._sight = sight_at_call(self._api, self._call, self._knowledge)
        return self._sight


def _container(api: TypeChecker) -> FuncItem | MypyFile:
    function = current_function(api.scope)
    return function if function is not None else _module(api)


def _argument(
    ctx: FunctionContext | MethodContext, callee: Callee, sight: _LazySight, knowledge: Knowledge
) -> tuple[str, str, str] | None:
    """(the session parameter's name, what is passed for it, how that reads)."""
    if callee.behind is not None:
        return _argument_behind(ctx, callee.behind, sight, knowledge)
    for index, name in enumerate(ctx.callee_arg_names):
        if name is not None and name in callee.params:
            break
    else:  # an overload item or a bound signature without the parameter
        if callee.by_overload:  # the item chosen because nothing was passed for it
            return min(callee.params), NOTHING, ""
        return None
    args = ctx.args[index]
    if not args:
        return name, NOTHING, ""
    passed = PASSED
    if len(args) == 1 and not ctx.arg_kinds[index][0].is_star():
        passed = _classify(args[0], ctx, sight, knowledge)
    return name, passed, render(args[0])


def _argument_behind(
    ctx: FunctionContext | MethodContext,
    params: tuple[tuple[str, int], ...],
    sight: _LazySight,
    knowledge: Knowledge,
) -> tuple[str, str, str] | None:
    """`_argument` for a callee whose decorator hides its signature (mypy maps every
    argument onto `*args` / `**kwargs`): the call's own arguments against the parameters of
    the function under the decorator, by keyword, by position, or through a splat."""
    call = ctx.context
    if not isinstance(call, CallExpr) or not params:
        return None
    positional = 0
    for arg, kind, keyword in zip(call.args, call.arg_kinds, call.arg_names):
        if kind.is_star():
            return params[0][0], PASSED, render(arg)
        if keyword is None:
            positional += 1
    for name, index in params:
        for arg, keyword in zip(call.args, call.arg_names):
            if keyword == name:
                return name, _classify(arg, ctx, sight, knowledge), render(arg)
        if index < positional:
            arg = [a for a, k in zip(call.args, call.arg_names) if k is None][index]
            return name, _classify(arg, ctx, sight, knowledge), render(arg)
    # A decorator may take leading parameters off (prefect's `db_injector` injects `db`,
    # so `read_task_runs(session, ...)` passes the session first): an argument that is a
    # session, wherever it stands, is taken as the session passed on.
    names = knowledge.config.session_param_names
    for arg, types in zip(call.args, _argument_types(ctx, len(call.args))):
        if session_kind(types, knowledge.config) is not None or (
            isinstance(arg, NameExpr) and render(arg) in names  # untyped, or not yet inferred
        ):
            return params[0][0], PASSED, render(arg)
    return params[0][0], NOTHING, ""


def _argument_types(ctx: FunctionContext | MethodContext, count: int) -> list[Type | None]:
    """The type of each of the call's arguments, in the call's order, where mypy mapped
    them onto `*args` and `**kwargs` (a signature that hides the function's)."""
    found: list[Type | None] = [typ for types in ctx.arg_types for typ in types]
    return found if len(found) == count else [None] * count


def _classify(
    arg: Expression, ctx: FunctionContext | MethodContext, sight: _LazySight, knowledge: Knowledge
) -> str:
    """How the argument relates to the held session. Decided without computing the held
    session (the costly part): only a parameter that is not the held one can be a
    mismatch; any other name or attribute is the held session or another held one."""
    if isinstance(arg, NameExpr) and arg.fullname == "builtins.None":
        return LITERAL_NONE
    if knowledge.opener_name(arg.expr if isinstance(arg, AwaitExpr) else arg) is not None:
        return FRESH
    if isinstance(arg, NameExpr) and isinstance(arg.node, Var):
        api = cast(TypeChecker, ctx.api)
        kind = passed_parameter(api, arg.node, knowledge)
        if kind == "maybe":
            # Only here is the held session needed: is the parameter itself the held one?
            held = sight.get().held
            return PASSED if held is None or held.var is arg.node else OTHER
        if kind is not None:
            return OTHER
    return PASSED


def _passes_held(call: CallExpr, sight: Sight) -> bool:
    if not call.args:
        return False
    held = sight.held
    if held is None:
        return False
    return any(
        render(arg) == held.text or (held.var is not None and _var(arg) is held.var)
        for arg in call.args
    )


def _detached_use(
    site: CallSite,
    call: CallExpr,
    ctx: FunctionContext | MethodContext,
    api: TypeChecker,
    knowledge: Knowledge,
) -> None:
    """Fill in the `detached_*` facts: an ORM object loaded here, outside any session,
    and used inside a later scope."""
    if not is_mapped_instance(_awaited(ctx.default_return_type)):
        return
    function = current_function(api.scope)
    body = scopes_of(function if function is not None else _module(api))
    name = body.assigned.get(id(call))
    if name is None or name.node is None:
        return
    after = (call.line, call.column)
    for block in body.withs:
        if (block.stmt.line, block.stmt.column) <= after:
            continue
        held = next(filter(None, (scope_holder(item, knowledge) for item in block.items)), None)
        if held is not None and uses_within(block.stmt, name.node):
            site.detached_name = name.name
            site.detached_scope_line = block.stmt.line
            site.detached_scope_held = held
            return


def _closed_scope(
    call: CallExpr, sight: Sight, api: TypeChecker, opener: str
) -> ClosedScope | None:
    """`with <this call> as x:` in a function that held no session (where the code is on)."""
    if sight.held is not None or not api.errors.is_error_code_enabled(SESSION_DETACHED_RETURN):
        return None
    if sight.none_parameter:
        # Pattern A's fallback (`if session is not None: return _impl(session)` then
        # `with session_scope() as session: return _impl(session)`) and pattern B: the
        # callers that pass a session get attached objects; the others chose not to.
        return None
    function = current_function(api.scope)
    if function is None:
        return None
    for block in scopes_of(function).withs:
        if any(item.expr is call for item in block.items):
            return ClosedScope(
                api.path, function, block.stmt, opener, function_name(api), api.tscope.current_target()
            )
    return None


def _marked_own(api: TypeChecker, knowledge: Knowledge) -> bool:
    function = top_level_function(api.scope)
    if function is None or not function.fullname:
        return False
    return knowledge.marker_of(function.fullname) == fullnames.OWN


def _awaited(typ: Type) -> Type:
    proper = get_proper_type(typ)
    if isinstance(proper, Instance) and proper.type.fullname in _AWAITABLES and proper.args:
        return proper.args[-1]
    return typ


_AWAITABLES: Final = ("typing.Coroutine", "typing.Awaitable")


def _module(api: TypeChecker) -> MypyFile:
    first = api.scope.stack[0]
    assert isinstance(first, MypyFile)
    return first


def _var(expr: Expression) -> object | None:
    return expr.node if isinstance(expr, NameExpr) else None





def record(site: CallSite, api: TypeChecker) -> CallRecord:
    """The call as a recording run (audit) keeps it."""
    from mypy_session.recorder import CallRecord

    callee, held = site.callee, site.held
    return CallRecord(
        path=api.path,
        line=site.context.line,
        column=site.context.column,
        function=function_name(api),
        callee=callee.display,
        callee_fullname=callee.fullname,
        accepts_session=bool(callee.params),
        marker=callee.marker,
        opener=callee.opener,
        opens=callee.opens,
        param=site.param,
        passed=site.passed,
        passed_text=site.passed_text,
        held=held.text if held is not None else None,
        held_kind=held.kind if held is not None else None,
        held_optional=held is not None and _admits_none(held),
        detached_name=site.detached_name,
        detached_scope_line=site.detached_scope_line,
        detached_scope_held=site.detached_scope_held,
    )


def _admits_none(held: HeldSession) -> bool:
    """Is the held session a parameter whose declared type admits None (`Session | None`,
    or unannotated: a legacy `session=None`)? (A `with` target reusing its name is not.)"""
    var = held.var
    if var is None or held.kind != PARAMETER:
        return False
    typ = get_proper_type(var.type)
    if typ is None or isinstance(typ, AnyType):
        return True
    if isinstance(typ, UnionType):
        return any(isinstance(get_proper_type(item), NoneType) for item in typ.items)
    return False
