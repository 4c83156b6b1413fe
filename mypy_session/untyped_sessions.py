"""Sessions mypy sees as `Any`, and session code it never checked: one walk per module,
when mypy has finished checking it.

mypy runs no plugin hook for a call on `Any` (`checkexpr.check_call`: an `AnyType` callee
goes to `check_any_type_call`), so `session.commit()` on an unannotated, `Any` or
invalid-annotation session parameter (`def f(x, session=None)`, `session: SessionLocal`)
reaches no check. The hooks that do fire in such a function are rare (legacy code is `Any`
all through), so the walk is not tied to them: it runs from
`Plugin.get_additional_indirect_deps(file)`, which mypy calls exactly once for every module
it checks, in `State.finish_passes`: after every body of the module is checked (deferred
ones included), while its tree and type map still exist, and before it collects the
module's errors for the output and the cache (so a finding there is reported, ignored by
`# type: ignore[...]`, replayed from the cache, like any other). It runs in sequential,
parallel (`-n`) and daemon builds alike, and not at all in a warm run (nothing is checked).
Studied and not taken: the first hook of a module (none fires in an all-`Any` module),
the decorator-application hook (only decorated functions), `report_config_data(is_check=
False)` (in mypy 2.x it runs before the bodies are checked, and only where a cache is
written; under `local_partial_types = false` and in mypy 1.x it runs after the module's
errors were collected, so a finding there is lost).

The callback gets only the module; what reports is the checker of the module (kept from the
module's hooks), or, where no hook fired in it, the checker last seen: all of a build's
checkers share mypy's `Errors`, which at this point is set to this module's file, options
and scope (`errors.file` is compared to be sure). Without the module's own checker its type
map is unknown, so its unreachable code cannot be told (see docs/known-problems.md).

For each function (and method, nested function) with a session parameter:
- unchecked by mypy (`check_untyped_defs` off for an untyped function): a `not_analysed`
  fact, nothing else;
- `p.commit()` / `rollback()` / `close()` (the `commit_methods` setting) on a session
  parameter `p` whose declared type is `Any`, in code mypy checked: reported through
  `checks/borrowed_commit.py` (the same decision, the same exemptions as for a typed one);
- session code that mypy found unreachable (a statement naming a session parameter, or
  calling a function that takes a session): a `not_analysed` fact.
A function with no session parameter costs one pass over its arguments. Nothing is walked
in a module whose errors mypy silences (library code: the hooks skip it too), and where
neither the audit's recorder nor the opt-in `session-not-analysed` code wants the facts,
only functions with a session parameter not typed as a session are walked (the cost of
this walk: benchmarks/results/overhead-compiled.md).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from mypy.checker import TypeChecker
from mypy.errors import ErrorInfo
from mypy.nodes import (
    CallExpr,
    Decorator,
    Expression,
    FuncDef,
    FuncItem,
    MemberExpr,
    MypyFile,
    NameExpr,
    OverloadedFuncDef,
    RefExpr,
    Statement,
    TypeInfo,
    Var,
)
from mypy.server.subexpr import get_subexpressions
from mypy.types import Type

from mypy_session import kept_findings
from mypy_session.checks.borrowed_commit import (
    has_value_restricted_typevars,
    is_borrowed,
    report_borrowed_commit,
)
from mypy_session.any_receivers import AnyCall, any_receiver_call, calls_on_any, scope_stack
from mypy_session.checks.not_analysed import report_not_analysed
from mypy_session.errorcodes import SESSION_NOT_ANALYSED
from mypy_session.compat import top_level_function
from mypy_session.held import own_session_params
from mypy_session.knowledge import Knowledge
from mypy_session.not_analysed import (
    ANY_RECEIVER,
    FAILED,
    UNREACHABLE,
    UNTYPED,
    NotAnalysed,
    Reach,
    calls_session_service,
    is_exit,
    statements,
    uses,
)
from mypy_session.scopes import functions_in, own_expressions, walk_statements
from mypy_session.vocabulary import render, session_kind

if TYPE_CHECKING:  # `any_receiver_calls` imports the call facts, which import this module
    from mypy_session.any_receiver_calls import AnyReceivers

# The checker of the module the hooks last saw (any module: they share mypy's `Errors`),
# and the functions whose hooks failed, by path.
_last: list[TypeChecker] = []
_failed: dict[str, dict[str, int]] = {}


def forget() -> None:
    """A new build: drop the last build's checker, failures and kept findings."""
    _last.clear()
    _failed.clear()
    kept_findings.forget()


def seen(checker: TypeChecker, daemon: bool = False) -> None:
    """A hook fired in the module `checker` checks (library modules included); under
    dmypy, the first of a new update step puts back the findings kept from earlier walks
    (`kept_findings`)."""
    if _last:
        _last[0] = checker
    else:
        _last.append(checker)
    if daemon:
        kept_findings.step(checker)


def failed(checker: TypeChecker) -> None:
    """A hook failed on code the plugin cannot understand (outside debug mode)."""
    function = top_level_function(checker.scope)
    if function is not None and function.fullname:
        _failed.setdefault(checker.path, {}).setdefault(function.fullname, function.line)


def check_module(
    file: MypyFile, knowledge: Knowledge, receivers: AnyReceivers | None = None
) -> set[str]:
    """The end-of-module walk (see the module docstring); `receivers` checks the calls on
    `Any` receivers it finds (`any_receivers`). Returns the modules what it reported
    depends on beyond the module's imports (mypy's indirect dependencies)."""
    if file.is_stub:
        return set()
    if knowledge.daemon:
        # Findings of the other modules' walks go back into the table where an update
        # dropped them; this module's are decided anew.
        kept = checker_for(file)
        if kept is not None:
            kept_findings.step(kept)
        kept_findings.renew(file, kept)
    failures = _failed.pop(file.path, {})
    # Where nothing can be reported (library code, modules whose errors mypy silences,
    # as the hooks skip them), nothing is walked. The facts of `not_analysed` are wanted
    # only by the audit's recorder and by the opt-in error code; without them only the
    # functions with a session parameter not typed as a session are walked (the calls
    # on `Any` receivers are found from the module's type map, `_any_calls`).
    checker = reporting_checker(file)
    if checker is None:
        return set()
    recorder = knowledge.reporter.recorder
    facts = recorder is not None or checker.errors.is_error_code_enabled(SESSION_NOT_ANALYSED)
    walk = _ModuleWalk(knowledge, file, receivers, facts)
    for definition in _definitions(file.defs):
        walk.function(definition, dynamic=False, copied=False, outer=())
    wanted = receivers is not None and bool(walk.holders)
    if not walk.functions and not (failures and facts) and not wanted:
        return set()
    errors = checker.errors
    before = len(errors.error_info_map.get(file.path, ()))
    walk.report(checker, checker.tree is file)
    if facts:
        for function, line in failures.items():
            walk.found.append(NotAnalysed(file.path, function, line, FAILED))
    for fact in walk.found:
        if recorder is not None:
            recorder.not_analysed.append(fact)
        report_not_analysed(checker, fact, knowledge)
    if knowledge.daemon:
        walk.keep(file, errors.error_info_map.get(file.path, [])[before:])
    return walk.depends_on


def reporting_checker(file: MypyFile) -> TypeChecker | None:
    """The checker to report in `file` with, once mypy has checked it (`checker_for`);
    None for library code, or where mypy's errors are not at `file`."""
    checker = checker_for(file)
    if checker is None:
        return None
    errors = checker.errors
    if errors.file != file.path or file.path in errors.ignored_files:
        return None  # library code (or not where mypy is): nothing is reported there
    return checker


def checker_for(file: MypyFile) -> TypeChecker | None:
    """The checker to report with: the module's own where a hook fired in it, else the
    last one seen. Where none was seen yet in this process (the first modules checked
    call nothing the plugin hooks), the module's own is looked up once among the young
    objects of the garbage collector: it was made for this module's check. Costs one
    scan (tens of milliseconds) in such a process, then never again."""
    if _last:
        return _last[0]
    for generation in (0, 1, 2):
        for obj in gc.get_objects(generation):
            if type(obj) is TypeChecker and obj.tree is file:
                _last.append(obj)
                return obj
    return None


class _Function:
    """A function with a session parameter, as the walk found it."""

    __slots__ = ("func", "name", "params", "untyped", "copied", "dynamic", "outer")

    def __init__(
        self,
        func: FuncItem,
        name: str,
        params: list[tuple[str, Var]],
        untyped: set[int],
        copied: bool,
        dynamic: bool,
        outer: tuple[FuncItem, ...],
    ) -> None:
        self.func = func
        self.name = name  # the top-level function's fullname
        self.params = params
        self.untyped = untyped  # id() of the session parameters not typed as sessions
        self.copied = copied  # mypy checks copies of it (a value-restricted TypeVar)
        self.dynamic = dynamic  # untyped, or nested in an untyped function
        self.outer = outer  # the functions it is nested in, outermost first

    @property
    def top(self) -> FuncItem:
        """The top-level function it is in (itself, if it is one)."""
        return self.outer[0] if self.outer else self.func


class _ModuleWalk:
    """The session functions of one module: what to report, found before a checker is
    needed (most modules have nothing, and need none)."""

    def __init__(
        self, knowledge: Knowledge, file: MypyFile, receivers: AnyReceivers | None, facts: bool
    ) -> None:
        self.knowledge = knowledge
        self.file = file
        self.path = file.path
        self.receivers = receivers
        self.facts = facts  # `not_analysed` facts wanted (else only untyped sessions)
        self.calls: list[AnyCall] = []  # calls on `Any` receivers (`any_receivers`)
        # Every function with a session parameter (`functions`, those the walk of
        # statements needs, may be fewer), and the functions without one.
        self.holders: list[_Function] = []
        self.others: list[FuncItem] = []
        self.depends_on: set[str] = set()  # modules whose classes decided those calls
        self.methods = knowledge.config.commit_methods
        self.functions: list[_Function] = []  # those with a session parameter
        self.found: list[NotAnalysed] = []

    def function(
        self,
        definition: FuncItem,
        *,
        dynamic: bool,
        copied: bool,
        outer: tuple[FuncItem, ...],
        top: str | None = None,
    ) -> None:
        """`dynamic`: it, or a function it is nested in, is untyped (mypy skips it unless
        `check_untyped_defs`); `top`: the fullname of the top-level function a nested one
        is in (findings are told apart by it, as for those the hooks report)."""
        dynamic = dynamic or definition.is_dynamic()
        copied = copied or has_value_restricted_typevars(definition)
        name = top if top is not None else _fullname(definition)
        params = own_session_params(definition, self.knowledge)
        if params:
            # Typed session parameters: the method hooks saw their calls.
            config = self.knowledge.config
            untyped = {
                id(var)
                for _, var in params
                if session_kind(_declared(definition, var), config) is None
            }
            entry = _Function(definition, name, params, untyped, copied, dynamic, outer)
            self.holders.append(entry)
            if untyped or self.facts:
                self.functions.append(entry)
        else:
            self.others.append(definition)
        for nested in _nested(definition.body.body):
            self.function(
                nested, dynamic=dynamic, copied=copied, outer=(*outer, definition), top=name
            )

    def report(self, checker: TypeChecker, own: bool) -> None:
        """Report with `checker` (`own`: the module's own checker, whose type map says what
        mypy checked), under the module's options as mypy has them now."""
        checks_untyped = bool(checker.errors.options.check_untyped_defs)
        types: dict[Expression, Type] | None = checker._type_maps[0] if own else None
        for entry in self.functions:
            func = entry.func
            if entry.dynamic and not checks_untyped:
                if self.facts:
                    self.found.append(NotAnalysed(self.path, entry.name, func.line, UNTYPED))
                continue
            # mypy checks the per-value copies of a value-restricted generic function,
            # never the original: its expressions are in no type map.
            reach = Reach(None if entry.copied else types, func.body.body)
            sessions = {id(var) for _, var in entry.params}
            # Without the type map, the calls on `Any` receivers are found by the walk.
            look = self.receivers is not None and not entry.copied and types is None
            self._function(checker, entry, sessions, reach, look, types)
        if self.receivers is not None and types is not None and self.holders:
            self.calls = self._any_calls(types, checks_untyped)
        elif self.receivers is not None and types is None:
            # No type map (no hook ran in this module): the functions with a typed session
            # parameter that the walk above left out are walked for their `Any` calls.
            walked = {id(entry) for entry in self.functions}
            for entry in self.holders:
                if id(entry) in walked or entry.copied or (entry.dynamic and not checks_untyped):
                    continue
                reach = Reach(None, entry.func.body.body)
                self._function(checker, entry, set(), reach, True, None)
        if self.calls and self.receivers is not None:
            self.depends_on = self.receivers.check(
                checker, self.file, self.calls, types or {}, self._unknown
            )

    def _any_calls(self, types: dict[Expression, Type], checks_untyped: bool) -> list[AnyCall]:
        """The calls on `Any` receivers in the functions with a session parameter, from
        the module's type map (what mypy checked: reachable code only), in source order.
        One pass over the map; a call belongs to the innermost function around its line,
        and is looked at only where that function has a session parameter."""
        holders = [
            entry
            for entry in self.holders
            if not entry.copied and not (entry.dynamic and not checks_untyped)
        ]
        if not holders:
            return []
        found: dict[tuple[int, int], AnyCall] = {}
        for expr, method in calls_on_any(types):
            entry = self._holder_of(expr, holders)
            if entry is not None:
                stack = scope_stack(self.file, entry.outer, entry.func)
                key = (expr.line, expr.column)
                found.setdefault(key, AnyCall(expr, method, stack, entry.name, entry.func.line))
        return [found[key] for key in sorted(found)]

    def _holder_of(self, expr: Expression, holders: list[_Function]) -> _Function | None:
        """The function with a session parameter `expr` is directly in (not in a nested
        function without one)."""
        line = expr.line
        best: _Function | None = None
        for entry in holders:
            func = entry.func
            if func.line <= line <= (func.end_line or func.line):
                if best is None or func.line >= best.func.line:
                    best = entry
        if best is None:
            return None
        for other in self.others:  # a function without a session parameter inside it
            if best.func.line < other.line <= line <= (other.end_line or other.line):
                return None
        return best

    def _unknown(self, found: AnyCall) -> None:
        """A call on an `Any` receiver whose callee may or may not take a session: one
        fact per function (its first such call)."""
        if not self.facts:
            return
        if any(f.reason == ANY_RECEIVER and f.function == found.function for f in self.found):
            return
        call = found.call
        self.found.append(
            NotAnalysed(
                self.path, found.function, found.line, ANY_RECEIVER, after=call.line,
                context_line=call.line, context_column=call.column,
                detail=f"`{render(call.callee)}()`",
            )
        )

    def keep(self, file: MypyFile, reported: list[ErrorInfo]) -> None:
        """Under dmypy: keep the findings across updates (`kept_findings`). A finding in a
        function that calls something mypy resolves is filed under the function: mypy
        checks it again in every update, and asks the plugin for a hook at that call,
        which puts the finding back. In a function with no such call (its only calls are
        on `Any` values) nothing would put it back once mypy removed it to check the
        function again: it is filed under a target no update checks."""
        by_target: dict[str | None, list[ErrorInfo]] = {}
        for info in reported:
            target = None
            for entry in self.holders:
                func = entry.func
                if func.line <= info.line <= (func.end_line or func.line):
                    target = entry.name if _calls_a_definition(entry.top) else None
                    break
            by_target.setdefault(target, []).append(info)
        for target, infos in by_target.items():
            kept_findings.keep(file, infos, target)

    def _function(
        self,
        checker: TypeChecker,
        entry: _Function,
        sessions: set[int],
        reach: Reach,
        look: bool,
        types: dict[Expression, Type] | None,
    ) -> None:
        """`look`: find the calls on `Any` receivers (by `types`, the module's type map
        where its checker is known)."""
        func, name, untyped = entry.func, entry.name, entry.untyped
        stack: list[TypeInfo | FuncItem | MypyFile] | None = None
        last = func.line
        skipped = False
        dead = False  # unreachable code met since the last checked statement
        for stmt in statements(func.body.body):
            exprs = own_expressions(stmt)
            if not exprs:
                # A bare `return` / `raise` has nothing in the type map; after checked
                # code it is checked too, and is where mypy stops: "after" its line.
                if is_exit(stmt) and not dead:
                    last = stmt.end_line or stmt.line
                continue
            if not reach.checked(stmt, exprs):
                dead = True
                if not skipped and self.facts and (
                    uses(exprs, sessions) or calls_session_service(exprs, self.knowledge.config)
                ):
                    skipped = True
                    self.found.append(
                        NotAnalysed(
                            self.path, name, func.line, UNREACHABLE, after=last,
                            context_line=stmt.line, context_column=stmt.column,
                        )
                    )
                continue
            dead = False
            last = stmt.end_line or stmt.line
            if untyped:
                self._commits(checker, func, name, exprs, untyped)
            if look:
                for expr in exprs:
                    method = any_receiver_call(expr, types)
                    if method is None:
                        continue
                    assert isinstance(expr, CallExpr)
                    if stack is None:
                        stack = scope_stack(self.file, entry.outer, func)
                    self.calls.append(AnyCall(expr, method, stack, name, func.line))

    def _commits(
        self,
        checker: TypeChecker,
        func: FuncItem,
        name: str,
        exprs: Sequence[Expression],
        untyped: set[int],
    ) -> None:
        for expr in exprs:
            if not isinstance(expr, CallExpr):
                continue
            callee = expr.callee
            if not isinstance(callee, MemberExpr) or callee.name not in self.methods:
                continue
            receiver = callee.expr
            if not isinstance(receiver, NameExpr) or id(receiver.node) not in untyped:
                continue
            if is_borrowed(func, receiver, self.knowledge):
                report_borrowed_commit(
                    checker, expr, callee.name, receiver.name, self.knowledge,
                    function=name, path=self.path,
                )


def _definitions(defs: Sequence[Statement]) -> Iterator[FuncItem]:
    for _, node in functions_in(defs):
        yield node.func if isinstance(node, Decorator) else node


def _nested(body: Sequence[Statement]) -> list[FuncItem]:
    """Functions defined in a body (not in nested classes, whose methods are their own)."""
    found: list[FuncItem] = []
    for stmt, _ in walk_statements(body):
        if isinstance(stmt, FuncDef):
            found.append(stmt)
        elif isinstance(stmt, Decorator):
            found.append(stmt.func)
        elif isinstance(stmt, OverloadedFuncDef) and stmt.impl is not None:
            impl = stmt.impl
            found.append(impl.func if isinstance(impl, Decorator) else impl)
    return found


def _calls_a_definition(func: FuncItem) -> bool:
    """Does `func` (or a function nested in it) call a function or class by a name mypy
    resolves (`str(x)`, `helper()`, `Lot(...)`)? Where mypy checks such a call it asks
    the plugin for a hook."""
    for stmt, _ in walk_statements(func.body.body, into_functions=True):
        for expr in own_expressions(stmt):
            for sub in (expr, *get_subexpressions(expr)):
                if isinstance(sub, CallExpr) and isinstance(sub.callee, RefExpr):
                    if isinstance(sub.callee.node, (FuncDef, Decorator, OverloadedFuncDef, TypeInfo)):
                        return True
    return False


def _declared(func: FuncItem, var: Var) -> Type | None:
    """The parameter's declared type as mypy uses it (None: unannotated)."""
    arg_types = getattr(func.type, "arg_types", None)
    for index, arg in enumerate(func.arguments):
        if arg.variable is var:
            if arg_types is not None and index < len(arg_types):
                declared: Type = arg_types[index]
                return declared
            return var.type
    return var.type


def _fullname(func: FuncItem) -> str:
    name = getattr(func, "fullname", "")
    return name if isinstance(name, str) else ""
