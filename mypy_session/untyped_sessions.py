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
A function with no session parameter costs one pass over its arguments.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator, Sequence

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
from mypy_session.checks.not_analysed import report_not_analysed
from mypy_session.compat import top_level_function
from mypy_session.held import own_session_params
from mypy_session.knowledge import Knowledge
from mypy_session.not_analysed import (
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
from mypy_session.vocabulary import session_kind

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


def check_module(file: MypyFile, knowledge: Knowledge) -> None:
    """The end-of-module walk (see the module docstring)."""
    if file.is_stub:
        return
    if knowledge.daemon:
        # Findings of the other modules' walks go back into the table where an update
        # dropped them; this module's are decided anew.
        kept = checker_for(file)
        if kept is not None:
            kept_findings.step(kept)
        kept_findings.renew(file, kept)
    walk = _ModuleWalk(knowledge, file.path)
    for definition in _definitions(file.defs):
        walk.function(definition, dynamic=False, copied=False)
    failures = _failed.pop(file.path, {})
    if not walk.functions and not failures:
        return
    checker = reporting_checker(file)
    if checker is None:
        return
    errors = checker.errors
    before = len(errors.error_info_map.get(file.path, ()))
    walk.report(checker, checker.tree is file)
    for function, line in failures.items():
        walk.found.append(NotAnalysed(file.path, function, line, FAILED))
    recorder = knowledge.reporter.recorder
    for fact in walk.found:
        if recorder is not None:
            recorder.not_analysed.append(fact)
        report_not_analysed(checker, fact, knowledge)
    if knowledge.daemon:
        walk.keep(file, errors.error_info_map.get(file.path, [])[before:])


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

    __slots__ = ("func", "name", "params", "untyped", "copied", "dynamic", "top")

    def __init__(
        self,
        func: FuncItem,
        name: str,
        params: list[tuple[str, Var]],
        untyped: set[int],
        copied: bool,
        dynamic: bool,
        top: FuncItem,
    ) -> None:
        self.func = func
        self.top = top  # the top-level function it is in (itself, if it is one)
        self.name = name  # the top-level function's fullname
        self.params = params
        self.untyped = untyped  # id() of the session parameters not typed as sessions
        self.copied = copied  # mypy checks copies of it (a value-restricted TypeVar)
        self.dynamic = dynamic  # untyped, or nested in an untyped function


class _ModuleWalk:
    """The session functions of one module: what to report, found before a checker is
    needed (most modules have nothing, and need none)."""

    def __init__(self, knowledge: Knowledge, path: str) -> None:
        self.knowledge = knowledge
        self.path = path
        self.methods = knowledge.config.commit_methods
        self.functions: list[_Function] = []  # those with a session parameter
        self.found: list[NotAnalysed] = []

    def function(
        self,
        definition: FuncItem,
        *,
        dynamic: bool,
        copied: bool,
        top: str | None = None,
        outer: FuncItem | None = None,
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
            self.functions.append(
                _Function(definition, name, params, untyped, copied, dynamic, outer or definition)
            )
        for nested in _nested(definition.body.body):
            self.function(nested, dynamic=dynamic, copied=copied, top=name, outer=outer or definition)

    def report(self, checker: TypeChecker, own: bool) -> None:
        """Report with `checker` (`own`: the module's own checker, whose type map says what
        mypy checked), under the module's options as mypy has them now."""
        checks_untyped = bool(checker.errors.options.check_untyped_defs)
        types: dict[Expression, Type] | None = checker._type_maps[0] if own else None
        for entry in self.functions:
            func = entry.func
            if entry.dynamic and not checks_untyped:
                self.found.append(NotAnalysed(self.path, entry.name, func.line, UNTYPED))
                continue
            # mypy checks the per-value copies of a value-restricted generic function,
            # never the original: its expressions are in no type map.
            reach = Reach(None if entry.copied else types, func.body.body)
            sessions = {id(var) for _, var in entry.params}
            self._function(checker, func, entry.name, sessions, entry.untyped, reach)

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
            for entry in self.functions:
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
        func: FuncItem,
        name: str,
        sessions: set[int],
        untyped: set[int],
        reach: Reach,
    ) -> None:
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
                if not skipped and (
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


def _nested(body: Sequence[Statement]) -> Iterator[FuncItem]:
    """Functions defined in a body (not in nested classes, whose methods are their own)."""
    for stmt, _ in walk_statements(body):
        if isinstance(stmt, FuncDef):
            yield stmt
        elif isinstance(stmt, Decorator):
            yield stmt.func
        elif isinstance(stmt, OverloadedFuncDef) and stmt.impl is not None:
            impl = stmt.impl
            yield impl.func if isinstance(impl, Decorator) else impl


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
