"""Calls on a receiver mypy types as `Any`: the callee found by its name (issue 11).

`ti.set_state(state)` where `ti` is an unannotated parameter, `dag_run.verify_integrity()`
where `dag_run` came from a query mypy types `Any`: mypy runs no hook for a call on `Any`
(`checkexpr.check_any_type_call`), so the callee, and the session it drops, are not known
to any check. The end-of-module walk (`untyped_sessions`) hands such calls here, from the
functions that hold a session, and the callee is looked up by the method's name among the
classes the module can reach:

- *the classes the module can reach*: those defined in the module and in every module its
  symbol table refers to, transitively (its imports, `if TYPE_CHECKING:` ones included),
  library and standard-library modules included, `builtins` always. mypy loads exactly
  these modules before it checks the module, in every mode (cold, warm, `-n`, dmypy), so
  the answer does not depend on the mode; and a class the module cannot reach is not one
  its objects can be, short of a plugin or a dynamic import;
- a *candidate* is a method of one of them with that name whose parameters admit the
  call's arguments (not too many positional ones, every keyword known, every required
  parameter given), so `log.error("...")` is no call of `TaskInstance.error(session=...)`;
- every candidate takes a session: the call is checked as a call of the first of them (by
  fullname), matched by keyword and position as a call through a signature-hiding
  decorator is (`Callee.behind`): every check on calls runs, the same decision as for a
  typed receiver (`session-not-forwarded` when a session is held and none is passed...);
- some candidates take a session and some do not: which one runs is not known. Where the
  call passes no session while one is held, the function gets a `not_analysed` fact
  (`ANY_RECEIVER`), reported by the opt-in `session-not-analysed` and counted by the audit,
  so that the miss is not silent;
- no candidate takes a session: nothing to say.
Receivers that are a module, or an import mypy could not follow, are not looked at (their
callee is a function of a module mypy does not know, not a method of a class).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import (
    FUNC_NO_INFO,
    ARG_NAMED,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    CallExpr,
    Decorator,
    Expression,
    FuncDef,
    FuncItem,
    Import,
    ImportAll,
    ImportFrom,
    MemberExpr,
    MypyFile,
    NameExpr,
    OverloadedFuncDef,
    RefExpr,
    SymbolNode,
    TypeInfo,
    Var,
)
from mypy.plugin import MethodContext
from mypy.util import correct_relative_import
from mypy.types import AnyType, Type, TypeOfAny, get_proper_type

from mypy_session.config import SessionConfig
from mypy_session.injected_parameters import injected_leading
from mypy_session.knowledge import is_library
from mypy_session.vocabulary import Callee, session_params_of

Method = FuncDef | Decorator | OverloadedFuncDef
CalleeOf = Callable[[str, SymbolNode], "Callee | None"]
CheckCall = Callable[[MethodContext, Callee], None]

_BUILTINS: Final = "builtins"


class AnyCall:
    """A call on an `Any` receiver in a function that has a session parameter, as the walk
    found it: the function and the scopes it is checked in (mypy's scope stack)."""

    __slots__ = ("call", "name", "stack", "function", "line")

    def __init__(
        self,
        call: CallExpr,
        name: str,
        stack: list[TypeInfo | FuncItem | MypyFile],
        function: str,
        line: int,
    ) -> None:
        self.call = call
        self.name = name  # the method's name
        self.stack = stack  # mypy's scope stack where the call is checked
        self.function = function  # the top-level function's fullname
        self.line = line  # where the function (holding the call) is defined


def any_receiver_call(expr: Expression, types: dict[Expression, Type] | None) -> str | None:
    """The method's name where `expr` is a call `receiver.name(...)` on a receiver mypy
    types as `Any` (not a module, not an import mypy could not follow). `types`: the
    module's type map; without it (no hook ran in the module, so its checker is not
    known) only a receiver that is a variable is looked at, by its declared type."""
    if not isinstance(expr, CallExpr):
        return None
    callee = expr.callee
    if not isinstance(callee, MemberExpr):
        return None
    receiver = callee.expr
    node = receiver.node if isinstance(receiver, RefExpr) else None
    if isinstance(node, MypyFile) or (isinstance(node, Var) and node.is_suppressed_import):
        return None
    if types is not None:
        typ = types.get(receiver)
        if typ is None:
            return None
        proper = get_proper_type(typ)
        if not isinstance(proper, AnyType) or proper.type_of_any in _NOT_AN_OBJECT:
            return None
        return callee.name
    return callee.name if _declared_any(receiver) else None


def calls_on_any(types: dict[Expression, Type]) -> list[tuple[CallExpr, str]]:
    """Every call on an `Any` receiver in a module's type map (what mypy checked), with
    the method's name: one pass over the map, compiled (the map holds every expression)."""
    found: list[tuple[CallExpr, str]] = []
    for expr, typ in types.items():
        # A method called on `Any` gives `Any` (mypy runs no hook that could say
        # otherwise): the receiver's type is looked up only for such calls.
        if type(typ) is AnyType and isinstance(expr, CallExpr):
            method = any_receiver_call(expr, types)
            if method is not None:
                found.append((expr, method))
    return found


def _declared_any(expr: Expression) -> bool:
    """Without the type map: a variable declared `Any` or unannotated, or an attribute
    of one (`ti.task.dag`: an attribute of `Any` is `Any`)."""
    while isinstance(expr, MemberExpr):
        expr = expr.expr
    if not isinstance(expr, NameExpr) or not isinstance(expr.node, Var):
        return False
    var = expr.node
    if var.is_suppressed_import:
        return False
    if var.type is None:
        return True  # unannotated
    proper = get_proper_type(var.type)
    return isinstance(proper, AnyType) and proper.type_of_any not in _NOT_AN_OBJECT


# `Any` that stands for a module or a name mypy could not import, not an object.
_NOT_AN_OBJECT: Final = frozenset((TypeOfAny.from_unimported_type, TypeOfAny.special_form))


class ProgramMethods:
    """Methods by name, over the classes a module can reach (see the module docstring).

    What one module's symbol table refers to, and the classes it defines, are kept per
    module: within a build they do not change once the module is analysed. Under dmypy a
    module an update changes gets a new list of statements (`MypyFile.defs`), and what was
    kept of it is computed again. What a module reaches is kept per module outside dmypy.
    Methods are looked up by name in the classes reached, when a call asks for the name:
    most reached classes are library classes no call on `Any` ever names, and indexing
    every method of every one of them cost more than all the lookups (prefect's server:
    150 M instructions for 7 modules)."""

    def __init__(self, modules: Callable[[], dict[str, MypyFile] | None], *, daemon: bool) -> None:
        self._modules = modules
        self._daemon = daemon
        # module -> (its tree and statements when computed, the answer)
        self._refers: dict[str, tuple[MypyFile, object, list[str]]] = {}
        self._classes: dict[str, tuple[MypyFile, object, list[TypeInfo]]] = {}
        self._library: dict[str, bool] = {}
        self._reach: dict[str, frozenset[str]] = {}  # module -> the modules it reaches (not dmypy)

    def reach(self, module: str) -> Reach:
        """The classes `module` can reach, to look methods up in by name."""
        modules = self._modules() or {}
        reached = self._reachable(module, modules)
        project = {name for name in reached if name != module and not self._is_library(name, modules)}
        classes: list[TypeInfo] = []
        for name in sorted(reached):
            classes.extend(self._classes_of(name, modules))
        return Reach(classes, reached, project)

    def _is_library(self, module: str, modules: dict[str, MypyFile]) -> bool:
        hit = self._library.get(module)
        if hit is None:
            file = modules.get(module)
            hit = self._library[module] = file is None or is_library(file)
        return hit

    def _classes_of(self, module: str, modules: dict[str, MypyFile]) -> list[TypeInfo]:
        """The classes the module defines, those nested in them included (again, where the
        module changed under dmypy)."""
        file = modules.get(module)
        if file is None:
            return []
        hit = self._classes.get(module)
        if hit is not None and hit[0] is file and hit[1] is file.defs:
            return hit[2]
        found: list[TypeInfo] = []
        seen: set[int] = set()
        for sym in file.names.values():
            node = sym.node
            # By exact type: `isinstance` against mypy's own compiled classes is a slow
            # generic call from this library (TypeInfo's one subclass is a placeholder).
            if type(node) is TypeInfo and node.module_name == module:
                _collect(node, found, seen)
        self._classes[module] = (file, file.defs, found)
        return found

    def _reachable(self, module: str, modules: dict[str, MypyFile]) -> frozenset[str]:
        """The module, what its imports name, and what the symbol tables of the checked
        program's modules refer to, transitively; a library module's own references are
        included but not followed further (a class a program can name is there, the
        library's internals are not)."""
        if not self._daemon:
            hit = self._reach.get(module)
            if hit is not None:
                return hit
        seen = {module, _BUILTINS, *_imports(modules.get(module), modules)}
        todo = [name for name in seen if not self._is_library(name, modules)]
        for name in list(seen):
            if self._is_library(name, modules):
                seen.update(self._refers_of(name, modules))
        while todo:
            current = todo.pop()
            for target in self._refers_of(current, modules):
                if target in seen:
                    continue
                seen.add(target)
                if self._is_library(target, modules):
                    seen.update(self._refers_of(target, modules))
                else:
                    todo.append(target)
        reach = frozenset(seen)
        if not self._daemon:
            self._reach[module] = reach
        return reach

    def _refers_of(self, module: str, modules: dict[str, MypyFile]) -> list[str]:
        file = modules.get(module)
        if file is None:
            return []
        hit = self._refers.get(module)
        if hit is not None and hit[0] is file and hit[1] is file.defs:
            return hit[2]
        targets: set[str] = set()
        for sym in file.names.values():
            target = _module_of(sym.node, modules)
            if target is not None and target != module:
                targets.add(target)
        found = sorted(targets)
        self._refers[module] = (file, file.defs, found)
        return found


class Reach:
    """The modules one module reaches, and their classes, to find methods by name in."""

    __slots__ = ("_classes", "_named", "modules", "project")

    def __init__(self, classes: list[TypeInfo], modules: frozenset[str], project: set[str]) -> None:
        self._classes = classes
        self._named: dict[str, list[Method]] = {}
        self.modules = modules
        # The modules of the checked program (not libraries) reached, but the module
        # itself: mypy's indirect dependencies of the module, so that a change in one of
        # them (a class gaining a method of a name looked up) makes mypy check it again.
        self.project = project

    def named(self, name: str) -> list[Method]:
        """Every method called `name` that a class reached defines itself (inherited ones
        are found in their own class), ordered by fullname."""
        known = self._named.get(name)
        if known is not None:
            return known
        found: list[Method] = []
        for info in self._classes:
            sym = info.names.get(name)
            if sym is not None:
                node = sym.node
                if isinstance(node, (FuncDef, Decorator, OverloadedFuncDef)):
                    found.append(node)
        found.sort(key=lambda node: node.fullname)
        self._named[name] = found
        return found


def _collect(info: TypeInfo, found: list[TypeInfo], seen: set[int]) -> None:
    """The class and the classes nested in it, each once."""
    if id(info) in seen:
        return
    seen.add(id(info))
    found.append(info)
    prefix = info.fullname + "."
    for sym in info.names.values():
        node = sym.node
        if type(node) is TypeInfo and node.fullname.startswith(prefix):
            _collect(node, found, seen)


def _imports(file: MypyFile | None, modules: dict[str, MypyFile]) -> set[str]:
    """The modules the module being checked imports, as its own import statements say
    (`import pkg.models` puts only `pkg` in its symbol table). Its syntax tree is there
    in every mode, the module being checked; the modules it reaches are followed through
    their symbol tables, which are the same whether checked or loaded from the cache."""
    found: set[str] = set()
    if file is None:
        return found
    for node in file.imports:
        if isinstance(node, Import):
            found.update(name for name, _ in node.ids)
            continue
        if not isinstance(node, (ImportFrom, ImportAll)):
            continue
        base, _ = correct_relative_import(
            file.fullname, node.relative, node.id, file.is_package_init_file()
        )
        found.add(base)
        if isinstance(node, ImportFrom):
            found.update(
                f"{base}.{name}" for name, _ in node.names if f"{base}.{name}" in modules
            )
    return {name for name in found if name in modules}


def _module_of(node: SymbolNode | None, modules: dict[str, MypyFile]) -> str | None:
    """The module a symbol table entry refers to: a module itself, or where the name it
    imports is defined."""
    if node is None:
        return None
    if isinstance(node, MypyFile):
        return node.fullname
    if isinstance(node, TypeInfo):
        return node.module_name
    fullname = node.fullname
    if not fullname:
        return None
    owner = fullname.rpartition(".")[0]
    return owner if owner in modules else None


def admits(node: Method, call: CallExpr, config: SessionConfig) -> bool:
    """Can `call` (its own arguments, as written) be a call of the method `node`? (Its
    session parameters need not be given: leaving them out is what is looked for.)"""
    if isinstance(node, OverloadedFuncDef):
        items: Sequence[SymbolNode] = node.items or ([node.impl] if node.impl is not None else [])
        return any(
            admits(item, call, config) for item in items if isinstance(item, (FuncDef, Decorator))
        )
    func = node.func if isinstance(node, Decorator) else node
    start = 0 if func.is_static else 1
    start += injected_leading(node)
    names = func.arg_names[start:]
    kinds = func.arg_kinds[start:]
    if ARG_STAR in kinds and ARG_STAR2 in kinds:
        return True
    positional = [i for i, kind in enumerate(kinds) if kind in (ARG_POS, ARG_OPT)]
    given: set[int] = set()
    passed = 0
    for kind, keyword in zip(call.arg_kinds, call.arg_names):
        if kind.is_star():
            return True  # a splat can fill anything
        if keyword is None:
            if passed < len(positional):
                given.add(positional[passed])
            elif ARG_STAR not in kinds:
                return False
            passed += 1
            continue
        if keyword in names:
            given.add(names.index(keyword))
        elif ARG_STAR2 not in kinds:
            return False
    if isinstance(node, Decorator):
        return True  # a decorator may give any parameter (`@provide_session`)
    return all(
        index in given
        for index, kind in enumerate(kinds)
        if kind in (ARG_POS, ARG_NAMED) and names[index] not in config.session_param_names
    )


def resolve(
    methods: list[Method], call: CallExpr, config: SessionConfig
) -> tuple[list[Method], bool]:
    """(the candidates that take a session, whether every candidate does). A name that
    a built-in container or the standard ABCs define (`get`, `update`, `pop`...) is
    taken as theirs: an `Any` receiver of `.get(...)` is a dict far more often than not,
    and no candidate is returned."""
    candidates = [node for node in methods if admits(node, call, config)]
    if any(node.fullname.rpartition(".")[0].rpartition(".")[0] in _CONTAINERS for node in candidates):
        return [], False
    takers = [node for node in candidates if session_params_of(node, config)]
    return takers, len(takers) == len(candidates)


# The modules of the built-in containers and the standard ABCs (a method's fullname is
# "<module>.<Class>.<name>").
_CONTAINERS: Final = frozenset(
    ("builtins", "typing", "collections", "collections.abc", "_collections_abc", "_typeshed")
)


def fake_context(call: CallExpr, api: TypeChecker, types: dict[Expression, Type]) -> MethodContext:
    """What a method hook would get for the call, as for a callee whose signature mypy
    does not see: every argument in the call's own order, typed as mypy typed it."""
    anything = AnyType(TypeOfAny.special_form)
    arg_types: list[list[Type]] = [[types.get(arg, anything)] for arg in call.args]
    return MethodContext(
        type=anything,
        arg_types=arg_types,
        arg_kinds=[[kind] for kind in call.arg_kinds],
        callee_arg_names=[None for _ in call.args],
        arg_names=[[name] for name in call.arg_names],
        default_return_type=anything,
        args=[[arg] for arg in call.args],
        context=call,
        api=api,
    )


def as_callee(takers: list[Method], callee_of: CalleeOf) -> Callee | None:
    """The first candidate as the checks see it: matched as a call through a
    signature-hiding decorator (by keyword and position), named after the candidates."""
    if not takers:
        return None
    first = takers[0]
    callee = callee_of(first.fullname, first)
    if callee is None:
        return None
    if len(takers) > 1:
        others = ", ".join(_display(node) for node in takers[1:3])
        more = " ..." if len(takers) > 3 else ""
        callee.display = f"{callee.display} (or {others}{more})"
    return callee


def _display(node: Method) -> str:
    owner, _, name = node.fullname.rpartition(".")
    return f"{owner.rpartition('.')[2]}.{name}"


def scope_stack(
    file: MypyFile, outer: Sequence[FuncItem], func: FuncItem
) -> list[TypeInfo | FuncItem | MypyFile]:
    """mypy's scope stack while it checks `func` (nested in the functions `outer`)."""
    stack: list[TypeInfo | FuncItem | MypyFile] = [file]
    top = outer[0] if outer else func
    if isinstance(top, FuncDef) and top.info is not FUNC_NO_INFO:
        stack.append(top.info)
    stack.extend(outer)
    stack.append(func)
    return stack
