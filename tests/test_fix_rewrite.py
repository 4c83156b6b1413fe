"""The libcst rewriting of `mypy-session fix` (mypy_session/fixes/rewrite.py), edit by edit:
what changes, what is kept (layout, comments, trailing commas), and that an edit whose
position names nothing of the expected shape is not applied."""

from __future__ import annotations

import textwrap

import pytest

from mypy_session.fixes import (
    AddParam,
    Edit,
    ExtendScope,
    Import,
    MoveIntoScope,
    PassSession,
    RenameMethod,
    ReuseHeld,
)
from mypy_session.fixes.rewrite import rewrite

P = "m.py"


def apply(source: str, *edits: Edit) -> tuple[str, int]:
    result = rewrite(textwrap.dedent(source).lstrip("\n"), list(edits))
    return result.code, len(result.applied)


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


# -- passing the session -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("f(a, b)\n", "f(a, b, session=s)\n"),
        ("f()\n", "f(session=s)\n"),
        ("await_it = f(a)  # keep me\n", "await_it = f(a, session=s)  # keep me\n"),
        # a wrapped call with a trailing comma keeps one item per line and the comma
        (
            "f(\n    a,  # about a\n    b,  # about b\n)\n",
            "f(\n    a,  # about a\n    b,  # about b\n    session=s,\n)\n",
        ),
        # wrapped without a trailing comma: none is added
        ("f(\n    a,\n    b\n)\n", "f(\n    a,\n    b,\n    session=s\n)\n"),
        ("f(\n    a\n)\n", "f(\n    a,\n    session=s\n)\n"),
        # a comment after the last argument stays with it
        ("f(a,\n  b  # about b\n)\n", "f(a,\n  b,  # about b\n  session=s\n)\n"),
    ],
)
def test_pass_session_keeps_the_layout(before: str, after: str) -> None:
    code, applied = apply(before, PassSession(P, 1, before.index("f"), "session", "s"))
    assert (code, applied) == (after, 1)


def test_pass_session_by_the_callee_parameter_name_and_an_attribute() -> None:
    code, applied = apply("x = repo.get(1)\n", PassSession(P, 1, 4, "db", "self.session"))
    assert (code, applied) == ("x = repo.get(1, db=self.session)\n", 1)


def test_pass_session_in_an_await() -> None:
    code, applied = apply("async def g():\n    await f(day)\n", PassSession(P, 2, 10, "session", "session"))
    assert code == "async def g():\n    await f(day, session=session)\n" and applied == 1


def test_pass_session_twice_changes_nothing() -> None:
    code, applied = apply("f(a, session=s)\n", PassSession(P, 1, 0, "session", "s"))
    assert (code, applied) == ("f(a, session=s)\n", 1)


def test_pass_session_leaves_a_different_keyword_and_a_splat() -> None:
    assert apply("f(a, session=other)\n", PassSession(P, 1, 0, "session", "s"))[1] == 0
    assert apply("f(*args)\n", PassSession(P, 1, 0, "session", "s"))[1] == 0


def test_pass_session_at_a_position_with_no_call_is_not_applied() -> None:
    assert apply("x = 1\nf(a)\n", PassSession(P, 1, 0, "session", "s")) == ("x = 1\nf(a)\n", 0)


def test_mismatch_replaces_the_keyword_or_the_one_positional_argument() -> None:
    code, _ = apply("f(a, db=session)  # why\n", PassSession(P, 1, 0, "db", "active", replace="session"))
    assert code == "f(a, db=active)  # why\n"
    code, _ = apply("f(a, -1, None)\n", PassSession(P, 1, 0, "db", "session", replace="None"))
    assert code == "f(a, -1, session)\n"
    # two arguments read the same: which one is the session is not known
    assert apply("f(None, None)\n", PassSession(P, 1, 0, "db", "s", replace="None"))[1] == 0


# -- parameters ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "annotation", "after"),
    [
        ("def f():\n    pass\n", "Session | None", "def f(session: Session | None = None):\n    pass\n"),
        ("def f(a, b=1):\n    pass\n", None, "def f(a, b=1, session=None):\n    pass\n"),
        ("def f(a, *args, **kw):\n    pass\n", None, "def f(a, *args, session=None, **kw):\n    pass\n"),
        ("def f(a, **kw):\n    pass\n", None, "def f(a, session=None, **kw):\n    pass\n"),
        ("def f(a, *, b=1):\n    pass\n", None, "def f(a, *, b=1, session=None):\n    pass\n"),
        (
            "def f(\n    a: int,\n    b: int,\n) -> None:\n    pass\n",
            "Optional[Session]",
            "def f(\n    a: int,\n    b: int,\n    session: Optional[Session] = None,\n) -> None:\n    pass\n",
        ),
    ],
)
def test_add_param(before: str, annotation: str | None, after: str) -> None:
    assert apply(before, AddParam(P, "f", "session", annotation)) == (after, 1)


def test_add_param_to_a_method_by_qualified_name_only() -> None:
    source = """
        def m(self):
            pass

        class C:
            @staticmethod
            def m(x):
                pass
    """
    code, applied = apply(source, AddParam(P, "C.m", "session", None))
    assert applied == 1
    assert "def m(self):" in code and "def m(x, session=None):" in code


def test_add_param_behind_an_unknown_decorator_or_over_an_existing_name_is_not_applied() -> None:
    assert apply("@cache\ndef f(a):\n    pass\n", AddParam(P, "f", "session", None))[1] == 0
    assert apply("def f(session):\n    pass\n", AddParam(P, "f", "session", None))[1] == 0
    assert apply("@ReadOnly\ndef f():\n    pass\n", AddParam(P, "f", "session", None))[1] == 1


# -- scopes --------------------------------------------------------------------------------


def test_reuse_an_optional_held_session_is_pattern_b() -> None:
    source = "def f(session=None):\n    with scope() as session:  # why\n        g(session)\n"
    code, applied = apply(source, ReuseHeld(P, 2, 9, "session", True))
    assert applied == 1
    assert code == (
        "def f(session=None):\n"
        "    with (nullcontext(session) if session is not None else scope()) as session:  # why\n"
        "        g(session)\n"
    )


def test_reuse_async() -> None:
    source = "async def f(session=None):\n    async with scope() as s:\n        await g(s)\n"
    code, _ = apply(source, ReuseHeld(P, 2, 15, "session", True))
    assert "async with (nullcontext(session) if session is not None else scope()) as s:" in code


def test_reuse_a_held_session_under_its_own_name_unwraps_the_with() -> None:
    source = """
        def f(session):
            x = 1

            # about the scope
            with scope() as session:  # trailing
                g(session)
                h(session)
            done()
    """
    code, applied = apply(source, ReuseHeld(P, 5, 9, "session", False))
    assert applied == 1
    assert code == dedent(
        """
        def f(session):
            x = 1

            # about the scope
            # trailing
            g(session)
            h(session)
            done()
        """
    )


def test_reuse_under_another_name_is_nullcontext() -> None:
    code, _ = apply("with scope() as s:\n    g(s)\n", ReuseHeld(P, 1, 5, "self.session", False))
    assert code == "with nullcontext(self.session) as s:\n    g(s)\n"


def test_reuse_an_opener_that_is_not_a_with_item_is_not_applied() -> None:
    assert apply("s = Session()\n", ReuseHeld(P, 1, 4, "session", False))[1] == 0


def test_commit_becomes_flush_and_nothing_else_does() -> None:
    assert apply("session.commit()  # x\n", RenameMethod(P, 1, 0, "commit", "flush")) == (
        "session.flush()  # x\n",
        1,
    )
    assert apply("session.rollback()\n", RenameMethod(P, 1, 0, "commit", "flush"))[1] == 0


# -- moving a load into its scope ------------------------------------------------------------


def test_move_the_load_and_what_is_between_into_the_scope() -> None:
    source = """
        def retire(slug):
            # loaded first
            item = get(slug)  # planted
            if not item.active:
                return

            with scope() as session:
                item.active = False
            done()
    """
    edits = (MoveIntoScope(P, 3, 11, 7, "session", "session"), PassSession(P, 3, 11, "session", "session"))
    code, applied = apply(source, *edits)
    assert applied == 2
    assert code == dedent(
        """
        def retire(slug):
            # loaded first
            with scope() as session:
                item = get(slug, session=session)  # planted
                if not item.active:
                    return
                item.active = False
            done()
        """
    )


def test_move_is_refused_where_the_code_between_uses_the_scope_name() -> None:
    source = """
        def retire(slug, session):
            item = get(slug)
            log(session)
            with scope() as session:
                item.active = False
    """
    assert apply(source, MoveIntoScope(P, 2, 11, 4, "session", "session"))[1] == 0


def test_move_is_refused_where_the_scope_needs_a_name_assigned_between() -> None:
    source = """
        def retire(slug):
            item = get(slug)
            engine = make()
            with scope(engine) as session:
                item.active = False
    """
    assert apply(source, MoveIntoScope(P, 2, 11, 4, "session", "session"))[1] == 0


def test_extend_a_scope_to_the_end_of_its_block() -> None:
    source = """
        def job(session=None):
            with scope() as session:
                ids = load(session)

            # one by one
            return [run(i, session=session) for i in ids]
    """
    code, applied = apply(source, ExtendScope(P, 2, 9))
    assert applied == 1
    assert code == dedent(
        """
        def job(session=None):
            with scope() as session:
                ids = load(session)

                # one by one
                return [run(i, session=session) for i in ids]
        """
    )
    assert apply("with scope() as s:\n    pass\n", ExtendScope(P, 1, 5))[1] == 0  # nothing after it


# -- imports ------------------------------------------------------------------------------


def test_imports_are_added_once_and_only_with_another_edit() -> None:
    source = "from contextlib import nullcontext\n\nsession.commit()\n"
    edits = (
        RenameMethod(P, 3, 0, "commit", "flush"),
        Import(P, "contextlib", "nullcontext"),
        Import(P, "sqlalchemy.orm", "Session"),
    )
    code, _ = apply(source, *edits)
    assert code.count("nullcontext") == 1
    assert "from sqlalchemy.orm import Session" in code
    assert apply("x = 1\n", Import(P, "sqlalchemy.orm", "Session")) == ("x = 1\n", 0)


def test_a_file_that_does_not_parse_raises() -> None:
    import libcst

    with pytest.raises(libcst.ParserSyntaxError):
        rewrite("def f(:\n", [RenameMethod(P, 1, 0, "commit", "flush")])


def test_a_fix_touching_a_file_that_does_not_parse_is_dropped_everywhere() -> None:
    """A chain across two files: one does not parse for libcst, so the other is not
    changed either, and the file is named."""
    from mypy_session.commands.fix import _settle
    from mypy_session.fixes import Fix
    from mypy_session.recorder import Finding

    finding = Finding("session-not-forwarded", "good.py", 1, 0, "m", "", "mark")
    fix = Fix(True, [PassSession("bad.py", 1, 0, "session", "s"), PassSession("good.py", 1, 0, "session", "s")])
    before = {"bad.py": "def f(:\n", "good.py": "f(a)\n"}
    kept, texts, untouched = _settle([(finding, fix)], before, {})
    assert kept == []
    assert untouched["bad.py"].startswith("does not parse")
    assert texts.get("good.py", before["good.py"]) == "f(a)\n"
