"""benchmarks/census.py: the removal of a forwarded session and the batching (the mypy
runs themselves are exercised on real code, see benchmarks/README.md)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import census  # noqa: E402


SOURCE = textwrap.dedent(
    """
    def f(session):
        get(1, session=session)
        get(session=session, x=1)
        get(
            1,
            session=self.session,
        )
        get(a(session=session), session=session)
        get(1, session=None)

    get(1, session=session)
    """
).lstrip()


def _sites(tmp_path: Path) -> list[census.Site]:
    (tmp_path / "m.py").write_text(SOURCE, encoding="utf-8")
    return census._sites(tmp_path, tmp_path / "m.py", frozenset({"session"}))


def test_sites_are_forwarded_names_inside_functions(tmp_path: Path) -> None:
    sites = _sites(tmp_path)
    assert [(s.line, s.callee, s.text) for s in sites] == [
        (2, "get", "session=session"),
        (3, "get", "session=session"),
        (4, "get", "session=self.session"),
        (8, "get", "session=session"),
        (8, "a", "session=session"),
    ]


def test_each_removal_leaves_valid_code_without_the_keyword(tmp_path: Path) -> None:
    sites = _sites(tmp_path)
    edited = census._remove(SOURCE, sites)
    assert "session=session" not in edited.split("\n\n")[0].replace("session=None", "")
    assert "get(1)" in edited and "get(x=1)" in edited
    compile(edited, "m.py", "exec")
    for site in sites:
        one = census._remove(SOURCE, [site])
        compile(one, "m.py", "exec")
        assert one.count(site.text) == SOURCE.count(site.text) - 1


def test_batches_hold_one_site_per_function_and_line(tmp_path: Path) -> None:
    sites = _sites(tmp_path)
    census._plan(sites, per_function=True)
    assert [s.batch for s in sites] == [0, 1, 2, 3, 4]
    census._plan(sites)
    assert [s.batch for s in sites] == [0, 0, 0, 0, 1]  # the nested call on line 8 apart
    two_functions = [
        census.Site("m.py", 2, "f", "get", "session", "session=session"),
        census.Site("m.py", 9, "g", "get", "session", "session=session"),
        census.Site("m.py", 10, "g", "get", "session", "session=session"),
    ]
    census._plan(two_functions, per_function=True)
    assert [s.batch for s in two_functions] == [0, 0, 1]


MULTILINE = textwrap.dedent(
    """
    def f(session):
        get(
            1,
            session=session
        )
        get(1,
            session=session)
        get(
            session=session,
            x=1,
        )
        get(1, session=session)
    """
).lstrip()


def test_removals_keep_every_line_where_it_was(tmp_path: Path) -> None:
    # A keyword on its own line after `1,` once took the line break with the comma, so
    # every later site of the file was read one line too high (and counted as missed).
    (tmp_path / "m.py").write_text(MULTILINE, encoding="utf-8")
    sites = census._sites(tmp_path, tmp_path / "m.py", frozenset({"session"}))
    assert [s.line for s in sites] == [2, 6, 8, 12]
    for chosen in ([sites[0]], [sites[1]], sites):
        edited = census._remove(MULTILINE, chosen)
        compile(edited, "m.py", "exec")
        assert edited.count("\n") == MULTILINE.count("\n")
        assert edited.splitlines()[11].strip().startswith("get(1")
    assert "session" not in census._remove(MULTILINE, sites).split(":", 1)[1]


def test_calls_with_a_splat_are_marked_and_overload_errors_count_as_required(tmp_path: Path) -> None:
    source = textwrap.dedent(
        """
        def f(session, *args, **kwargs):
            get(session=session, **kwargs)
            get(*args, session=session)
            get(1, session=session)
        """
    ).lstrip()
    (tmp_path / "m.py").write_text(source, encoding="utf-8")
    sites = census._sites(tmp_path, tmp_path / "m.py", frozenset({"session"}))
    assert [(s.line, s.splat) for s in sites] == [(2, True), (3, True), (4, False)]
    # No overload item left once the session is gone: mypy's own error, as call-arg is.
    assert census.REQUIRED_CODES == {"call-arg", "call-overload"}
