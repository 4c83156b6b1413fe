"""`mypy-session check`: mypy with the plugin on, same output and exit status as mypy."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, run, write

SERVICE = """
from sqlalchemy.orm import Session
from db import session_scope

def lookup(key: int, session: Session | None = None) -> int:
    return key

def restock() -> None:
    with session_scope() as session:
        lookup(1)
"""
FINDING = (
    'svc.py:9: error: Call to "lookup" does not forward the held session "session"; '
    "pass session=session  [session-not-forwarded]"
)


@pytest.mark.parametrize(
    ("name", "config"),
    [
        ("pyproject.toml", "[tool.mypy]\nstrict = true\n"),
        ("mypy.ini", "[mypy]\nstrict = True\n"),
        ("setup.cfg", "[mypy]\nstrict = True\n"),
        (None, ""),
    ],
)
def test_check_enables_the_plugin_where_config_does_not(tmp_path: Path, name: str | None, config: str) -> None:
    write(tmp_path, {"svc.py": SERVICE, "db.py": DB_MODULE})
    if name:
        write(tmp_path, {name: config})
    plain = run(tmp_path, "svc.py")
    assert plain.status == 0, plain.stdout
    result = run(tmp_path, "check", "svc.py", module="mypy_session")
    assert result.status == 1
    assert result.errors == [FINDING]
    assert "Found 1 error in 1 file" in result.stdout
    # the stand-in config is gone, the user's is untouched
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".mypy-session")) == []
    if name:
        assert (tmp_path / name).read_text() == config


def test_check_matches_mypy_when_plugin_is_configured(tmp_path: Path) -> None:
    write(tmp_path, {"svc.py": SERVICE, "db.py": DB_MODULE, "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n"})
    direct = run(tmp_path, "svc.py")
    via_cli = run(tmp_path, "check", "svc.py", module="mypy_session")
    assert (via_cli.status, via_cli.stdout) == (direct.status, direct.stdout) == (1, direct.stdout)
    assert direct.errors == [FINDING]


def test_explicit_config_file_is_honoured(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "svc.py": SERVICE.replace("session", "db").replace("db_scope", "session_scope"),
            "db.py": DB_MODULE,
            "conf/app.toml": '[tool.mypy]\nwarn_unused_ignores = true\n[tool.mypy_session]\nsession_param_names = ["db"]\n',
        },
    )
    result = run(tmp_path, "check", "--config-file", "conf/app.toml", "svc.py", module="mypy_session")
    assert result.status == 1, result.stdout + result.stderr
    assert len(result.errors) == 1


def test_clean_code_exits_zero_and_bad_args_exit_two(tmp_path: Path) -> None:
    write(tmp_path, {"ok.py": "x: int = 1\n"})
    assert run(tmp_path, "check", "ok.py", module="mypy_session").status == 0
    bad = run(tmp_path, "check", "--no-such-flag", "ok.py", module="mypy_session")
    assert bad.status == 2
    assert "Traceback" not in bad.stderr


def test_usage_without_a_command(tmp_path: Path) -> None:
    result = run(tmp_path, module="mypy_session")
    assert result.status == 2
    assert "check" in result.stdout


def test_dmypy_survives_codes_in_the_global_config(tmp_path: Path) -> None:
    """`dmypy run` used to crash with KeyError when the config names a plugin code
    globally (mypy resolves the codes before the daemon loads plugins): the installed
    `mypy_session_codes.pth` registers them when dmypy's client starts. Plain dmypy, the
    editors' `python -m mypy.dmypy`, and `mypy-session dmypy` agree."""
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.mypy]\nplugins = ["mypy_session.plugin"]\n'
                'disable_error_code = ["session-read-not-forwarded"]\n'
            ),
            "svc.py": SERVICE,
            "db.py": DB_MODULE,
        },
    )
    try:
        for module, args in (
            ("mypy.dmypy", ("run", "--", "svc.py")),
            ("mypy.dmypy", ("check", "svc.py")),
            ("mypy_session", ("dmypy", "run", "--", "svc.py")),
        ):
            result = run(tmp_path, *args, module=module)
            assert "KeyError" not in result.stdout + result.stderr
            assert result.errors == [FINDING], result.stdout + result.stderr
            assert result.status == 1
        run(tmp_path, "stop", module="mypy.dmypy")
        # A code named on the command line: the daemon restarts with the new options.
        again = run(tmp_path, "run", "--", "svc.py", "--enable-error-code", "session-not-analysed", module="mypy.dmypy")
        assert again.errors == [FINDING], again.stdout + again.stderr
    finally:
        run(tmp_path, "kill", module="mypy.dmypy")


def test_codes_startup_module_is_installed_and_cheap() -> None:
    """The .pth file and its module are installed (regular and editable installs alike),
    and a Python process that never runs dmypy imports neither mypy nor the plugin."""
    probe = subprocess.run(
        [sys.executable, "-c", "import sys; print('mypy' in sys.modules, 'mypy_session' in sys.modules,"
         " any(type(f).__name__ == 'type' and f.__name__ == '_RegisterCodes' for f in sys.meta_path))"],
        capture_output=True, text=True, check=True,
    )
    assert probe.stdout.split() == ["False", "False", "True"], probe.stdout + probe.stderr


def test_dmypy_reads_the_baseline_again_when_it_changes(tmp_path: Path) -> None:
    """A running daemon used to keep the baseline it read at start: a finding taken out of
    the baseline (a ratchet, by hand) stayed hidden until `dmypy restart`. Now the next
    check of its code reports it, and accepting it again hides it again."""
    write(
        tmp_path,
        {
            "pyproject.toml": (
                '[tool.mypy]\nplugins = ["mypy_session.plugin"]\n'
                '[tool.mypy_session]\nbaseline = "baseline.json"\n'
            ),
            "svc.py": SERVICE,
            "db.py": DB_MODULE,
        },
    )
    accepted = run(tmp_path, "baseline", "svc.py", module="mypy_session")
    assert accepted.status == 0, accepted.stdout + accepted.stderr
    full = (tmp_path / "baseline.json").read_text(encoding="utf-8")
    assert '"session-not-forwarded"' in full
    empty = '{"version": 1, "tool": "mypy-session", "findings": []}\n'
    try:
        first = run(tmp_path, "run", "--", "svc.py", module="mypy.dmypy")
        assert first.errors == [] and first.status == 0, first.stdout + first.stderr
        (tmp_path / "baseline.json").write_text(empty, encoding="utf-8")
        with open(tmp_path / "svc.py", "a", encoding="utf-8") as stream:
            stream.write("# edited\n")
        shown = run(tmp_path, "check", "svc.py", module="mypy.dmypy")
        assert shown.errors == [FINDING], shown.stdout + shown.stderr
        (tmp_path / "baseline.json").write_text(full, encoding="utf-8")
        with open(tmp_path / "svc.py", "a", encoding="utf-8") as stream:
            stream.write("# edited again\n")
        hidden = run(tmp_path, "check", "svc.py", module="mypy.dmypy")
        assert hidden.errors == [], hidden.stdout + hidden.stderr
    finally:
        run(tmp_path, "kill", module="mypy.dmypy")
