"""The fullname settings, resolved through re-exports and aliases (issue 11, item 5).

`session_types`, `scope_factories` and `session_providers` name things by dotted name,
and the plugin matches them against the fullname mypy gives a callee or a class: the
module that *defines* it. An entry written as the public path users import from
(`pkg.worker.SessionMaker`, defined in `pkg.worker._sqlalchemy` and re-exported by
`pkg/worker/__init__.py`), or as an alias (`from x import y as z`, `Alias = Class`), would
match nothing. So each entry is looked up once per build in mypy's symbol tables, where
an imported name points at the definition, and the definition's fullname is added to the
setting (the entry as written stays, so nothing that matched before stops matching).

An entry can only be looked up once its module has been analysed, and mypy analyses
modules in dependency order, so entries that do not resolve yet are tried again at each
new module (`refresh`); usually none is left after the first. Outside dmypy an entry is
tried again only once the modules loaded, or the symbol table of the module it points
into, have changed since it last failed: mypy analyses a module's classes with the
module, and asks the plugin nothing in the middle of that, so a table of the same size
holds the same names (on prefect's server an entry into a module analysed late was
otherwise looked up again at each of some 5,000 moments: about 100 M instructions).

An entry that resolves to nothing is reported once mypy has checked the module it points
into (`unresolved_in`), as a note on line 1 of that module. An entry whose module is not
in the build (no checked code imports it) is not reported: nothing can be said about it,
and a module on disk that is not imported is not a mistake in the setting.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Final

from mypy.lookup import lookup_fully_qualified
from mypy.nodes import MypyFile, SymbolNode, TypeAlias, TypeInfo, Var
from mypy.types import Instance, get_proper_type

from mypy_session.config import SessionConfig

SESSION_TYPES: Final = "session_types"
SCOPE_FACTORIES: Final = "scope_factories"
SESSION_PROVIDERS: Final = "session_providers"


class Unresolved:
    """An entry that names nothing in a module of the build."""

    __slots__ = ("setting", "entry", "module", "missing")

    def __init__(self, setting: str, entry: str, module: str, missing: str) -> None:
        self.setting = setting  # "scope_factories"
        self.entry = entry  # "pkg.worker.SessionMakr"
        self.module = module  # "pkg.worker": the module of the build it points into
        self.missing = missing  # "SessionMakr": the first name that module does not have


class SettingsResolution:
    """The configured entries of one build, resolved as their modules become known."""

    __slots__ = ("_config", "_modules", "_pending", "_daemon", "_tried", "resolved")

    def __init__(
        self,
        config: SessionConfig,
        modules: Callable[[], dict[str, MypyFile] | None],
        *,
        daemon: bool = False,
    ) -> None:
        self._config = config
        self._modules = modules
        self._pending: list[tuple[str, str]] = list(config.configured_names)
        self._daemon = daemon
        # entry -> the build as it was when the entry last failed to resolve: how many
        # modules were loaded, the module it points into and that module's symbol table.
        self._tried: dict[str, tuple[int, str | None, int, int]] = {}
        # (setting, entry) -> the fullname of the definition it names
        self.resolved: dict[tuple[str, str], str] = {}

    def refresh(self) -> bool:
        """Resolve the entries that can be now; True if a setting gained a name (what was
        decided from the settings before must then be decided again)."""
        if not self._pending:
            return False
        modules = self._modules()
        if not modules:
            return False
        grew = False
        still: list[tuple[str, str]] = []
        for setting, entry in self._pending:
            target = None if self._unchanged(entry, modules) else resolve(entry, modules)
            if target is None:
                still.append((setting, entry))
                continue
            self.resolved[(setting, entry)] = target
            if target != entry:
                _extend(self._config, setting, target)
                grew = True
        self._pending = still
        return grew

    def unresolved_in(self, file: MypyFile) -> list[Unresolved]:
        """The entries that point into `file` (a module mypy has just checked) and name
        nothing there."""
        if not self._pending:
            return []
        modules = self._modules()
        if not modules:
            return []
        found = []
        for setting, entry in self._pending:
            owner = _owner_module(entry, modules)
            if owner is None or owner != file.fullname:
                continue
            if resolve(entry, modules) is not None:
                continue
            missing = entry[len(owner) + 1 :].split(".", 1)[0]
            if _is_submodule_on_disk(file, missing):
                continue  # `pkg.sub.f` with pkg/sub.py not imported: not in the build
            found.append(Unresolved(setting, entry, owner, missing))
        return found

    def _unchanged(self, entry: str, modules: dict[str, MypyFile]) -> bool:
        """Has the entry failed before with the build as it is now (the same modules
        loaded, the same symbol table of the module it points into), so that it would
        fail again? Always False under dmypy. Records the state otherwise."""
        if self._daemon:
            return False
        owner = _owner_module(entry, modules)
        file = modules.get(owner) if owner is not None else None
        names = file.names if file is not None else None
        state = (len(modules), owner, id(names), len(names) if names is not None else 0)
        if self._tried.get(entry) == state:
            return True
        self._tried[entry] = state
        return False


def resolve(entry: str, modules: dict[str, MypyFile]) -> str | None:
    """The fullname of the definition `entry` names, or None if it names nothing (yet)."""
    sym = lookup_fully_qualified(entry, modules)
    if sym is not None:
        return _definition_name(sym.node, entry)
    # `pkg.Class.method` where the method is inherited, or the class is re-exported:
    # resolve the class, then find the attribute through its MRO.
    owner, _, attr = entry.rpartition(".")
    if not owner:
        return None
    owner_sym = lookup_fully_qualified(owner, modules)
    info = _class_of(owner_sym.node if owner_sym is not None else None)
    if info is None or info.get(attr) is None:
        return None
    # Named through the class the user wrote (the hooks ask for methods by the
    # receiver's class), not through the base that defines the attribute.
    return f"{info.fullname}.{attr}"


def _definition_name(node: SymbolNode | None, entry: str) -> str | None:
    if node is None or isinstance(node, MypyFile):
        return None  # a module is not a class or a function
    info = _class_of(node)
    if info is not None:
        return info.fullname
    if isinstance(node, TypeAlias):
        return None  # an alias of something that is not a class (a union...)
    name = node.fullname
    if isinstance(node, Var) and not name:
        return entry
    return name or None


def _class_of(node: SymbolNode | None) -> TypeInfo | None:
    if isinstance(node, TypeInfo):
        return node
    if isinstance(node, TypeAlias):
        target = get_proper_type(node.target)
        if isinstance(target, Instance):
            return target.type
    return None


def _owner_module(entry: str, modules: dict[str, MypyFile]) -> str | None:
    """The longest leading part of `entry` that is a module of the build."""
    head = entry
    while "." in head:
        head = head.rsplit(".", 1)[0]
        if head in modules:
            return head
    return None


def _is_submodule_on_disk(file: MypyFile, name: str) -> bool:
    """Is `name` a module or package beside `file`'s `__init__` (so the entry names a
    module that is simply not in the build)?"""
    path = file.path
    if not path or os.path.splitext(os.path.basename(path))[0] != "__init__":
        return False
    directory = os.path.dirname(path)
    return any(
        os.path.exists(os.path.join(directory, candidate))
        for candidate in (f"{name}.py", f"{name}.pyi", name)
    )


def _extend(config: SessionConfig, setting: str, target: str) -> None:
    if setting == SESSION_TYPES:
        config.session_types = config.session_types | {target}
        config.session_classes.clear()  # decided with the old list
    elif setting == SCOPE_FACTORIES:
        config.scope_factories = config.scope_factories | {target}
    elif setting == SESSION_PROVIDERS:
        config.session_providers = config.session_providers | {target}

