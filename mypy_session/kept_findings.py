"""Findings made once mypy has checked a module, kept across dmypy updates.

The end-of-module callback (`untyped_sessions`, `escaping_objects`,
`checks/unresolved_settings`) runs only where mypy finishes a module: in a build, and in
a dmypy update for the changed modules alone. Every step of an update starts by dropping
every error (`Errors.reset`: a new error table), then checks a changed module, then again
every target that had errors, to report them anew. For a module that is not checked
again the callback does not run, and its findings would be lost. So they are kept here,
by module, and put back into every new error table:

- at the first hook of the plugin that runs with that table (`step`, from every hook and
  from the end-of-module callback);
- and where mypy checks one function again because it had errors: it first removes the
  errors filed under that target, then checks it, and a hook in it puts them back.
  `escaping_objects` files its findings under the function the scope's opener is in (the
  opener call has a hook), so such a check runs after the last reset of every update,
  also of one that only removes modules from the build (an editor that opens another
  document). The other callbacks' findings are filed under a target no update checks
  (`UNCHECKED_TARGET`), which nothing removes but a reset;
- not for a module that left the build (it is no longer in mypy's modules);
- under the module's path as mypy has it now (a module first followed as an import has
  an absolute path, the same module named on the command line a relative one).

A module that mypy checks again is decided anew (`renew`): what was kept for it is taken
out of the current table, in case a hook of its own check put it back.
"""

from __future__ import annotations

from typing import Final

from mypy.checker import TypeChecker
from mypy.errors import ErrorInfo, Errors
from mypy.nodes import MypyFile

# The target of findings that no update should check again (mypy logs "Can't find
# matching target" for it and moves on).
UNCHECKED_TARGET: Final = "<mypy-session walk>"


class _Kept:
    __slots__ = ("path", "infos")

    def __init__(self, path: str) -> None:
        self.path = path
        self.infos: list[ErrorInfo] = []


# Module fullname -> what was kept for it; a real target -> its module.
_kept: dict[str, _Kept] = {}
_targets: dict[str, str] = {}
# The error table the kept findings were last put back into, and how many tables were
# seen (a new one: a new step of an update).
_table: list[dict[str, list[ErrorInfo]]] = []
_steps: list[int] = [0]
# mypy's errors and modules, shared by the checkers of a build.
_build: list[tuple[Errors, dict[str, MypyFile]]] = []


def forget() -> None:
    """A new build."""
    _kept.clear()
    _targets.clear()
    _table.clear()
    _build.clear()
    _steps[0] = 0


def keep(file: MypyFile, reported: list[ErrorInfo], target: str | None = None) -> None:
    """Keep what the end-of-module callback reported in `file`, filed under `target` (a
    target mypy checks again in every update, whose check runs a hook of the plugin), or
    under a target of its own that no update checks."""
    if not reported:
        return
    filed = target if target else f"{file.fullname}.{UNCHECKED_TARGET}"
    if target:
        _targets[target] = file.fullname
    for info in reported:
        info.target = filed
    kept = _kept.get(file.fullname)
    if kept is None or kept.path != file.path:
        kept = _kept[file.fullname] = _Kept(file.path)
    kept.infos.extend(reported)


def step(checker: TypeChecker) -> int:
    """A hook runs (or the end-of-module callback): `touch`, with mypy's errors and
    modules known from `checker` (the same for every checker of a build)."""
    if not _build:
        _build.append((checker.errors, checker.modules))
    return touch()


def touch() -> int:
    """The number of the error table mypy now reports into; the first time a table is
    seen, the kept findings are put back into it, and those filed under the target being
    checked (mypy removed them to check it again). Also asked where mypy asks the plugin
    for a hook, under dmypy: with no checker at hand."""
    if not _build:
        return _steps[0]
    errors, modules = _build[0]
    table = errors.error_info_map
    if not (_table and _table[0] is table):
        _table[:] = [table]
        _steps[0] += 1
        if _kept:
            _restore(modules, table)
    elif _targets:
        scope = errors.scope
        if scope is not None and scope.module is not None:
            target = scope.current_target()
            module = _targets.get(target)
            kept = _kept.get(module) if module is not None else None
            if kept is not None:
                _put(table, kept.path, [info for info in kept.infos if info.target == target])
    return _steps[0]


def current() -> int:
    """The number of the error table last seen by `step` (0: not under dmypy)."""
    return _steps[0]


def renew(file: MypyFile, checker: TypeChecker | None) -> None:
    """mypy has checked `file` again: forget what was kept for it, and take it out of the
    current table (a hook of this check may have put it back)."""
    kept = _kept.pop(file.fullname, None)
    if kept is None:
        return
    _drop_targets(kept)
    if checker is None:
        return
    table = checker.errors.error_info_map
    for path in {kept.path, file.path}:
        present = table.get(path)
        if present:
            present[:] = [info for info in present if not any(info is old for old in kept.infos)]


def _restore(modules: dict[str, MypyFile], table: dict[str, list[ErrorInfo]]) -> None:
    for module in list(_kept):
        current = modules.get(module)
        kept = _kept[module]
        if current is None:
            del _kept[module]  # removed from the build: its findings go with it
            _drop_targets(kept)
            continue
        kept.path = current.path
        _put(table, kept.path, kept.infos)


def _put(table: dict[str, list[ErrorInfo]], path: str, infos: list[ErrorInfo]) -> None:
    if not infos:
        return
    present = table.setdefault(path, [])
    present.extend([info for info in infos if not any(info is other for other in present)])


def _drop_targets(kept: _Kept) -> None:
    for info in kept.infos:
        if info.target:
            _targets.pop(info.target, None)
