"""`--select` / `--ignore` parsing and matching (commands/selection.py), without a build."""

from __future__ import annotations

import argparse

import pytest

import mypy_session.errorcodes  # noqa: F401 - registers the plugin's codes
from mypy_session.commands import selection
from mypy_session.commands.audit import AUDIT_CODES
from mypy_session.commands.selection import Selection, SelectionError

NOT_FORWARDED = "session-not-forwarded"
READ = "session-read-not-forwarded"


def test_no_options_select_everything() -> None:
    chosen = Selection.parse()
    assert not chosen.active
    assert chosen.selects("arg-type") and chosen.selects(NOT_FORWARDED) and chosen.selects(None)


def test_session_stands_for_every_plugin_code_and_no_mypy_code() -> None:
    chosen = Selection.parse(["session"])
    assert chosen.active
    for code in selection.plugin_codes():
        assert chosen.selects(code), code
    assert not chosen.selects("arg-type")
    assert not chosen.selects("misc")
    assert not chosen.selects(None)  # a note mypy printed on its own


def test_session_covers_the_audit_codes_when_the_audit_names_them() -> None:
    assert Selection.parse(["session"], extra_codes=AUDIT_CODES).selects("session-param-unused")
    with pytest.raises(SelectionError):
        Selection.parse(["session-param-unused"])  # not a code of `check`


def test_a_parent_brings_its_sub_code_and_a_sub_code_goes_alone() -> None:
    parent = Selection.parse([NOT_FORWARDED])
    assert parent.selects(NOT_FORWARDED) and parent.selects(READ)
    alone = Selection.parse([READ])
    assert alone.selects(READ) and not alone.selects(NOT_FORWARDED)


def test_ignoring_a_parent_drops_the_sub_code_unless_it_is_selected_by_name() -> None:
    dropped = Selection.parse(["session"], [NOT_FORWARDED])
    assert not dropped.selects(NOT_FORWARDED) and not dropped.selects(READ)
    assert dropped.selects("session-nested-scope")
    kept = Selection.parse(["session", READ], [NOT_FORWARDED])
    assert kept.selects(READ) and not kept.selects(NOT_FORWARDED)
    only_sub = Selection.parse(["session"], [READ])
    assert only_sub.selects(NOT_FORWARDED) and not only_sub.selects(READ)


def test_ignore_without_select_keeps_mypy_codes() -> None:
    chosen = Selection.parse(None, ["session"])
    assert chosen.active
    assert chosen.selects("arg-type") and not chosen.selects(NOT_FORWARDED)


def test_the_same_code_selected_and_ignored_is_ignored() -> None:
    assert not Selection.parse([NOT_FORWARDED], [NOT_FORWARDED]).selects(NOT_FORWARDED)


def test_commas_repeats_and_mypy_codes() -> None:
    chosen = Selection.parse(["session-nested-scope, arg-type", "session-mismatch"])
    assert chosen.selects("arg-type") and chosen.selects("session-mismatch")
    assert chosen.selects("session-nested-scope") and not chosen.selects(NOT_FORWARDED)
    assert chosen.describe() == "--select arg-type,session-mismatch,session-nested-scope"


@pytest.mark.parametrize(
    ("select", "ignore", "expected"),
    [
        (["sesion"], None, "--select: unknown error code 'sesion'; did you mean 'session'?"),
        (None, ["session-not-forwarde"], "--ignore: unknown error code 'session-not-forwarde'; did you mean 'session-not-forwarded'?"),
        ([""], None, "--select: no error code given"),
    ],
)
def test_unknown_codes_are_one_line(select: list[str] | None, ignore: list[str] | None, expected: str) -> None:
    with pytest.raises(SelectionError) as info:
        Selection.parse(select, ignore)
    assert str(info.value) == expected
    assert "\n" not in str(info.value)


def test_argparse_helpers() -> None:
    parser = argparse.ArgumentParser(allow_abbrev=False)
    selection.add_arguments(parser)
    known, rest = parser.parse_known_args(
        ["--select", "session", "--ignore-missing-imports", "--ignore=session-mismatch", "src"]
    )
    assert rest == ["--ignore-missing-imports", "src"]
    chosen = selection.from_arguments(known)
    assert chosen.selects(NOT_FORWARDED) and not chosen.selects("session-mismatch")
