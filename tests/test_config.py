"""Configuration (SPEC section 6): read from pyproject.toml or an INI file, every key
validated; a bad key or value stops the run with one line naming it and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from mypy_session.config import ConfigError, load_config
from tests.helpers import DB_MODULE, run, write

CALLER = """
from sqlalchemy.orm import Session
def lookup(key: int, db: Session | None = None) -> int:
    return key
def f(db: Session) -> None:
    lookup(1)
"""

BAD_TOML = [
    ("unknown key", 'sesion_types = ["a.B"]', "'sesion_types'"),
    ("list expected", 'session_param_names = "db"', "'session_param_names': expected a list"),
    ("not identifiers", 'session_param_names = ["my-db"]', "'session_param_names'"),
    ("empty names", "session_param_names = []", "'session_param_names': expected at least one"),
    ("dotted names", "scope_factories = [1]", "'scope_factories': expected a list"),
    ("bad class name", 'session_types = ["a b"]', "'session_types'"),
    ("commit methods", "commit_methods = {a = 1}", "'commit_methods'"),
    ("missing stub dir", 'marker_stubs = ["no-such-dir"]', "'marker_stubs': expected an existing directory"),
    ("guarded shape", 'guarded = ["x"]', "'guarded': expected a table"),
    ("guarded key", 'guarded = {"Foo" = ["m"]}', "'guarded': expected keys of the form"),
    ("guarded value", 'guarded = {"m.C.a" = "m"}', "'guarded': expected for 'm.C.a' a list"),
    ("baseline type", "baseline = 3", "'baseline': expected a file path"),
]


@pytest.mark.parametrize(("setting", "needle"), [(s, n) for _, s, n in BAD_TOML], ids=[i for i, _, _ in BAD_TOML])
def test_bad_toml_setting_stops_the_run(tmp_path: Path, setting: str, needle: str) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": f"""
                [tool.mypy]
                plugins = ["mypy_session.plugin"]
                [tool.mypy_session]
                {setting}
            """,
            "m.py": "x = 1\n",
        },
    )
    result = run(tmp_path, "m.py")
    assert result.status == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert needle in lines[0]
    assert lines[0].startswith("mypy-session: error: ")
    assert "[tool.mypy_session]" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


BAD_INI = [
    ("unknown key", "colour = red", "'colour'"),
    ("not identifiers", "session_param_names = a.b", "'session_param_names'"),
    ("missing stub dir", "marker_stubs = stubs", "'marker_stubs'"),
]


@pytest.mark.parametrize(("setting", "needle"), [(s, n) for _, s, n in BAD_INI], ids=[i for i, _, _ in BAD_INI])
@pytest.mark.parametrize("filename", ["mypy.ini", "setup.cfg"])
def test_bad_ini_setting_stops_the_run(tmp_path: Path, filename: str, setting: str, needle: str) -> None:
    write(
        tmp_path,
        {
            filename: f"""
                [mypy]
                plugins = mypy_session.plugin
                [mypy_session]
                {setting}
            """,
            "m.py": "x = 1\n",
        },
    )
    result = run(tmp_path, "m.py")
    assert result.status == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and "[mypy_session]" in lines[0], result.stderr


def test_unreadable_toml_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.mypy_session\nx=", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / "pyproject.toml"))
    assert "\n" not in str(info.value)


def test_toml_settings_take_effect(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.mypy]
                plugins = ["mypy_session.plugin"]
                [tool.mypy_session]
                session_param_names = ["session", "db"]
            """,
            "m.py": CALLER,
        },
    )
    result = run(tmp_path, "m.py")
    assert result.status == 1, result.stdout + result.stderr
    assert result.errors == [
        'm.py:5: error: Call to "lookup" does not forward the held session "db"; '
        "pass db=db  [session-not-forwarded]"
    ]


def test_ini_guarded_keys_keep_their_case(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mypy.ini": """
                [mypy]
                [mypy_session]
                session_param_names = session, db
                scope_factories = app.db.session_scope
                [mypy_session.guarded]
                app.models.FinishedUnit.inventory_count = app.services.inventory, app.admin
            """,
        },
    )
    config = load_config(str(tmp_path / "mypy.ini"))
    assert config.session_param_names == {"session", "db"}
    assert "app.db.session_scope" in config.scope_factories
    assert config.guarded == {"app.models.FinishedUnit.inventory_count": ("app.services.inventory", "app.admin")}


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    write(tmp_path, {"conf/stubs/x.pyi": "", "conf/pyproject.toml": '[tool.mypy_session]\nmarker_stubs = ["stubs"]\nbaseline = "base.json"\n'})
    config = load_config(str(tmp_path / "conf" / "pyproject.toml"))
    assert config.marker_stubs == (str((tmp_path / "conf" / "stubs").resolve()),)
    assert config.baseline == str((tmp_path / "conf" / "base.json").resolve())


def test_defaults_without_a_config_file() -> None:
    config = load_config(None)
    assert config.session_param_names == {"session"}
    assert "sqlalchemy.orm.session.Session" in config.session_types
    assert "session_scope" in config.scope_factory_names


def test_changing_settings_invalidates_the_cache(tmp_path: Path) -> None:
    untyped = "def lookup(key, db=None):\n    return key\n\ndef f(key, db=None):\n    lookup(key)\n"
    files = {"m.py": untyped, "db.py": DB_MODULE}
    toml = """
        [tool.mypy]
        plugins = ["mypy_session.plugin"]
        check_untyped_defs = true
        [tool.mypy_session]
        session_param_names = {names}
    """
    write(tmp_path, {**files, "pyproject.toml": toml.format(names='["session"]')})
    assert run(tmp_path, "m.py").errors == []
    write(tmp_path, {"pyproject.toml": toml.format(names='["session", "db"]')})
    assert len(run(tmp_path, "m.py").errors) == 1  # not replayed from the stale cache
