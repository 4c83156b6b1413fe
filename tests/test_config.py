"""Configuration (SPEC section 6): read from pyproject.toml or an INI file, every key
validated; a bad key or value stops the run with one line naming it and exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from mypy_session.config import ConfigError, load_config
from tests.helpers import DB_MODULE, MYPY_2, Result, run, write

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
    ("types not a list", 'session_types = "a.B"', "'session_types': expected a list"),
    ("bad class name", 'session_types = ["a b"]', "'session_types'"),
    ("commit methods", "commit_methods = {a = 1}", "'commit_methods'"),
    ("dotted commit method", 'commit_methods = ["session.commit"]', "'commit_methods': expected a list of method names"),
    ("stub dirs not a list", 'marker_stubs = "stubs"', "'marker_stubs': expected a list of directory paths"),
    ("missing stub dir", 'marker_stubs = ["no-such-dir"]', "'marker_stubs': expected an existing directory"),
    ("stub dir is a file", 'marker_stubs = ["m.py"]', "'marker_stubs': expected an existing directory, 'm.py'"),
    ("guarded shape", 'guarded = ["x"]', "'guarded': expected a table"),
    ("guarded key", 'guarded = {"Foo" = ["m"]}', "'guarded': expected keys of the form"),
    ("guarded value", 'guarded = {"m.C.a" = "m"}', "'guarded': expected for 'm.C.a' a list"),
    ("baseline type", "baseline = 3", "'baseline': expected a file path"),
    ("empty baseline", 'baseline = ""', "'baseline': expected a file path"),
    ("switch as a string", 'legacy_model_typing = "no"', "'legacy_model_typing': expected true or false, got 'no'"),
    ("switch as a number", "legacy_model_typing = 0", "'legacy_model_typing': expected true or false, got 0"),
]


def assert_stops_with_one_line(result: Result, *needles: str) -> None:
    """Exit status 2 and one line on stderr, from us, naming the key or the file; no
    traceback, no mypy internal error (SPEC sections 6 and 8)."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output and "INTERNAL ERROR" not in output, output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("mypy-session: error: "), lines[0]
    for needle in needles:
        assert needle in lines[0]
    assert result.status == 2, output


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
    assert_stops_with_one_line(result, needle, "[tool.mypy_session]")


BAD_INI = [
    ("unknown key", "colour = red", "'colour'"),
    ("not identifiers", "session_param_names = a.b", "'session_param_names'"),
    ("bad class name", "session_types = a b", "'session_types'"),
    ("dotted commit method", "commit_methods = session.commit", "'commit_methods'"),
    ("missing stub dir", "marker_stubs = stubs", "'marker_stubs'"),
    ("stub dir is a file", "marker_stubs = m.py", "'marker_stubs': expected an existing directory"),
    # INI has no tables: `guarded` is a section of its own, [mypy_session.guarded]
    ("guarded as a key", "guarded = m.C.a", "'guarded': expected a table"),
    ("empty baseline", "baseline =", "'baseline': expected a file path"),
    ("switch not a word for one", "legacy_model_typing = maybe", "'legacy_model_typing': expected true or false, got 'maybe'"),
    ("switch as a list", "legacy_model_typing = true, false", "'legacy_model_typing': expected true or false"),
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
    assert_stops_with_one_line(result, needle, "[mypy_session]")


def write_files(root: Path, files: dict[str, str | bytes | None]) -> None:
    """`write`, plus raw bytes (a file that is not UTF-8) and None (a directory where a
    file is expected: a file that cannot be read, even by root)."""
    for name, content in files.items():
        path = root / name
        if content is None:
            path.mkdir(parents=True)
        elif isinstance(content, bytes):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
        else:
            write(root, {name: content})


WITH_PLUGIN = """
    [tool.mypy]
    plugins = ["mypy_session.plugin"]
    [tool.mypy_session]
"""
WITH_STUBS = WITH_PLUGIN + '    marker_stubs = ["stubs"]\n'
WITH_BASELINE = WITH_PLUGIN + '    baseline = "baseline.json"\n'
# Without the plugin: `mypy-session check` adds it.
PLAIN_TOML = "[tool.mypy]\nwarn_unused_ignores = true\n"
SOURCE = {"m.py": "print(1)\n"}
NEEDS_MYPY_2 = pytest.mark.skipif(not MYPY_2, reason="-n is new in mypy 2")

# (files, command line, what the one line names). The command line starts with "check" for
# `mypy-session check`, which reads the config itself (to add the plugin where it is not
# listed). Plain mypy never loads the plugin from a config it cannot parse: see
# test_mypy_reports_a_config_it_cannot_parse_itself.
BAD_INPUT = [
    pytest.param(
        {"pyproject.toml": WITH_STUBS, "stubs/legacy/billing.pyi": "def charge(:\n", **SOURCE},
        ("m.py",),
        ("marker stub", "billing.pyi:1: does not parse"),
        id="marker stub does not parse",
    ),
    pytest.param(
        {"pyproject.toml": WITH_STUBS, "stubs/legacy/billing.pyi": b"# \xff\ndef charge(): ...\n", **SOURCE},
        ("m.py",),
        ("marker stub", "billing.pyi: cannot read it"),
        id="marker stub not UTF-8",
    ),
    pytest.param(
        {"pyproject.toml": WITH_STUBS, "stubs/legacy/billing.pyi": None, **SOURCE},
        ("m.py",),
        ("marker stub", "billing.pyi: cannot read it"),
        id="marker stub unreadable",
    ),
    pytest.param(
        {"pyproject.toml": WITH_BASELINE, "baseline.json": "{not json", **SOURCE},
        ("m.py",),
        ("baseline.json", "cannot read the baseline"),
        id="baseline not JSON",
    ),
    pytest.param(
        {"pyproject.toml": WITH_BASELINE, "baseline.json": "[]", **SOURCE},
        ("m.py",),
        ("baseline.json", "not a mypy-session baseline"),
        id="baseline of another shape",
    ),
    pytest.param(
        {"pyproject.toml": 'tool.mypy_session = 1\n[tool.mypy]\nplugins = ["mypy_session.plugin"]\n', **SOURCE},
        ("m.py",),
        ("pyproject.toml", "[tool.mypy_session] must be a table"),
        id="section not a table",
    ),
    pytest.param(
        {"conf.TOML": WITH_PLUGIN + "    colour = 1\n", **SOURCE},
        ("--config-file", "conf.TOML", "m.py"),
        ("conf.TOML", "'colour'"),
        id="unknown key in a .TOML config",
        # mypy reads any name ending in .toml, any case, as TOML; so does the plugin
        # (it once read conf.TOML as INI and ran on the defaults)
    ),
    pytest.param(
        {"pyproject.toml": WITH_PLUGIN + '    colour = "red"\n', "n.py": "import m\n", **SOURCE},
        ("-n", "2", "m.py", "n.py"),
        ("pyproject.toml", "'colour'"),
        id="unknown key under -n 2",
        # the coordinator and each worker load the plugin; only the coordinator speaks
        marks=NEEDS_MYPY_2,
    ),
    pytest.param(
        {"pyproject.toml": WITH_STUBS, "stubs/legacy/billing.pyi": "def charge(:\n", "n.py": "import m\n", **SOURCE},
        ("-n", "2", "m.py", "n.py"),
        ("billing.pyi:1: does not parse",),
        id="marker stub does not parse under -n 2",
        # the project's stubs are parsed at plugin load, in the coordinator (once they
        # were parsed at the first hook, in a worker: INTERNAL ERROR, worker disconnected)
        marks=NEEDS_MYPY_2,
    ),
    pytest.param(
        {"pyproject.toml": WITH_PLUGIN + '    colour = "red"\n', **SOURCE},
        ("check", "m.py"),
        ("pyproject.toml", "'colour'"),
        id="check: unknown key",
    ),
    pytest.param(
        {"pyproject.toml": PLAIN_TOML + "[tool.mypy_session\n", **SOURCE},
        ("check", "m.py"),
        ("pyproject.toml",),
        id="check: malformed TOML",
        # `check` reads the config mypy would use before anything else (mypy's own
        # message was once swallowed and the stand-in config ran on defaults)
    ),
    pytest.param(
        {"mypy.ini": "[mypy]\nwarn_unused_ignores = True\n[mypy_session\n", **SOURCE},
        ("check", "m.py"),
        ("mypy.ini",),
        id="check: malformed INI",
    ),
    pytest.param(
        {"pyproject.toml": PLAIN_TOML.encode() + b'[tool.mypy_session]\nbaseline = "\xff"\n', **SOURCE},
        ("check", "m.py"),
        ("pyproject.toml",),
        id="check: config not UTF-8",
        # mypy's config reader would raise UnicodeDecodeError through the command
    ),
    pytest.param(
        {"cfg.toml": None, **SOURCE},
        ("check", "--config-file", "cfg.toml", "m.py"),
        ("cfg.toml",),
        id="check: config unreadable",
    ),
    pytest.param(
        {"pyproject.toml": PLAIN_TOML.encode() + b'[tool.mypy_session]\nbaseline = "\xff"\n', **SOURCE},
        ("audit", "m.py"),
        ("pyproject.toml",),
        id="audit: config not UTF-8",
    ),
    pytest.param(
        {"pyproject.toml": WITH_PLUGIN + '    colour = "red"\n', **SOURCE},
        ("baseline", "--file", "b.json", "m.py"),
        ("pyproject.toml", "'colour'"),
        id="baseline: unknown key",
    ),
]


@pytest.mark.parametrize(("files", "args", "needles"), BAD_INPUT)
def test_bad_input_stops_the_run(
    tmp_path: Path, files: dict[str, str | bytes | None], args: tuple[str, ...], needles: tuple[str, ...]
) -> None:
    write_files(tmp_path, files)
    ours = args[0] in {"check", "audit", "callers", "baseline"}
    result = run(tmp_path, *args, module="mypy_session" if ours else "mypy")
    assert_stops_with_one_line(result, *needles)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("pyproject.toml", '[tool.mypy]\nplugins = ["mypy_session.plugin"]\n[tool.mypy_session\n'),
        ("mypy.ini", "[mypy]\nplugins = mypy_session.plugin\n[mypy_session\n"),
    ],
)
def test_mypy_reports_a_config_it_cannot_parse_itself(tmp_path: Path, name: str, text: str) -> None:
    """Where the config does not parse, mypy says so itself and goes on without it, so it
    never loads the plugin: nothing of ours runs (that is mypy's contract, not ours)."""
    write(tmp_path, {name: text, **SOURCE})
    result = run(tmp_path, "m.py")
    assert "Traceback" not in result.stderr
    assert "mypy-session" not in result.stdout + result.stderr
    assert any(line.startswith(name) for line in result.stderr.splitlines()), result.stderr


# The plugin's own reader (load_config), for what mypy lets through to it or what the
# commands hand it: always ConfigError, one line, naming the file.
UNREADABLE = [
    pytest.param("pyproject.toml", "[tool.mypy_session\nx=", id="malformed TOML"),
    pytest.param("mypy.ini", "[mypy_session\nx", id="malformed INI"),
    pytest.param("setup.cfg", "[mypy_session]\nbaseline = a\nbaseline = b\n", id="duplicate INI key"),
    pytest.param(
        "pyproject.toml",
        b'[tool.mypy_session]\nbaseline = "\xff"\n',
        id="TOML not UTF-8",
    ),
    pytest.param("mypy.ini", b"[mypy_session]\nbaseline = \xff\n", id="INI not UTF-8"),
    pytest.param("pyproject.toml", None, id="TOML unreadable"),
    pytest.param(
        "mypy.ini",
        None,
        id="INI unreadable",
        # configparser.read() skips a file it cannot open: the defaults, silently
    ),
]


@pytest.mark.parametrize(("name", "content"), UNREADABLE)
def test_unreadable_config_is_one_line(tmp_path: Path, name: str, content: str | bytes | None) -> None:
    write_files(tmp_path, {name: content})
    with pytest.raises(ConfigError) as info:
        load_config(str(tmp_path / name))
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path / name}: cannot read the file: "), message


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


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", "[tool.mypy_session]\nlegacy_model_typing = false\n", False),
        ("pyproject.toml", "[tool.mypy_session]\nlegacy_model_typing = true\n", True),
        ("mypy.ini", "[mypy_session]\nlegacy_model_typing = False\n", False),
        ("setup.cfg", "[mypy_session]\nlegacy_model_typing = off\n", False),
        ("mypy.ini", "[mypy_session]\nlegacy_model_typing = yes\n", True),
        ("mypy.ini", "[mypy_session]\n", True),
    ],
)
def test_legacy_model_typing_switch(tmp_path: Path, name: str, text: str, expected: bool) -> None:
    write(tmp_path, {name: text})
    config = load_config(str(tmp_path / name))
    assert config.legacy_model_typing is expected
    assert config.to_json()["legacy_model_typing"] is expected


def test_defaults_without_a_config_file() -> None:
    config = load_config(None)
    assert config.legacy_model_typing is True
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


def test_marker_stub_broken_after_a_warm_run_stops_the_run(tmp_path: Path) -> None:
    """A stub's fingerprint is in the cache key of the module it marks only: when that
    module is not part of the run, the warm cache holds and no hook would read the stub."""
    stub = "stubs/legacy/billing.pyi"
    write(tmp_path, {"pyproject.toml": WITH_STUBS, stub: "def charge() -> None: ...\n", **SOURCE})
    assert run(tmp_path, "m.py").status == 0
    write(tmp_path, {stub: "def charge(:\n"})
    assert_stops_with_one_line(run(tmp_path, "m.py"), "billing.pyi:1: does not parse")


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("pyproject.toml", "[tool.mypy_session]\nany_receiver_calls = false\n", False),
        ("mypy.ini", "[mypy_session]\nany_receiver_calls = no\n", False),
        ("mypy.ini", "[mypy_session]\n", True),
    ],
)
def test_any_receiver_calls_switch(tmp_path: Path, name: str, text: str, expected: bool) -> None:
    write(tmp_path, {name: text})
    config = load_config(str(tmp_path / name))
    assert config.any_receiver_calls is expected


def test_any_receiver_calls_not_a_switch(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": "[mypy_session]\nany_receiver_calls = sometimes\n"})
    with pytest.raises(ConfigError, match="'any_receiver_calls': expected true or false, got 'sometimes'"):
        load_config(str(tmp_path / "mypy.ini"))
