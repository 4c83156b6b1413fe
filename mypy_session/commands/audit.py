"""`mypy-session audit PATHS`: the transaction-boundary audit, automated (SPEC section 7).

One mypy build with the plugin on (`build.run`) gives:
- from the plugin's hooks, every session call with what was held and passed, and every
  finding (the same analysis as `mypy`, not a second one);
- from the kept syntax trees and types, each function's signature, marker, the writes
  it makes (for the READ / SINGLE / MULTI inference) and whether it uses its session;
- from the end-of-module walk (`untyped_sessions`), where session code was not analysed
  (`not_analysed`): such a function is not PASS, whatever else it shows.

`Audit` is the result; `render.py` turns it into Markdown, JSON or SARIF.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Final

from mypy.nodes import (
    AssignmentStmt,
    Block,
    IfStmt,
    MatchStmt,
    TryStmt,
    CallExpr,
    ClassDef,
    Decorator,
    DelStmt,
    Expression,
    ForStmt,
    FuncDef,
    Lvalue,
    MemberExpr,
    MypyFile,
    NameExpr,
    OperatorAssignmentStmt,
    OverloadedFuncDef,
    PassStmt,
    RaiseStmt,
    Statement,
    TupleExpr,
    ListExpr,
    ExpressionStmt,
    EllipsisExpr,
    StrExpr,
    WhileStmt,
    WithStmt,
)
from mypy.types import Type

from mypy_session import fullnames
from mypy_session.commands.build import Outcome
from mypy_session.commands.statement_writes import COMMITS, StatementWrites
from mypy_session.conditional_openers import When, describe
from mypy_session import baseline, errorcodes, facts
from mypy_session.held import scope_holder
from mypy_session.knowledge import Knowledge
from mypy_session.not_analysed import REASONS, NotAnalysed
from mypy_session.ownership import owns
from mypy_session.recorder import CallRecord, Finding
from mypy_session.scopes import WithItem, functions_in, own_expressions, walk_statements
from mypy_session.vocabulary import is_mapped_instance, render, session_params_of

# Audit-only findings: what the plugin cannot see call by call, a whole-function view can.
PARAM_UNUSED: Final = "session-param-unused"
READ_ONLY_WRITES: Final = "session-read-only-writes"
AUDIT_CODES: Final = {
    PARAM_UNUSED: "A function takes an optional session and never uses it",
    READ_ONLY_WRITES: "A function marked ReadOnly writes",
}

BORROWED_COMMIT: Final = errorcodes.SESSION_BORROWED_COMMIT.code
SERVICE_BOUNDARY: Final = "service-boundary"

READ: Final = "READ"
SINGLE: Final = "SINGLE"
MULTI: Final = "MULTI"
_WEIGHT: Final = {READ: 0, SINGLE: 1, MULTI: 2}
_CLASS_OF: Final = {0: READ, 1: SINGLE, 2: MULTI}
_DECLARED: Final = {
    fullnames.READ: "ReadOnly",
    fullnames.SINGLE: "SingleStep",
    fullnames.MULTI: "MultiStep",
    fullnames.OWN: "OwnTransaction",
    fullnames.OPENER: "ScopeOpener",
}
_DECLARED_CLASS: Final = {fullnames.READ: READ, fullnames.SINGLE: SINGLE, fullnames.MULTI: MULTI}

_ONE_OBJECT: Final = frozenset(("add", "delete", "merge"))


@dataclass
class Call:
    """A session call of the function, as the audit table shows it."""

    callee: str
    line: int
    column: int
    session_passed: str  # "yes", "no", "None", "fresh session", "other (x)", "n/a"
    status: list[str]  # the codes reported at this call; empty is PASS
    chain: str | None = None  # for a callee that opens its own scope: "a -> b -> s()"

    @property
    def verdict(self) -> str:
        return ", ".join(self.status) if self.status else "PASS"


@dataclass
class Function:
    module: str
    name: str  # "create_order", "OrderRepo.add"
    fullname: str
    path: str
    line: int
    session_param: str  # "required", "optional" or "none"
    param_names: list[str]
    declared: str | None  # "ReadOnly"..., or None
    inferred: str  # READ / SINGLE / MULTI
    writes: list[str]  # "session.add (line 12)", "lot.quantity = (line 14)"
    holds: bool  # opens a scope or holds a session somewhere in its body
    calls: list[Call] = field(default_factory=list)
    chains: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    not_analysed: list[NotAnalysed] = field(default_factory=list)  # where its session code was skipped

    @property
    def classification(self) -> str:
        """The declared marker's class where there is one, else the inferred one."""
        if self.declared is not None:
            for marker, word in _DECLARED.items():
                if word == self.declared and marker in _DECLARED_CLASS:
                    return _DECLARED_CLASS[marker]
        return self.inferred

    @property
    def codes(self) -> list[str]:
        return sorted({finding.code for finding in self.findings})

    @property
    def passed(self) -> bool:
        """No issue, and all of its session code analysed."""
        return not self.findings and not self.not_analysed

    @property
    def status(self) -> str:
        """`PASS`, or the codes of its issues, then what was not analysed
        ("not analysed: unreachable after line 12")."""
        parts = self.codes + [fact.text for fact in self.not_analysed]
        return ", ".join(parts) if parts else "PASS"


@dataclass
class Audit:
    functions: list[Function]
    findings: list[Finding]  # plugin findings and audit-only ones, in file order
    chains: list[str]  # every chain that reaches an opener through functions without a session
    sources: list[str]
    not_analysed: list[NotAnalysed] = field(default_factory=list)  # every function's, in file order
    # `service-boundary` findings by module: the guarded writes and calls outside their service
    boundary: dict[str, list[Finding]] = field(default_factory=dict)

    def only(self, selects: Callable[[str], bool]) -> Audit:
        """The audit as if only the selected codes were checked (`--select` / `--ignore`):
        other findings are left out everywhere, so a call whose only issue is left out
        reads PASS. What was not analysed stays (it is no finding)."""
        functions = [
            replace(
                function,
                findings=[f for f in function.findings if selects(f.code)],
                calls=[
                    replace(call, status=[code for code in call.status if selects(code)])
                    for call in function.calls
                ],
            )
            for function in self.functions
        ]
        findings = [f for f in self.findings if selects(f.code)]
        return Audit(functions, findings, self.chains, self.sources, self.not_analysed)

    def summary(self) -> dict[str, object]:
        by_code: dict[str, int] = defaultdict(int)
        for finding in self.findings:
            by_code[finding.code] += 1
        calls = [call for function in self.functions for call in function.calls]
        return {
            "functions_audited": len(self.functions),
            "functions_passed": sum(1 for f in self.functions if f.passed),
            "functions_with_issues": sum(1 for f in self.functions if f.findings),
            "functions_not_analysed": sum(1 for f in self.functions if f.not_analysed),
            "calls_audited": len(calls),
            "calls_passing_session": sum(1 for c in calls if c.session_passed == "yes"),
            "issues": len(self.findings),
            "by_code": dict(sorted(by_code.items())),
            # A project-wide convention (every service commits its caller's session) shows
            # here first: how many functions it is (issue 12, item 5).
            "functions_committing_borrowed": len(
                {f.function for f in self.findings if f.code == BORROWED_COMMIT}
            ),
            "not_analysed": len(self.not_analysed),
            "not_analysed_by_reason": {
                reason: sum(1 for fact in self.not_analysed if fact.reason == reason)
                for reason in REASONS
            },
        }


# -- gathering ---------------------------------------------------------------------------


@dataclass
class _Shape:
    """What the syntax tree says about one function (collected while the tree exists)."""

    module: str
    name: str
    fullname: str
    path: str
    line: int
    params: list[tuple[str, bool, int]]
    marker: str | None
    writes: list[str]
    weight: int
    unused_optional: list[str]
    holds: bool
    opens: tuple[str, ...] | None
    overrides: bool
    when: When | None = None  # opens only on these branches (`conditional_openers`)


class Collector:
    """The `visit` callback of the build: reads each checked source module."""

    def __init__(self) -> None:
        self.shapes: list[_Shape] = []

    def __call__(self, tree: MypyFile, types: dict[Expression, Type], knowledge: Knowledge) -> None:
        for prefix, node in functions_in(tree.defs):
            func = node.func if isinstance(node, Decorator) else node
            fullname = f"{tree.fullname}.{prefix}{func.name}"
            params = session_params_of(node, knowledge.config)
            walker = _Writes(types, knowledge, {name for name, _, _ in params})
            walker.walk(func)
            summary = knowledge.summary(fullname) if not params else None
            self.shapes.append(
                _Shape(
                    module=tree.fullname,
                    name=f"{prefix}{func.name}",
                    fullname=fullname,
                    path=tree.path,
                    line=func.line,
                    params=params,
                    marker=knowledge.marker_of(fullname),
                    writes=walker.writes,
                    weight=min(2, walker.weight),
                    unused_optional=[
                        name
                        for name, has_default, _ in params
                        if has_default and name not in walker.used and not _is_stub(func)
                        # `db: Session = Depends(get_db)`: injected, owned, not optional
                        and not owns(func, name, knowledge)
                    ],
                    holds=walker.holds,
                    opens=summary.opens if summary is not None else None,
                    overrides=_overrides(func),
                    when=summary.when if summary is not None else None,
                )
            )


def _is_stub(func: FuncDef) -> bool:
    """A body that is only a docstring, `...`, `pass` or `raise` (protocols, abstract)."""
    for stmt in func.body.body:
        if isinstance(stmt, (PassStmt, RaiseStmt)):
            continue
        if isinstance(stmt, ExpressionStmt) and isinstance(stmt.expr, (EllipsisExpr, StrExpr)):
            continue
        return False
    return True


def _overrides(func: FuncDef) -> bool:
    info = func.info
    if info is None or not getattr(info, "mro", None):
        return False
    return any(func.name in base.names for base in info.mro[1:])


class _Writes:
    """The writes a body makes, whether it uses its session parameters, whether it holds
    one (nested functions included: their calls count for the enclosing function too)."""

    def __init__(self, types: dict[Expression, Type], knowledge: Knowledge, params: set[str]):
        self.types = types
        self.knowledge = knowledge
        self.params = params
        self.used: set[str] = set()
        self.writes: list[str] = []
        self.weight = 0
        self.holds = False
        self.commits = False  # commits: at least SINGLE (see `statement_writes`)
        self._objects: set[str] = set()
        self._statements = StatementWrites(types, knowledge.config, params)

    def walk(self, func: FuncDef) -> None:
        for stmt, loops in walk_statements(func.body.body, into_functions=True):
            self._statement(stmt, loops)
            for expr in own_expressions(stmt):
                if isinstance(expr, NameExpr) and expr.name in self.params:
                    self.used.add(expr.name)
                elif isinstance(expr, CallExpr):
                    self._call(expr, loops)
        if self.commits:
            self.weight = max(self.weight, 1)

    def _write(self, what: str, line: int, loops: int, target: str | None = None) -> None:
        self.writes.append(f"{what} (line {line})")
        if loops:
            self.weight += 2  # a write in a loop writes many rows
        elif target is None or target not in self._objects:
            self.weight += 1  # several attributes of one object are one UPDATE
        if target is not None:
            self._objects.add(target)

    def _statement(self, stmt: Statement, loops: int) -> None:
        if isinstance(stmt, WithStmt):
            items = zip(stmt.expr, stmt.target)
            if any(scope_holder(WithItem(e, t), self.knowledge) for e, t in items):
                self.holds = True
        elif isinstance(stmt, AssignmentStmt):
            if len(stmt.lvalues) == 1 and isinstance(stmt.lvalues[0], NameExpr):
                self._statements.assigned(stmt.lvalues[0].name, stmt.rvalue)
            for lvalue in stmt.lvalues:
                for target in _targets(lvalue):
                    self._attribute_write(target, "=", loops)
        elif isinstance(stmt, OperatorAssignmentStmt):
            self._attribute_write(stmt.lvalue, f"{stmt.op}=", loops)
        elif isinstance(stmt, DelStmt):
            for target in _targets(stmt.expr):
                self._attribute_write(target, "del", loops)

    def _call(self, call: CallExpr, loops: int) -> None:
        kind = self._statements.kind(call)
        if kind is None:
            return
        callee = call.callee
        assert isinstance(callee, MemberExpr)
        if kind == COMMITS:
            self.commits = True
            self.writes.append(f"{render(callee.expr)}.commit (line {call.line})")
            return
        # add / merge / delete of an object already written is the same row
        target = render(call.args[0]) if call.args and callee.name in _ONE_OBJECT else None
        self._write(f"{render(callee.expr)}.{callee.name}", call.line, loops, target)

    def _attribute_write(self, target: Expression, how: str, loops: int) -> None:
        if isinstance(target, MemberExpr) and is_mapped_instance(self.types.get(target.expr)):
            owner = render(target.expr)
            self._write(f"{owner}.{target.name} {how}", target.line, loops, owner)


def _targets(lvalue: Lvalue | Expression) -> list[Expression]:
    if isinstance(lvalue, (TupleExpr, ListExpr)):
        return [t for item in lvalue.items for t in _targets(item)]
    return [lvalue]


# -- putting it together -----------------------------------------------------------------


def assemble(outcome: Outcome, collector: Collector) -> Audit:
    """Join the recorded calls and findings with the functions' shapes."""
    calls_in: dict[str, list[CallRecord]] = defaultdict(list)
    for record in outcome.recorder.calls:
        calls_in[record.function].append(record)
    found_at: dict[tuple[str, int, int], list[str]] = defaultdict(list)
    findings_in: dict[str, list[Finding]] = defaultdict(list)
    for finding in outcome.findings:
        found_at[(finding.path, finding.line, finding.column)].append(finding.code)
        findings_in[finding.function].append(finding)
    shapes = {shape.fullname: shape for shape in collector.shapes}
    weights = _infer(shapes, calls_in)
    skipped = _not_analysed(outcome.recorder.not_analysed)
    skipped_in: dict[str, list[NotAnalysed]] = defaultdict(list)
    for fact in skipped:
        skipped_in[fact.function].append(fact)

    functions: list[Function] = []
    audit_findings: list[Finding] = []
    chains: set[str] = set()
    for shape in collector.shapes:
        records = _dedupe(calls_in.get(shape.fullname, []))
        if shape.opens is not None and shape.marker != fullnames.OPENER:
            shown = _chain(shape.name, shape.opens)
            if shape.when is not None:
                shown += f" (only when {describe(shape.when)})"
            chains.add(shown)
        listed = (
            shape.params
            or shape.marker in _DECLARED_CLASS
            or shape.holds
            or shape.fullname in skipped_in  # session code in a function nested in it
            or any(r.held is not None or r.accepts_session or r.opens is not None for r in records)
        )
        if not listed:
            continue
        own = _audit_findings(shape, weights.get(shape.fullname, 0))
        audit_findings.extend(own)
        function = Function(
            module=shape.module,
            name=shape.name,
            fullname=shape.fullname,
            path=shape.path,
            line=shape.line,
            session_param=_param_kind(shape.params),
            param_names=[name for name, _, _ in shape.params],
            declared=_DECLARED.get(shape.marker) if shape.marker else None,
            inferred=_CLASS_OF[weights.get(shape.fullname, 0)],
            writes=shape.writes,
            holds=shape.holds or any(r.held is not None for r in records),
            findings=sorted(
                findings_in.get(shape.fullname, []) + own, key=lambda f: (f.line, f.column)
            ),
            not_analysed=skipped_in.get(shape.fullname, []),
        )
        for record in records:
            if not (record.accepts_session or record.opens is not None):
                if not found_at.get((record.path, record.line, record.column)):
                    continue  # the function's own scope opener: listed only when flagged
            chain = _chain(record.callee, record.opens) if record.opens is not None else None
            if chain is not None:
                function.chains.append(chain)
            function.calls.append(
                Call(
                    callee=record.callee,
                    line=record.line,
                    column=record.column,
                    session_passed=_passed(record),
                    status=sorted(set(found_at.get((record.path, record.line, record.column), []))),
                    chain=chain,
                )
            )
        functions.append(function)
    findings = sorted(
        [*outcome.findings, *audit_findings], key=lambda f: (f.path, f.line, f.column, f.code)
    )
    functions.sort(key=lambda f: (f.path, f.line))
    module_of = {shape.path: shape.module for shape in collector.shapes}
    boundary: dict[str, list[Finding]] = defaultdict(list)
    for finding in outcome.findings:
        if finding.code == SERVICE_BOUNDARY:
            boundary[module_of.get(finding.path, finding.path)].append(finding)
    return Audit(functions, findings, sorted(chains), outcome.sources, skipped, dict(sorted(boundary.items())))


def _not_analysed(facts: list[NotAnalysed]) -> list[NotAnalysed]:
    """One fact per function and wording (an untyped function and the untyped functions
    nested in it are one "untyped"), in file order."""
    seen: set[tuple[str, str, str]] = set()
    kept = []
    for fact in sorted(facts, key=lambda f: (f.path, f.context_line, f.context_column)):
        key = (fact.path, fact.function, fact.text)
        if key not in seen:
            seen.add(key)
            kept.append(fact)
    return kept


def _dedupe(records: list[CallRecord]) -> list[CallRecord]:
    """A deferred function is checked twice: keep one record per call."""
    seen: set[tuple[int, int, str]] = set()
    kept = []
    for record in records:
        key = (record.line, record.column, record.callee)
        if key not in seen:
            seen.add(key)
            kept.append(record)
    return sorted(kept, key=lambda r: (r.line, r.column))


def _infer(shapes: dict[str, _Shape], calls_in: dict[str, list[CallRecord]]) -> dict[str, int]:
    """READ / SINGLE / MULTI as 0 / 1 / 2: a function's own writes plus the writes of the
    services it calls (a declared marker counts as declared), to a fixed point."""
    weights = {name: shape.weight for name, shape in shapes.items()}
    for _ in range(len(shapes) + 1):
        changed = False
        for name, shape in shapes.items():
            total = shape.weight
            for record in calls_in.get(name, []):
                total += _callee_weight(record, weights)
            total = min(2, total)
            if total != weights[name]:
                weights[name], changed = total, True
        if not changed:
            break
    return weights


def _callee_weight(record: CallRecord, weights: dict[str, int]) -> int:
    if record.opener:
        return 0
    if record.marker in _DECLARED_CLASS:
        return _WEIGHT[_DECLARED_CLASS[record.marker]]
    if record.marker == fullnames.OWN:
        return 0  # its own transaction, on purpose
    return weights.get(record.callee_fullname, 0)


def _audit_findings(shape: _Shape, weight: int) -> list[Finding]:
    found = []
    if not shape.overrides:
        for name in shape.unused_optional:
            found.append(
                _finding(
                    shape,
                    PARAM_UNUSED,
                    f'"{shape.name}" takes an optional session "{name}" and never uses it: '
                    f"a caller that passes its session still gets a separate transaction; "
                    f"use {name} (pattern A or B) or remove the parameter",
                )
            )
    if shape.marker == fullnames.READ and shape.writes:
        found.append(
            _finding(
                shape,
                READ_ONLY_WRITES,
                f'"{shape.name}" is marked ReadOnly but writes ({shape.writes[0]}); '
                f"mark it SingleStep or MultiStep",
            )
        )
    return found


def _finding(shape: _Shape, code: str, message: str) -> Finding:
    path = baseline.relative_path(shape.path, os.getcwd())
    mark = baseline.fingerprint(code, path, shape.fullname, message)
    return Finding(code, shape.path, shape.line, 0, message, shape.fullname, mark)


def _param_kind(params: list[tuple[str, bool, int]]) -> str:
    if not params:
        return "none"
    return "optional" if all(has_default for _, has_default, _ in params) else "required"


def _passed(record: CallRecord) -> str:
    if not record.accepts_session:
        return "n/a"
    return {
        facts.PASSED: "yes",
        facts.NOTHING: "no",
        facts.LITERAL_NONE: "None",
        facts.FRESH: "fresh session",
    }.get(record.passed, f"other ({record.passed_text})")


def _chain(first: str, opens: tuple[str, ...]) -> str:
    return " -> ".join((first, *opens))
