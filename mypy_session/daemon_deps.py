"""Under dmypy: make a caller depend on the facts it was told about other modules.

mypy's daemon re-checks a target (a function, a module's top level) when something it
depends on changes in a way mypy tracks: a signature, a decorator's type. What a check
here also depends on is a callee's *facts*: whether its body opens a session scope
(directly or through a chain of calls into other modules), and its marker (which may sit
next to another decorator that hides it from the type). A body-only edit, or a marker
swapped under `@traced`, changes neither, so dmypy would keep the caller's old result.

Each module's facts live in its symbol table (`knowledge.STORE`, a hidden variable written
when the module is checked), so a change of them is a change of that symbol: dmypy fires
the trigger `<module.__mypy_session_facts__>`. What is missing is the dependency, and mypy
lets plugins add them: `MypyFile.plugin_deps` (trigger -> targets), which it merges into
the build's dependency map after a module is checked (what
`SemanticAnalyzerPluginInterface.add_plugin_dependency` writes to). So while a hook checks a
call, every module whose facts the answer came from is recorded, and the target being
checked is made to depend on each of those modules' facts.

Answers are memoized by function body (`Knowledge.summary`); the modules an answer came
from are kept with it, with their statements as they were: dmypy merges a changed
module's new tree into the old `MypyFile` (which keeps its identity) but its statement
list is new, so an answer that read a module changed since is computed again.

Only under dmypy (`Knowledge.daemon`); a plain or incremental run never creates this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Final

from mypy.checker import TypeChecker
from mypy.nodes import MypyFile

FACTS: Final = "__mypy_session_facts__"  # knowledge.STORE (imported there from here)


def facts_trigger(module: str) -> str:
    """The trigger dmypy fires when the facts stored in `module` change."""
    return f"<{module}.{FACTS}>"


class FactDependencies:
    """The modules consulted while answering a hook's question, and the dependencies of
    the checked target on their facts."""

    def __init__(self, modules: Callable[[], dict[str, MypyFile] | None]) -> None:
        self._modules = modules
        self.checker: TypeChecker | None = None  # the checker whose hook is running
        self.statements: object = None  # the statements of the module hooks last saw
        self._stack: list[set[str]] = []  # one set per summary being computed
        # fullname -> the modules its summary came from, with their statements at the time
        self._sources: dict[str, tuple[tuple[str, object], ...]] = {}

    def consulted(self, module: str) -> None:
        """The answer being computed reads facts of `module`."""
        self._note((module,))

    def begin(self) -> None:
        """A summary is computed (nested calls add to it)."""
        self._stack.append(set())

    def end(self, fullname: str) -> None:
        """The summary of `fullname` is done: keep where it came from."""
        modules = self._stack.pop()
        table = self._modules() or {}
        self._sources[fullname] = tuple(
            (name, table[name].defs) for name in sorted(modules) if name in table
        )
        self._note(modules)

    def reuse(self, fullname: str) -> bool:
        """May the memoized summary of `fullname` be used? Only if every module it came
        from still has the same statements; if so, its modules count as consulted."""
        sources = self._sources.get(fullname)
        if sources is None:
            return False
        table = self._modules() or {}
        for name, defs in sources:
            file = table.get(name)
            if file is None or file.defs is not defs:
                return False
        self._note(name for name, _ in sources)
        return True

    def _note(self, modules: Iterable[str]) -> None:
        names = set(modules)
        if self._stack:
            self._stack[-1].update(names)
            return
        checker = self.checker
        if checker is None or not names:
            return
        tree = checker.tree
        target = checker.tscope.current_target() if checker.tscope.module else tree.fullname
        for module in names:
            if module != tree.fullname:
                tree.plugin_deps.setdefault(facts_trigger(module), set()).add(target)
