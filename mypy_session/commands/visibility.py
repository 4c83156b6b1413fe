"""What one build could see: the files it checked, the codes on in each, and whether mypy
resolved everything each file depends on.

The baseline drops an entry only when this run could have reported its finding and did not
(issue 16): the finding's own file was checked with its errors shown, the finding's code
was enabled there, and no module the file depends on, directly or through other modules,
was missing or skipped (a missing `sqlalchemy` turns every session into `Any`, and the
findings vanish without being fixed). Any other entry the run did not report is kept, with
the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Final

from mypy.errorcodes import ErrorCode, error_codes
from mypy.options import Options

NOT_CHECKED: Final = "its file was not checked"
CODE_OFF: Final = "its code is disabled there"
ERRORS_IGNORED: Final = "mypy ignores errors in its file"
UNRESOLVED: Final = "mypy could not resolve what its file imports"


class CheckedFile:
    __slots__ = ("ignore_errors", "options", "unresolved")

    def __init__(self, options: Options, ignore_errors: bool, unresolved: bool) -> None:
        self.options = options  # the file's own options (per-module sections, inline comments)
        self.ignore_errors = ignore_errors
        self.unresolved = unresolved  # it depends, maybe through others, on a missing module


class Visibility:
    """{absolute path: CheckedFile} for the files this build checked."""

    def __init__(self, files: Mapping[str, CheckedFile] | None = None, missing: Iterable[str] = ()) -> None:
        self.files: dict[str, CheckedFile] = dict(files or {})
        self.missing = sorted(set(missing))  # the missing or skipped modules, by name

    def unseen(self, path: str, code: str) -> str | None:
        """Why this run could not have reported a finding of `code` in `path`; None when
        it could (so a finding it did not report is really gone)."""
        checked = self.files.get(os.path.abspath(path))
        if checked is None:
            return NOT_CHECKED
        if checked.ignore_errors:
            return ERRORS_IGNORED
        error_code = error_codes.get(code)
        if error_code is None or not _enabled(checked.options, error_code):
            return CODE_OFF
        if checked.unresolved:
            return UNRESOLVED
        return None


def _enabled(options: Options, code: ErrorCode) -> bool:
    """mypy's own rule (`Errors.is_error_code_enabled`) for one file's options."""
    if code in options.disabled_error_codes:
        return False
    if code in options.enabled_error_codes:
        return True
    if code.sub_code_of is not None and code.sub_code_of in options.disabled_error_codes:
        return False
    return code.default_enabled


def from_graph(graph: Mapping[str, object]) -> Visibility:
    """Read mypy's module graph after a build (`BuildResult.graph`: module id -> State).

    A missing import counts where mypy would report it: in a module whose errors are shown
    (the project's), not inside an installed library. The modules that depend on a missing one are found in one walk of the reversed import
    graph from the modules that import something missing (linear in the graph's size)."""
    importers: dict[str, list[str]] = {}
    tainted: set[str] = set()
    missing: set[str] = set()
    for module, state in graph.items():
        for dep in getattr(state, "dependencies", ()):
            importers.setdefault(dep, []).append(module)
        if getattr(state, "ignore_all", False):
            # An installed library (its errors silenced): its own missing imports are
            # optional accelerators and backends (sqlalchemy's cython modules, greenlet),
            # which mypy does not report either.
            continue
        suppressed = [d for d in getattr(state, "suppressed", ()) if not _is_optional(d)]
        if suppressed:
            tainted.add(module)
            missing.update(suppressed)
    stack = list(tainted)
    while stack:
        for importer in importers.get(stack.pop(), ()):
            if importer not in tainted:
                tainted.add(importer)
                stack.append(importer)
    files: dict[str, CheckedFile] = {}
    for module, state in graph.items():
        path = getattr(state, "path", None)
        options = getattr(state, "options", None)
        if not path or not isinstance(options, Options):
            continue
        ignore = bool(getattr(state, "ignore_all", False) or options.ignore_errors)
        files[os.path.abspath(path)] = CheckedFile(options, ignore, module in tainted)
    return Visibility(files, missing)


def _is_optional(module: str) -> bool:
    """Suppressed imports that never carry a session type: submodules of `encodings`,
    which mypy suppresses in every run (it has a module-level `__getattr__`)."""
    return module.startswith("encodings.")
