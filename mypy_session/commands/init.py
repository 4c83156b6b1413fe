"""`mypy-session init`: read a project and propose its `[tool.mypy_session]` section.

What it looks for, statically (Python's `ast`, no mypy build: fast, and it works on code
mypy cannot check yet; a file that does not parse is skipped and named):

- scope factories (`scope_factories`): `@contextmanager` / `@asynccontextmanager`
  functions and methods that yield a session, and functions that return one, typed or
  not: by their annotation (`-> Iterator[Session]`, `-> Session`, `-> scoped_session`) or
  by their body (`yield SessionLocal()`, `session = Session(engine); return session`,
  `with maker() as s: yield s`), where the session comes from SQLAlchemy's classes, from a
  `sessionmaker(...)` the project binds to a name, or from another factory found here.
  A `sessionmaker(...)` bound at module level is typed by mypy and needs no entry: it is
  named in a comment. One assigned inside a function (`global _MAKER`) is listed.
- session parameter names (`session_param_names`): names of unannotated parameters used
  as a session (a session method called on it, passed on as `session=`, or bound by
  `with <factory>() as <name>`). Parameters annotated with a session type need no entry.
- providers and owners (`session_providers`, `session_owners`): decorators whose wrapper
  passes a session to the function it decorates (`kwargs["session"] = ...`,
  `kwargs.setdefault("session", ...)`, `func(*args, session=s, **kwargs)`): a provider
  when the wrapper passes the caller's session on if there is one, an owner when it
  always opens its own.

Each entry gets a comment saying where it was found (file:line). The proposal is shown as
a unified diff of the config file mypy would use (`pyproject.toml`, `setup.cfg`,
`mypy.ini`...; a new `pyproject.toml` where there is none); `--write` writes it
(atomically; TOML through tomlkit, so the rest of the file keeps its formatting); a key
that is already set is kept unless `--force`; `--baseline` also sets `baseline` and, with
`--write`, records it (the `baseline` command).
"""

from __future__ import annotations

import argparse
import ast
import configparser
import difflib
import os
import re
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from mypy_session import atomic_write

SECTION_KEYS: Final = ("session_param_names", "scope_factories", "session_providers", "session_owners", "baseline")
PLUGIN: Final = "mypy_session.plugin"
DEFAULT_BASELINE: Final = "mypy-session-baseline.json"

# Classes and calls that make a session, and those that make a session factory.
_SESSION_CLASSES: Final = frozenset(("Session", "AsyncSession", "scoped_session", "async_scoped_session"))
_MAKER_CLASSES: Final = frozenset(("sessionmaker", "async_sessionmaker"))
_REGISTRY_CLASSES: Final = frozenset(("scoped_session", "async_scoped_session"))
_CONTEXT_MANAGERS: Final = frozenset(("contextmanager", "asynccontextmanager"))
# Session methods that other objects rarely have; `commit` / `execute` count only on a
# name that reads as a session (a DB-API connection has them too).
_SESSION_METHODS: Final = frozenset(
    ("query", "scalars", "add_all", "expunge", "expunge_all", "begin_nested", "bulk_save_objects",
     "bulk_insert_mappings", "bulk_update_mappings", "get_bind", "no_autoflush")
)
_SHARED_METHODS: Final = frozenset(
    ("commit", "rollback", "execute", "delete", "get", "close", "begin", "add", "flush", "merge", "refresh", "scalar")
)
_SESSION_NAME: Final = re.compile(r"(^|_)(session|sess|db)($|_)", re.IGNORECASE)
_SKIPPED_DIRS: Final = frozenset(
    (".git", ".hg", ".tox", ".nox", ".venv", "venv", "env", "node_modules", "build", "dist",
     "site-packages", "__pycache__", ".mypy_cache", "tests", "test", "testing")
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One proposed value of a setting, and where it was found."""

    value: str
    where: str  # "pkg/db.py:12"
    why: str


@dataclass
class Proposal:
    settings: dict[str, list[Entry]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # comments: found, but needs no entry
    untyped_session_functions: int = 0  # unannotated functions with a session parameter
    skipped: list[str] = field(default_factory=list)  # files that do not parse


# -- reading the project -----------------------------------------------------------------


@dataclass
class _Module:
    name: str
    path: str  # as shown
    tree: ast.Module
    library: _Library


def _python_files(paths: Sequence[str]) -> Iterator[str]:
    for top in paths:
        if os.path.isfile(top):
            if top.endswith(".py"):
                yield top
            continue
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if d not in _SKIPPED_DIRS and not d.startswith("."))
            for name in sorted(files):
                if name.endswith(".py") and not _is_test_file(name):
                    yield os.path.join(directory, name)


def _is_test_file(name: str) -> bool:
    return name == "conftest.py" or name.startswith("test_") or name.endswith("_test.py")


def module_name(path: str) -> str:
    """The dotted module name of a file: its directory's packages (an `__init__.py` in
    each), from the outermost one."""
    path = os.path.abspath(path)
    directory, file = os.path.split(path)
    parts = [] if file == "__init__.py" else [file[:-3]]
    while os.path.isfile(os.path.join(directory, "__init__.py")):
        directory, package = os.path.split(directory)
        parts.insert(0, package)
    return ".".join(parts)


def _load(paths: Sequence[str], proposal: Proposal) -> list[_Module]:
    modules = []
    for path in _python_files(paths):
        shown = _shown(path)
        try:
            with open(path, "rb") as stream:
                tree = ast.parse(stream.read(), filename=path)
        except (SyntaxError, ValueError, UnicodeDecodeError, OSError) as exc:
            line = getattr(exc, "lineno", None)
            proposal.skipped.append(f"{shown}" + (f" (line {line})" if line else f" ({type(exc).__name__})"))
            continue
        modules.append(_Module(module_name(path), shown, tree, _Library.of(tree)))
    return modules


def _shown(path: str) -> str:
    try:
        return os.path.relpath(path).replace(os.sep, "/")
    except ValueError:
        return path


# -- what makes a session ------------------------------------------------------------------


_LIBRARIES: Final = ("sqlalchemy", "sqlmodel", "flask_sqlalchemy", "mypy_session")
_LIBRARY_CLASSES: Final = _SESSION_CLASSES | _MAKER_CLASSES | {"SessionLike", "AsyncSessionLike"}


@dataclass
class _Library:
    """How one module refers to SQLAlchemy's session classes: `Session` imported from
    `sqlalchemy.orm` (by any alias), or `orm.Session` / `sa.orm.Session` through an
    imported SQLAlchemy module. `requests.Session` is not one."""

    names: dict[str, str] = field(default_factory=dict)  # local name -> class name
    modules: set[str] = field(default_factory=set)  # local names of imported library modules

    @classmethod
    def of(cls, tree: ast.Module) -> _Library:
        library = cls()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in _LIBRARIES:
                for alias in node.names:
                    if alias.name in _LIBRARY_CLASSES:
                        library.names[alias.asname or alias.name] = alias.name
                    else:
                        library.modules.add(alias.asname or alias.name)  # from sqlalchemy import orm
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] in _LIBRARIES:
                        library.modules.add(alias.asname or alias.name.split(".")[0])
        return library

    def class_of(self, node: ast.expr) -> str | None:
        """The library class `node` names (`Session`, `sessionmaker`...), or None."""
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute) and node.attr in _LIBRARY_CLASSES:
            root: ast.expr = node.value
            while isinstance(root, ast.Attribute):
                root = root.value
            if isinstance(root, ast.Name) and root.id in self.modules:
                return node.attr
        return None


@dataclass
class _Vocabulary:
    """Project names that, called, give a session (`makers`), a session factory
    (`factories`) or a scoped registry that gives one when called (`registries`); and the
    library view of the module being read."""

    makers: set[str] = field(default_factory=set)  # functions returning a session
    registry_functions: set[str] = field(default_factory=set)  # ... a scoped registry
    factory_functions: set[str] = field(default_factory=set)  # ... a sessionmaker
    factories: set[str] = field(default_factory=set)  # names bound to a sessionmaker
    registries: set[str] = field(default_factory=set)  # names bound to a scoped registry
    library: _Library = field(default_factory=_Library)


def _callee_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


_CONTAINERS: Final = frozenset(
    ("Iterator", "Generator", "AsyncIterator", "AsyncGenerator", "ContextManager",
     "AbstractContextManager", "AsyncContextManager", "AbstractAsyncContextManager")
)


def _session_annotation(node: ast.expr | None, library: _Library, *, yielded: bool = False) -> bool:
    """Is `node` a session type (or an optional one)? With `yielded`, an iterator or
    context manager of one."""
    if node is None:
        return False
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            parsed = ast.parse(node.value, mode="eval").body
        except SyntaxError:
            return False
        return _session_annotation(parsed, library, yielded=yielded)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _session_annotation(node.left, library, yielded=yielded) or _session_annotation(
            node.right, library, yielded=yielded
        )
    if isinstance(node, ast.Subscript):
        outer = _callee_name(node.value)
        args = list(node.slice.elts) if isinstance(node.slice, ast.Tuple) else [node.slice]
        if outer in ("Optional", "Union", "Annotated"):
            return any(_session_annotation(arg, library, yielded=yielded) for arg in args[:1 if outer == "Annotated" else None])
        if yielded and outer in _CONTAINERS:
            return _session_annotation(args[0], library)
        return False
    if yielded:
        return False
    return library.class_of(node) in _SESSION_CLASSES | {"SessionLike", "AsyncSessionLike"}


def _makes(node: ast.expr | None, words: _Vocabulary, sessions: set[str], registries: set[str], factories: set[str]) -> str | None:
    """What `node` evaluates to: "session", "factory" (called, gives a session),
    "registry" (a scoped session registry: called, gives a session) or None. `sessions`,
    `registries` and `factories` are the function's own local names of each kind."""
    if node is None:
        return None
    if isinstance(node, ast.Name):
        if node.id in sessions:
            return "session"
        if node.id in registries or node.id in words.registries:
            return "registry"
        if node.id in factories or node.id in words.factories:
            return "factory"
        return None
    if isinstance(node, ast.Await):
        return _makes(node.value, words, sessions, registries, factories)
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "begin":
        # SessionLocal.begin(): a session in a transaction
        inner = _makes(func.value, words, sessions, registries, factories)
        return "session" if inner == "factory" else None
    library_class = words.library.class_of(func)
    if library_class is not None:
        if library_class in _REGISTRY_CLASSES:
            return "registry"
        if library_class in _SESSION_CLASSES:
            return "session"
        return "factory" if library_class in _MAKER_CLASSES else None
    if isinstance(func, (ast.Call, ast.Name)):
        inner = _makes(func, words, sessions, registries, factories)
        if inner in ("factory", "registry"):
            return "session"  # SessionLocal(), sessionmaker(...)(), get_maker()(), session_scoped()
    name = _callee_name(func)
    if name is None:
        return None
    if name in words.registry_functions:
        return "registry"
    if name in words.makers:
        return "session"
    if name in words.factory_functions:
        return "factory"
    return None


def _bindings(body: Sequence[ast.stmt], words: _Vocabulary) -> tuple[set[str], set[str], set[str]]:
    """Local names bound to a session, a scoped registry or a factory in a function body."""
    sessions: set[str] = set()
    registries: set[str] = set()
    factories: set[str] = set()
    for _ in range(2):  # a name bound from another bound name
        for node in _walk_body(body):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                kind = _makes(node.value, words, sessions, registries, factories)
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and kind is not None:
                        {"session": sessions, "registry": registries, "factory": factories}[kind].add(target.id)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if isinstance(item.optional_vars, ast.Name):
                        if _makes(item.context_expr, words, sessions, registries, factories) == "session":
                            sessions.add(item.optional_vars.id)
    return sessions, registries, factories


_BODIES: dict[int, tuple[Sequence[ast.stmt], list[ast.AST]]] = {}


def _walk_body(body: Sequence[ast.stmt]) -> list[ast.AST]:
    """The nodes of a function body, not those of functions or classes nested in it
    (computed once per body: the passes below read each body several times)."""
    known = _BODIES.get(id(body))
    if known is not None and known[0] is body:
        return known[1]
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = list(reversed(body))
    while stack:
        node = stack.pop()
        nodes.append(node)
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                stack.append(child)
    _BODIES[id(body)] = (body, nodes)
    return nodes


Function = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(tree: ast.Module) -> Iterator[tuple[str, Function]]:
    """(qualified name in the module, def): module-level functions and methods."""
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    yield f"{node.name}.{item.name}", item


def _decorator_names(function: Function) -> set[str]:
    names = set()
    for decorator in function.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = _callee_name(target)
        if name is not None:
            names.add(name)
    return names


def _annotation(node: ast.expr | None) -> str:
    return ast.unparse(node) if node is not None else ""


def _is_generator(function: Function) -> bool:
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in _walk_body(function.body))


# -- the findings --------------------------------------------------------------------------


def propose(paths: Sequence[str]) -> Proposal:
    """Read the Python files under `paths` (tests skipped) and propose the settings."""
    proposal = Proposal()
    modules = _load(paths, proposal)
    words = _Vocabulary()
    try:
        _module_factories(modules, words, proposal)
        factories = _registries_as_notes(_scope_factories(modules, words), proposal)
        params, untyped = _param_names(modules, words)
        providers, owners = _decorators(modules)
    finally:
        _BODIES.clear()  # the trees are not needed after this
    proposal.untyped_session_functions = untyped
    proposal.settings = {
        "session_param_names": params,
        "scope_factories": factories,
        "session_providers": providers,
        "session_owners": owners,
    }
    return proposal


def _module_factories(modules: list[_Module], words: _Vocabulary, proposal: Proposal) -> None:
    """`SessionLocal = sessionmaker(...)` at module level: mypy types it (a note, no
    entry); a name bound to one only inside a function is a factory to list later."""
    for module in modules:
        words.library = module.library
        for node in module.tree.body:
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                kind = _makes(node.value, words, set(), set(), set())
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name) and kind in ("factory", "registry"):
                        (words.factories if kind == "factory" else words.registries).add(target.id)
                        proposal.notes.append(
                            f"{module.name}.{target.id} = {_callee_name(node.value.func) if isinstance(node.value, ast.Call) else '...'}(...) "
                            f"({module.path}:{node.lineno}): typed by mypy, needs no entry"
                        )
        for qualname, function in _functions(module.tree):
            if words.library.class_of(function.returns) in _MAKER_CLASSES if function.returns else False:
                words.factory_functions.add(qualname.rsplit(".", 1)[-1])
            globals_ = {name for g in _walk_body(function.body) if isinstance(g, ast.Global) for name in g.names}
            for inner in _walk_body(function.body):
                if isinstance(inner, ast.Assign):
                    made = _makes(inner.value, words, set(), set(), set())
                    for bound in inner.targets:
                        if isinstance(bound, ast.Name) and bound.id in globals_ and made in ("factory", "registry"):
                            (words.factories if made == "factory" else words.registries).add(bound.id)


def _scope_factories(modules: list[_Module], words: _Vocabulary) -> list[Entry]:
    found: dict[str, Entry] = {}
    for _ in range(3):  # a factory built on another factory found in the same pass
        before = len(found)
        for module in modules:
            words.library = module.library
            for qualname, function in _functions(module.tree):
                why = _opens(function, words)
                if why is None:
                    continue
                fullname = f"{module.name}.{qualname}"
                found.setdefault(fullname, Entry(fullname, f"{module.path}:{function.lineno}", why))
                short = qualname.rsplit(".", 1)[-1]
                if why.startswith("returns a scoped"):  # called, gives a session
                    words.registry_functions.add(short)
                else:
                    words.makers.add(short)
        if len(found) == before:
            break
    return sorted(found.values(), key=lambda e: e.value)


def _registries_as_notes(factories: list[Entry], proposal: Proposal) -> list[Entry]:
    """A function returning a `scoped_session` registry is not listed: called again in
    the same thread, the registry gives the same session, so a second call while a session
    is held opens no second transaction (on Rucio, listing `get_session` turned seven
    re-acquisitions after a rollback into `session-nested-scope`). It becomes a comment;
    the factories built on it (`registry()` in a `@contextmanager`) are listed."""
    kept = []
    for entry in factories:
        if entry.why.startswith("returns a scoped"):
            proposal.notes.append(
                f"{entry.value} ({entry.where}): {entry.why}; not listed, since the registry "
                "gives the same session again within a thread"
            )
        else:
            kept.append(entry)
    return kept


def _opens(function: Function, words: _Vocabulary) -> str | None:
    """Why `function` is a scope factory, or None."""
    decorators = _decorator_names(function)
    returns = _annotation(function.returns)
    context_manager = bool(decorators & _CONTEXT_MANAGERS)
    if function.name.startswith("__"):
        return None
    typed = _session_annotation(function.returns, words.library, yielded=context_manager)
    if not context_manager and not typed:
        returned = [n.value for n in _walk_body(function.body) if isinstance(n, ast.Return) and n.value is not None]
        if not any(isinstance(value, (ast.Name, ast.Call, ast.Await)) for value in returned):
            return None  # returns nothing that could be a session
    sessions, registries, _ = _bindings(function.body, words)
    if context_manager:
        kind = "@asynccontextmanager" if "asynccontextmanager" in decorators else "@contextmanager"
        if typed:
            return f"{kind} yielding a session ({returns})"
        for node in _walk_body(function.body):
            if isinstance(node, ast.Yield) and _makes(node.value, words, sessions, registries, set()) == "session":
                return f"{kind} yielding a session (untyped)"
        return None
    if _is_generator(function):
        return None  # a dependency generator (FastAPI's `Depends(get_db)`): owned, not opened
    if typed:
        if any(isinstance(n, ast.Return) and n.value is not None for n in _walk_body(function.body)):
            registry = words.library.class_of(function.returns) in _REGISTRY_CLASSES if function.returns else False
            return f"returns a {'scoped session registry' if registry else 'session'} (-> {returns})"
        return None
    for node in _walk_body(function.body):
        if isinstance(node, ast.Return):
            made = _makes(node.value, words, sessions, registries, set())
            if made == "session":
                return "returns a session (untyped)"
            if made == "registry":
                return "returns a scoped session registry (untyped)"
    return None


def _param_names(modules: list[_Module], words: _Vocabulary) -> tuple[list[Entry], int]:
    """Unannotated parameters used as a session, by name; and how many functions have one."""
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    untyped_functions = 0
    for module in modules:
        words.library = module.library
        for node in ast.walk(module.tree):
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
            untyped = [
                a.arg for a in arguments
                if (a.annotation is None or _annotation(a.annotation) == "Any") and a.arg not in ("self", "cls")
            ]
            used = _used_as_session(node, set(untyped), words)
            if used:
                untyped_functions += 1
            for name in sorted(used):
                counts[name] += 1
                first.setdefault(name, f"{module.path}:{node.lineno}")
    names = [name for name, _ in counts.most_common()]
    if not names or names == ["session"]:
        return [], untyped_functions  # the default
    if "session" in names:
        names.remove("session")
    names.insert(0, "session")  # the default, replaced by the setting: kept, first
    entries = []
    for name in names:
        where = first.get(name, "")
        why = f"{counts[name]} unannotated parameters used as a session" if counts[name] else "the default, kept"
        entries.append(Entry(name, where, why))
    return entries, untyped_functions


def _used_as_session(function: Function, names: set[str], words: _Vocabulary) -> set[str]:
    if not names:
        return set()
    used = set()
    for node in _walk_body(function.body):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in names:
            if node.attr in _SESSION_METHODS or (node.attr in _SHARED_METHODS and _SESSION_NAME.search(node.value.id)):
                used.add(node.value.id)
        elif isinstance(node, ast.keyword) and node.arg == "session" and isinstance(node.value, ast.Name):
            if node.value.id in names:
                used.add(node.value.id)
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                var = item.optional_vars
                if isinstance(var, ast.Name) and var.id in names:
                    if _makes(item.context_expr, words, set(), set(), set()) == "session":
                        used.add(var.id)
    return used


def _decorators(modules: list[_Module]) -> tuple[list[Entry], list[Entry]]:
    providers: list[Entry] = []
    owners: list[Entry] = []
    for module in modules:
        for qualname, function in _functions(module.tree):
            kind = _decorator_kind(function)
            if kind is None:
                continue
            entry = Entry(f"{module.name}.{qualname}", f"{module.path}:{function.lineno}", kind[1])
            (providers if kind[0] == "provider" else owners).append(entry)
    return sorted(providers, key=lambda e: e.value), sorted(owners, key=lambda e: e.value)


def _decorator_kind(function: Function) -> tuple[str, str] | None:
    """("provider" | "owner", why) for a decorator whose wrapper passes a session to the
    function it decorates, else None."""
    params = [a.arg for a in [*function.args.posonlyargs, *function.args.args]]
    if len(params) != 1 or function.name.startswith("_"):
        return None  # a decorator takes the function; a decorator factory is not read yet
    wrapped = params[0]
    for wrapper in function.body:
        if not isinstance(wrapper, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        injects = _injects_session(wrapper, wrapped)
        if injects is None:
            continue
        wrapper_params = {a.arg for a in [*wrapper.args.args, *wrapper.args.kwonlyargs]}
        reads_caller = "session" in wrapper_params or _reads_caller_session(wrapper)
        if reads_caller:
            return "provider", f"decorator passing a session ({injects}) when the caller gives none"
        return "owner", f"decorator always opening the session it passes ({injects})"
    return None


def _injects_session(wrapper: Function, wrapped: str) -> str | None:
    for node in _walk_body(wrapper.body):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value == "session"
                ):
                    return 'kwargs["session"] = ...'
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Attribute) and node.func.attr == "setdefault":
                if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "session":
                    return 'kwargs.setdefault("session", ...)'
            if isinstance(node.func, ast.Name) and node.func.id == wrapped:
                if any(k.arg == "session" for k in node.keywords):
                    return f"{wrapped}(..., session=...)"
    return None


def _reads_caller_session(wrapper: Function) -> bool:
    """Does the wrapper look at a session its caller passed (`kwargs.get("session")`,
    `"session" in kwargs`)?"""
    for node in _walk_body(wrapper.body):
        if isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and node.left.value == "session":
            return True
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "pop"):
            if node.args and isinstance(node.args[0], ast.Constant) and node.args[0].value == "session":
                return True
    return False


# -- the config file -----------------------------------------------------------------------


def _comment(entry: Entry) -> str:
    return f"{entry.where}: {entry.why}" if entry.where else entry.why


def updated_toml(text: str, proposal: Proposal, *, force: bool, kept: list[str]) -> str:
    import tomlkit
    from tomlkit.items import Table

    document = tomlkit.parse(text)
    tool = document.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        document["tool"] = tool
    mypy = tool.get("mypy")
    if mypy is None:
        mypy = tomlkit.table()
        tool["mypy"] = mypy
    plugins = mypy.get("plugins", [])
    if isinstance(plugins, str):
        plugins = [p.strip() for p in plugins.split(",") if p.strip()]
    if PLUGIN not in [str(p) for p in plugins]:
        if "plugins" in mypy and not force:
            kept.append("plugins")  # another plugin's list: changed only when asked
        else:
            mypy["plugins"] = [*[str(p) for p in plugins], PLUGIN]
    if proposal.untyped_session_functions and "check_untyped_defs" not in mypy:
        flag = tomlkit.item(True)
        flag.comment(f"mypy-session init: {proposal.untyped_session_functions} unannotated functions use a session")
        mypy["check_untyped_defs"] = flag
    section = tool.get("mypy_session")
    if section is None:
        if not any(proposal.settings.values()):
            return tomlkit.dumps(document)  # no empty section
        section = tomlkit.table()
        tool["mypy_session"] = section
    assert isinstance(section, Table)
    for key, entries in proposal.settings.items():
        if not entries:
            continue
        if key in section and not force:
            if _differs(section[key], entries):
                kept.append(key)
            continue
        if key == "baseline":
            section[key] = entries[0].value
            continue
        array = tomlkit.array()
        for entry in entries:
            array.add_line(entry.value, comment=_comment(entry))
        if key == "scope_factories":
            for note in proposal.notes:  # found, but needs no entry
                array.add_line(comment=note)
        array.add_line(indent="")
        section[key] = array
    return tomlkit.dumps(document)


def _differs(existing: object, entries: list[Entry]) -> bool:
    """Does a key already set say something else than the proposal?"""
    if isinstance(existing, str):
        values = {v.strip() for v in re.split(r"[,\n]", existing) if v.strip()}
    elif isinstance(existing, list):
        values = {str(v) for v in existing}
    else:
        values = {str(existing)}
    return values != {entry.value for entry in entries}


def updated_ini(text: str, proposal: Proposal, *, force: bool, kept: list[str]) -> str:
    """The INI file with `[mypy_session]` added or completed, by lines, so that the rest
    of the file stays as it is."""
    parser = configparser.RawConfigParser()
    parser.read_string(text)
    lines = text.splitlines()
    if lines and lines[-1].strip():
        lines.append("")
    if not parser.has_section("mypy"):
        lines += ["[mypy]", f"plugins = {PLUGIN}", ""]
    else:
        plugins = [p.strip() for p in parser.get("mypy", "plugins", fallback="").split(",") if p.strip()]
        additions = []
        if PLUGIN not in plugins:
            if parser.has_option("mypy", "plugins") and not force:
                kept.append("plugins")  # another plugin's list: changed only when asked
            elif parser.has_option("mypy", "plugins"):
                index = _ini_line(lines, "mypy", "plugins")
                lines[index] = lines[index].rstrip() + f", {PLUGIN}"
            else:
                additions.append(f"plugins = {PLUGIN}")
        if proposal.untyped_session_functions and not parser.has_option("mypy", "check_untyped_defs"):
            additions.append(
                f"# mypy-session init: {proposal.untyped_session_functions} unannotated functions use a session"
            )
            additions.append("check_untyped_defs = True")
        if additions:
            end = _ini_section_end(lines, "mypy")
            lines[end:end] = additions
    body: list[str] = []
    for key, entries in proposal.settings.items():
        if not entries:
            continue
        if parser.has_option("mypy_session", key) and not force:
            if _differs(parser.get("mypy_session", key), entries):
                kept.append(key)
            continue
        if parser.has_option("mypy_session", key):
            _drop_ini_option(lines, "mypy_session", key)
        if key == "baseline":
            body.append(f"baseline = {entries[0].value}")
            continue
        body.append(f"{key} =")
        for entry in entries:
            body.append(f"    # {_comment(entry)}")
            body.append(f"    {entry.value}")
        if key == "scope_factories":
            body += [f"    # {note}" for note in proposal.notes]
    if parser.has_section("mypy_session"):
        end = _ini_section_end(lines, "mypy_session")
        lines[end:end] = body
    elif body:
        lines += ["[mypy_session]", *body]
    return "\n".join(lines).rstrip("\n") + "\n"


def _ini_section_bounds(lines: list[str], section: str) -> tuple[int, int]:
    start = next(i for i, line in enumerate(lines) if line.strip() == f"[{section}]")
    end = start + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    while end - 1 > start and not lines[end - 1].strip():
        end -= 1
    return start, end


def _ini_section_end(lines: list[str], section: str) -> int:
    return _ini_section_bounds(lines, section)[1]


def _ini_line(lines: list[str], section: str, key: str) -> int:
    start, end = _ini_section_bounds(lines, section)
    pattern = re.compile(rf"^{re.escape(key)}\s*[=:]")
    return next(i for i in range(start + 1, end) if pattern.match(lines[i]))


def _drop_ini_option(lines: list[str], section: str, key: str) -> None:
    index = _ini_line(lines, section, key)
    end = index + 1
    _, section_end = _ini_section_bounds(lines, section)
    while end < section_end and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    del lines[index:end]


def config_file(mypy_args: list[str]) -> str:
    """The config file mypy would use for these arguments; `pyproject.toml` in the
    current directory where it would use none."""
    from mypy_session.cli import _mypy_config

    path, _ = _mypy_config(mypy_args)
    return os.path.relpath(path) if path is not None else "pyproject.toml"


# -- the command ---------------------------------------------------------------------------


def main(args: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="mypy-session init",
        allow_abbrev=False,
        description="Propose the [tool.mypy_session] section for a project, as a diff of "
        "the config file mypy uses; --write writes it.",
    )
    parser.add_argument("paths", nargs="*", metavar="PATH", help="what to read (default: .)")
    parser.add_argument("--config-file", help="the config file to propose for (default: the one mypy uses)")
    parser.add_argument("--write", action="store_true", help="write the proposal into the config file")
    parser.add_argument("--force", action="store_true", help="replace keys that are already set")
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also set `baseline` and, with --write, record today's findings in it",
    )
    parser.add_argument(
        "--baseline-file",
        default=DEFAULT_BASELINE,
        metavar="FILE",
        help=f"the baseline file for --baseline (default {DEFAULT_BASELINE})",
    )
    known = parser.parse_args(args)
    paths = known.paths or ["."]
    for path in paths:
        if not os.path.exists(path):
            return _fail(f"{path}: no such file or directory")
    mypy_args = ["--config-file", known.config_file] if known.config_file else []
    from mypy_session.cli import unreadable_config

    if known.config_file and not os.path.isfile(known.config_file):
        return _fail(f"{known.config_file}: cannot read the config file: no such file")
    problem = unreadable_config(mypy_args)
    if problem is not None:
        return _fail(problem)
    target = known.config_file or config_file(mypy_args)
    proposal = propose(paths)
    if known.baseline:
        proposal.settings["baseline"] = [Entry(known.baseline_file, "", "the findings accepted today")]
    for skipped in proposal.skipped:
        print(f"mypy-session: skipped {skipped}: it does not parse", file=sys.stderr)
    before = Path(target).read_text(encoding="utf-8") if os.path.exists(target) else ""
    kept: list[str] = []
    try:
        if target.endswith(".toml"):
            after = updated_toml(before, proposal, force=known.force, kept=kept)
        else:
            after = updated_ini(before, proposal, force=known.force, kept=kept)
    except Exception as exc:  # a config tomlkit or configparser cannot read
        return _fail(f"{target}: cannot read the config file: {' '.join(str(exc).split())}")
    for key in kept:
        if key == "plugins":
            print(
                f"mypy-session: kept plugins as it is in {target}; --force adds {PLUGIN} to it "
                "(`mypy-session check` adds it for its own runs either way)",
                file=sys.stderr,
            )
        else:
            print(f"mypy-session: kept {key} as it is in {target}; --force replaces it", file=sys.stderr)
    if not any(proposal.settings.values()):
        print("mypy-session: found no session factories, parameter names or decorators to list; "
              "the defaults apply", file=sys.stderr)
    if not known.write:
        sys.stdout.writelines(
            difflib.unified_diff(
                before.splitlines(keepends=True), after.splitlines(keepends=True), f"a/{target}", f"b/{target}"
            )
        )
        if before != after:
            print(f"mypy-session: run again with --write to apply this to {target}", file=sys.stderr)
        return 0
    if before != after:
        try:
            atomic_write.write_text(target, after)
        except OSError as exc:
            return _fail(f"{target}: cannot write the config file: {exc.strerror or exc}")
        print(f"mypy-session: wrote the proposal to {target}")
    else:
        print(f"mypy-session: {target} already has the proposal")
    if known.baseline:
        from mypy_session.commands.entry import baseline

        return baseline(["--config-file", target, *paths])
    return 0


def _fail(message: str) -> int:
    print(f"mypy-session: error: {message}", file=sys.stderr)
    return 2
