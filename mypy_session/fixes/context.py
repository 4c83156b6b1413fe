"""What the fixes plan from: the recorded calls and findings of the build, indexed, and
per module the few facts that an added parameter needs (its function's path and
qualified name, whether it is async or annotated, which session class names the module
already binds)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from mypy.nodes import (
    AssignmentStmt,
    CallExpr,
    Decorator,
    Expression,
    ForStmt,
    FuncDef,
    ListExpr,
    MypyFile,
    NameExpr,
    TupleExpr,
    TypeInfo,
    WithStmt,
)
from mypy.types import Type

from mypy_session.knowledge import Knowledge
from mypy_session.recorder import CallRecord
from mypy_session.scopes import functions_in, walk_statements
from mypy_session.vocabulary import is_session_class

SYNC_SESSION = ("sqlalchemy.orm", "Session")
ASYNC_SESSION = ("sqlalchemy.ext.asyncio", "AsyncSession")
_ASYNC_BASE = "sqlalchemy.ext.asyncio.session.AsyncSession"


@dataclass(frozen=True, slots=True)
class FunctionFacts:
    path: str
    module: str
    qualname: str  # relative to the module: "f", "Class.method"
    is_async: bool
    annotated: bool  # any annotation: an added parameter is annotated too
    arg_names: tuple[str, ...]
    # (line, name) of each local name the body binds (`with ... as x`, `x = ...`, `for x`):
    # an added parameter of that name is shadowed from that line on.
    bindings: tuple[tuple[int, str], ...] = ()
    # the `with` statements at the top of the body, one per item with a call and a name:
    # (statement line, its last line, the call's line and column, the target's name)
    scopes: tuple[tuple[int, int, int, int, str], ...] = ()

    def rebinds_before(self, name: str, line: int) -> bool:
        return any(bound == name and at < line for at, bound in self.bindings)

    def closed_scope_before(self, name: str, line: int) -> tuple[int, int] | None:
        """(line, column) of the opener call of the one top-level `with ... as <name>:`
        that ended before `line`, where that is the only binding of `name` before it."""
        bound = [at for at, bound_name in self.bindings if bound_name == name and at < line]
        for stmt_line, end_line, call_line, call_column, target in self.scopes:
            if target == name and bound == [stmt_line] and end_line < line:
                return call_line, call_column
        return None


@dataclass
class ModuleFacts:
    module: str
    bound: set[str] = field(default_factory=set)  # module-level names
    sync_session: str | None = None  # a name the module binds to a session class
    async_session: str | None = None
    future_annotations: bool = False


class Collector:
    """The `visit` callback of the build: per checked module, its functions' facts."""

    def __init__(self) -> None:
        self.functions: dict[str, FunctionFacts] = {}
        self.modules: dict[str, ModuleFacts] = {}  # by path
        self.param_names: frozenset[str] = frozenset(("session",))

    def __call__(self, tree: MypyFile, types: dict[Expression, Type], knowledge: Knowledge) -> None:
        self.param_names = knowledge.config.session_param_names
        facts = ModuleFacts(tree.fullname, set(tree.names))
        facts.future_annotations = "annotations" in getattr(tree, "future_import_flags", set())
        for name, sym in tree.names.items():
            info = sym.node
            if isinstance(info, TypeInfo) and is_session_class(info, knowledge.config):
                is_async = any(base.fullname == _ASYNC_BASE for base in info.mro)
                attr = "async_session" if is_async else "sync_session"
                current = getattr(facts, attr)
                if current is None or name in ("Session", "AsyncSession"):
                    setattr(facts, attr, name)
        self.modules[tree.path] = facts
        for prefix, node in functions_in(tree.defs):
            func = node.func if isinstance(node, Decorator) else node
            self.functions[f"{tree.fullname}.{prefix}{func.name}"] = FunctionFacts(
                path=tree.path,
                module=tree.fullname,
                qualname=f"{prefix}{func.name}",
                is_async=func.is_coroutine,
                annotated=func.unanalyzed_type is not None,
                arg_names=tuple(func.arg_names[i] or "" for i in range(len(func.arg_names))),
                bindings=_bindings(func),
                scopes=_scopes(func),
            )


def _scopes(func: FuncDef) -> tuple[tuple[int, int, int, int, str], ...]:
    found: list[tuple[int, int, int, int, str]] = []
    for stmt in func.body.body:
        if isinstance(stmt, WithStmt):
            for expr, target in zip(stmt.expr, stmt.target):
                if isinstance(expr, CallExpr) and isinstance(target, NameExpr):
                    end = stmt.end_line if stmt.end_line is not None else stmt.line
                    found.append((stmt.line, end, expr.line, expr.column, target.name))
    return tuple(found)


def _bindings(func: FuncDef) -> tuple[tuple[int, str], ...]:
    found: list[tuple[int, str]] = []
    for stmt, _ in walk_statements(func.body.body):
        targets: list[Expression] = []
        if isinstance(stmt, WithStmt):
            targets = [t for t in stmt.target if t is not None]
        elif isinstance(stmt, AssignmentStmt):
            targets = list(stmt.lvalues)
        elif isinstance(stmt, ForStmt):
            targets = [stmt.index]
        for target in targets:
            for item in (target.items if isinstance(target, (TupleExpr, ListExpr)) else [target]):
                if isinstance(item, NameExpr):
                    found.append((stmt.line, item.name))
    return tuple(found)


class Context:
    def __init__(
        self, calls: list[CallRecord], collector: Collector, modern_unions: bool
    ) -> None:
        self.at: dict[tuple[str, int, int], list[CallRecord]] = defaultdict(list)
        self.calls_in: dict[str, list[CallRecord]] = defaultdict(list)
        seen: set[tuple[str, int, int, str]] = set()
        for record in calls:
            key = (record.path, record.line, record.column, record.callee_fullname)
            if key in seen:
                continue  # a deferred function is checked twice
            seen.add(key)
            self.at[(record.path, record.line, record.column)].append(record)
            self.calls_in[record.function].append(record)
        self.functions = collector.functions
        self.modules = collector.modules
        names = collector.param_names
        self.param_name = "session" if "session" in names else sorted(names)[0]
        self.modern_unions = modern_unions  # the target Python has `X | None`

    def annotation(self, function: FunctionFacts) -> tuple[str | None, list[tuple[str, str]]] | None:
        """(the added parameter's annotation, the imports it needs); None where the module
        binds the name it would use to something else."""
        if not function.annotated:
            return None, []
        module = self.modules.get(function.path)
        if module is None:
            return None
        imports: list[tuple[str, str]] = []
        bound = module.async_session if function.is_async else module.sync_session
        if bound is None:
            source, name = ASYNC_SESSION if function.is_async else SYNC_SESSION
            if name in module.bound:
                return None
            imports.append((source, name))
            bound = name
        if self.modern_unions or module.future_annotations:
            return f"{bound} | None", imports
        if "Optional" in module.bound and ("typing", "Optional") not in imports:
            return f"Optional[{bound}]", imports  # assumed typing's
        imports.append(("typing", "Optional"))
        return f"Optional[{bound}]", imports

    def record(self, path: str, line: int, column: int, *, opener: bool = False) -> CallRecord | None:
        """The recorded call at the finding's position (the scope opener if `opener`)."""
        for record in self.at.get((path, line, column), []):
            if record.opener == opener:
                return record
        return None
