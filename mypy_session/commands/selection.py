"""Which findings a command reports: `--select` and `--ignore` (SPEC section 7).

Parse once, then ask `selects(code)` per finding:

    selection = Selection.parse(select=["session"], ignore=["session-mismatch"])
    shown = [f for f in findings if selection.selects(f.code)]

A value is a comma-separated list of codes, and the option may be repeated. A code is one
of mypy's error codes, one of this plugin's, an audit-only code, or `session` (every code
of the plugin and of the audit). A code brings its sub-codes along (mypy's `sub_code_of`:
`session-not-forwarded` covers `session-read-not-forwarded`, as `# type: ignore[...]`
does), and the most specific mention wins, as in ruff: a code named itself beats its
parent, which beats `session`; at the same level `--ignore` wins. So
`--select session --ignore session-not-forwarded` drops the sub-code too, and
`--select session-read-not-forwarded` alone selects only the sub-code.

With no `--select`, every code is selected except the ignored ones. Under a `--select`,
a message without a code (a note mypy printed on its own) is not selected.

An unknown code is a `SelectionError` with one line to print (exit status 2).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from mypy.errorcodes import error_codes

from mypy_session import errorcodes

GROUP: Final = "session"  # every code of the plugin (and of the audit)

# How specific a mention is: a code named itself, its parent named, the group named.
_EXACT: Final = 3
_PARENT: Final = 2
_GROUP: Final = 1


class SelectionError(Exception):
    """An unknown code in `--select` / `--ignore`: the one line to print."""


@dataclass(frozen=True, slots=True)
class Selection:
    """The parsed `--select` / `--ignore` of one command."""

    select: frozenset[str] | None  # as written, None when no --select was given
    ignore: frozenset[str]
    group: frozenset[str]  # the codes `session` stands for
    parents: Mapping[str, str]  # sub-code -> its parent code

    @classmethod
    def parse(
        cls,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        *,
        extra_codes: Iterable[str] = (),
    ) -> Selection:
        """From option values (each may hold several codes, comma-separated).
        `extra_codes` are codes only the calling command reports (the audit's); they
        count as the plugin's. Raises `SelectionError` for an unknown code."""
        extra = frozenset(extra_codes)
        group = frozenset(plugin_codes()) | extra
        known = frozenset(error_codes) | group | {GROUP}
        chosen = None if select is None else _codes(select, "--select", known)
        return cls(
            select=chosen,
            ignore=_codes(ignore or (), "--ignore", known),
            group=group,
            parents={
                code.code: code.sub_code_of.code
                for code in error_codes.values()
                if code.sub_code_of is not None
            },
        )

    @property
    def active(self) -> bool:
        """Does it leave anything out? (False: every finding is reported, as by mypy.)"""
        return self.select is not None or bool(self.ignore)

    def selects(self, code: str | None) -> bool:
        """Is a finding with this code reported?"""
        if code is None:
            return self.select is None
        chosen = _level(code, self.select, self.group, self.parents) if self.select is not None else 0
        dropped = _level(code, self.ignore, self.group, self.parents)
        if self.select is not None and chosen == 0:
            return False
        return dropped == 0 or chosen > dropped

    def describe(self) -> str:
        """The options as a user would write them, for summaries: `--select session`."""
        parts = []
        if self.select is not None:
            parts.append("--select " + ",".join(sorted(self.select)))
        if self.ignore:
            parts.append("--ignore " + ",".join(sorted(self.ignore)))
        return " ".join(parts)


def plugin_codes() -> list[str]:
    """Every error code of the plugin, registered or not yet in this version."""
    return sorted(code.code for code in error_codes.values() if code.category == errorcodes.CATEGORY)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """`--select` and `--ignore`, for a command's own parser."""
    parser.add_argument(
        "--select",
        action="append",
        metavar="CODES",
        help="report only these codes (comma-separated; `session` for all of the plugin's); "
        "the exit status comes from them alone",
    )
    parser.add_argument(
        "--ignore",
        action="append",
        metavar="CODES",
        help="do not report these codes (comma-separated; `session` for all of the plugin's)",
    )


def from_arguments(known: argparse.Namespace, *, extra_codes: Iterable[str] = ()) -> Selection:
    """The selection of a namespace parsed with `add_arguments`; raises `SelectionError`."""
    return Selection.parse(known.select, known.ignore, extra_codes=extra_codes)


def _codes(values: Iterable[str], option: str, known: frozenset[str]) -> frozenset[str]:
    codes = {code.strip() for value in values for code in value.split(",") if code.strip()}
    for code in sorted(codes):
        if code not in known:
            close = difflib.get_close_matches(code, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f"; use `{GROUP}` for all of the plugin's"
            raise SelectionError(f"{option}: unknown error code '{code}'{hint}")
    if option == "--select" and not codes:
        raise SelectionError(f"{option}: no error code given")
    return frozenset(codes)


def _level(code: str, named: frozenset[str] | None, group: frozenset[str], parents: Mapping[str, str]) -> int:
    """How specifically `named` mentions `code`: 0 when it does not."""
    if not named:
        return 0
    if code in named:
        return _EXACT
    parent = parents.get(code)
    while parent is not None:
        if parent in named:
            return _PARENT
        parent = parents.get(parent)
    if GROUP in named and code in group:
        return _GROUP
    return 0
