"""The one place the plugin reports a finding.

Every check reports through `Reporter.fail`: it drops findings the baseline accepts and,
in a recording run, tells the recorder. With neither (the usual mypy run) it is a plain
`api.fail`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, TypeAlias, cast

from mypy.checker import TypeChecker
from mypy.errorcodes import ErrorCode
from mypy.nodes import Context, FuncItem
from mypy.plugin import CheckerPluginInterface

from mypy_session.baseline_lines import Placement, line_context, read_lines
from mypy_session.compat import top_level_function

# The baseline and the recorder matter only to runs that have them (commands, a
# configured baseline): a plain mypy run does not import them.
if TYPE_CHECKING:
    from mypy_session.baseline import Watch
    from mypy_session.recorder import Recorder

# How a check reports: (message, where, code); bound to the checker of the call.
Report: TypeAlias = Callable[[str, Context, ErrorCode], None]


class Reporter:
    def __init__(
        self,
        *,
        accepted: frozenset[str] = frozenset(),
        root: str | None = None,
        recorder: Recorder | None = None,
        watch: Watch | None = None,
        contexts: Mapping[str, str] | None = None,
    ) -> None:
        self.accepted = accepted  # fingerprints in the baseline
        # {base: [(mark, context)]} for the bases whose entries say where they are
        self._placed = _by_base(accepted, contexts or {})
        self._placements: dict[tuple[int, str], tuple[object, Placement]] = {}
        self.root = root or os.getcwd()  # paths in fingerprints are relative to this
        self.recorder = recorder
        self._watch = watch  # under dmypy: the baseline file, read again when it changes
        self._plain = not accepted and recorder is None
        # Identical findings in one function are told apart by their order:
        # {(function or module node id, fingerprint base): (body, [positions])}.
        self._seen: dict[tuple[int, str], tuple[object, list[tuple[int, int]]]] = {}

    def refresh(self) -> None:
        """Under dmypy, at the first hook of each module an update checks: take the
        baseline as it is now (a finding it no longer accepts is reported the next time
        its code is checked; one it newly accepts is dropped then)."""
        if self._watch is None:
            return
        entries = self._watch.changed()
        if entries is not None:
            self.accepted = frozenset(item.fingerprint for item in entries)
            self._placed = _by_base(self.accepted, {item.fingerprint: item.context for item in entries})
            self._placements.clear()
            self._plain = not self.accepted and self.recorder is None

    def fail(
        self,
        api: CheckerPluginInterface,
        message: str,
        context: Context,
        code: ErrorCode,
        *,
        function: str | None = None,
        path: str | None = None,
    ) -> None:
        """Report unless the baseline accepts it; `function` names the function the finding
        is about where that is not the one being checked (a decorator runs outside it),
        `path` its file where that is not the checker's (the end-of-module walk)."""
        if not self._plain:
            from mypy_session import baseline
            from mypy_session.recorder import Finding

            checker = cast(TypeChecker, api)
            if function is None:
                function = function_name(checker)
            where = path if path is not None else checker.path
            relative = baseline.relative_path(where, self.root)
            base = baseline.fingerprint(code.code, relative, function, message)
            mark = baseline.nth(base, self._occurrence(checker, base, context))
            entries = self._placed.get(base)
            if entries is not None:
                if self._placement(checker, base, entries, where).accepts(context.line):
                    return
            elif mark in self.accepted:
                return
            if self.recorder is not None:
                around = line_context(read_lines(where), context.line)
                self.recorder.findings.append(
                    Finding(code.code, where, context.line, context.column, message, function, mark, around)
                )
        fail_unwatched(api, message, context, code)

    def _placement(
        self, checker: TypeChecker, base: str, entries: list[tuple[str, str]], path: str
    ) -> Placement:
        """The entries of `base` placed on the lines of the function being checked (made
        again when dmypy gives the function a new body)."""
        owner, key, body = _owner(checker, base)
        hit = self._placements.get(key)
        if hit is None or hit[0] is not body:
            lines = read_lines(path)
            if owner is not None:
                first, last = owner.line, owner.end_line or owner.line
            else:
                first, last = 1, len(lines)
            hit = self._placements[key] = (body, Placement(entries, lines, first, last))
        return hit[1]

    def _occurrence(self, checker: TypeChecker, base: str, context: Context) -> int:
        """How many identical findings precede this one in its function (0 for the first).
        mypy checks a body in order; a deferred function is checked again, and dmypy
        swaps a changed function's body, which starts the count afresh."""
        _, key, body = _owner(checker, base)
        hit = self._seen.get(key)
        if hit is None or hit[0] is not body:
            hit = self._seen[key] = (body, [])
        positions = hit[1]
        where = (context.line, context.column)
        if where not in positions:
            positions.append(where)
        return positions.index(where)


def _owner(checker: TypeChecker, base: str) -> tuple[FuncItem | None, tuple[int, str], object]:
    """The top-level function being checked (None at module level), the key of `base` in
    it, and its body (the module's statements at module level): what the per-function
    memos are keyed and validated by."""
    owner = top_level_function(checker.scope)
    node: object = owner if owner is not None else checker.tree
    body: object = owner.body if owner is not None else checker.tree.defs
    return owner, (id(node), base), body


def _by_base(accepted: frozenset[str], contexts: Mapping[str, str]) -> dict[str, list[tuple[str, str]]]:
    """{base: [(mark, context)] in mark order} for each base with a context among its
    marks (a mark is `<base>` or `<base>-<n>`); bases without any keep matching by order."""
    if not contexts:
        return {}
    grouped: dict[str, list[tuple[int, str, str]]] = {}
    for mark in accepted:
        base, _, number = mark.partition("-")
        grouped.setdefault(base, []).append((int(number or 0), mark, contexts.get(mark, "")))
    return {
        base: [(mark, context) for _, mark, context in sorted(items)]
        for base, items in grouped.items()
        if any(context for _, _, context in items)
    }


def fail_unwatched(
    api: CheckerPluginInterface, message: str, context: Context, code: ErrorCode
) -> None:
    """`api.fail`, out of sight of mypy's error watchers.

    mypy runs a call's hooks inside `filter_errors()` while it tries overload items (and
    in union math): an item matches only if checking it reports nothing. A finding
    reported there makes mypy reject the item: a bogus `call-overload` error, or the
    wrong item chosen through the erased-types fallback (a wrong type, a bogus
    `arg-type`), and the finding is lost with the trial. A finding is not a type error of
    the call, so it must neither reject an item nor be filtered. An item that is tried
    and then rejected reports the same message on the same line, which mypy's duplicate
    removal drops."""
    errors = cast(TypeChecker, api).msg.errors
    watchers = getattr(errors, "_watchers", None)
    if not watchers:
        api.fail(message, context, code=code)
        return
    saved = list(watchers)
    watchers.clear()
    try:
        api.fail(message, context, code=code)
    finally:
        watchers[:] = saved


def function_name(checker: TypeChecker) -> str:
    """The fullname of the top-level function or method being checked ("" at module level)."""
    function = top_level_function(checker.scope)
    name = getattr(function, "fullname", "") if function is not None else ""
    return name if isinstance(name, str) else ""
