"""Every bad input is one line and exit status 2, never a traceback (issue 16), across every
command: settings (pyproject.toml, mypy.ini, setup.cfg), marker stubs, baseline files and
file-system states.

The commands run in this process (`mypy_session.cli.main`, which runs mypy in-process for
`check`), so that a table of sixty cases stays cheap; an exception that escapes is a
failure here just as a traceback would be for a user. A few cases also run as a user runs
them, in a subprocess: plain `mypy` with the plugin, and `mypy-session dmypy`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from mypy_session import cli

SOURCE = """\
from mypy_session import SessionLike

def lookup(key: int, session: SessionLike | None = None) -> int:
    return key

def caller(session: SessionLike) -> None:
    lookup(1)
"""

TOML = '[tool.mypy]\nplugins = ["mypy_session.plugin"]\n'
INI = "[mypy]\nplugins = mypy_session.plugin\n"
DEEP = "x = " + "(" * 400 + "1" + ")" * 400 + "\n"  # too deep for Python's parser
DEEP_JSON = "[" * 100_000 + "]" * 100_000


@dataclass(frozen=True)
class Case:
    id: str
    command: tuple[str, ...]  # mypy-session arguments; "app" is the project's package
    files: dict[str, str | bytes]  # written into the project; a name ending in "/" is a directory
    needle: str  # must be in the one line
    setup: Callable[[Path, pytest.MonkeyPatch], None] | None = None


def toml(section: str) -> dict[str, str | bytes]:
    return {"pyproject.toml": TOML + "[tool.mypy_session]\n" + textwrap.dedent(section)}


def ini(section: str, name: str = "mypy.ini") -> dict[str, str | bytes]:
    return {name: INI + "[mypy_session]\n" + textwrap.dedent(section)}


def stub(text: str | bytes, command: tuple[str, ...] = ("check", "app")) -> tuple[tuple[str, ...], dict[str, str | bytes]]:
    return command, {**toml('marker_stubs = ["markers"]\n'), "markers/vendor.pyi": text}


def with_baseline(content: str | bytes | None, *, directory: bool = False) -> dict[str, str | bytes]:
    files = toml('baseline = "b.json"\n')
    if directory:
        files["b.json/"] = ""
    elif content is not None:
        files["b.json"] = content
    return files


def read_only(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A read-only checkout, as a non-root user sees one (root may write anywhere, so the
    permission is denied here by the check itself)."""
    real = os.access

    def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
        if mode & os.W_OK and os.path.abspath(str(path)).startswith(str(root)):
            return False
        return real(path, mode, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "access", access)


CHECK = ("check", "app")
AUDIT = ("audit", "app")
CALLERS = ("callers", "lookup", "--", "app")
BASELINE = ("baseline", "app")

CASES = [
    # -- settings in pyproject.toml ----------------------------------------------------
    Case("tool-is-an-int-check", CHECK, {"pyproject.toml": "tool = 5\n"}, "[tool] must be a table"),
    Case("tool-is-an-int-audit", AUDIT, {"pyproject.toml": "tool = 5\n"}, "[tool] must be a table"),
    Case("tool-is-a-string-callers", CALLERS, {"pyproject.toml": 'tool = "x"\n'}, "[tool] must be a table"),
    Case("tool-mypy-is-an-int", BASELINE, {"pyproject.toml": "[tool]\nmypy = 5\n"}, "[tool.mypy] must be a table"),
    Case("section-is-an-int", CHECK, {"pyproject.toml": TOML + "[tool]\nmypy_session = 5\n"}, "must be a table"),
    Case("unknown-key", AUDIT, toml("sesion_types = []\n"), "unknown key 'sesion_types'"),
    Case("session-types-a-string", CHECK, toml('session_types = "a.B"\n'), "'session_types'"),
    Case("session-types-ints", CALLERS, toml("session_types = [1]\n"), "'session_types'"),
    Case("session-types-not-dotted", CHECK, toml('session_types = ["a b"]\n'), "'session_types'"),
    Case("param-names-empty", AUDIT, toml("session_param_names = []\n"), "'session_param_names'"),
    Case("param-names-not-identifiers", BASELINE, toml('session_param_names = ["a-b"]\n'), "'session_param_names'"),
    Case("scope-factories-an-int", CHECK, toml("scope_factories = 5\n"), "'scope_factories'"),
    Case("commit-methods-bad-name", AUDIT, toml('commit_methods = ["x y"]\n'), "'commit_methods'"),
    Case("marker-stubs-a-string", CHECK, toml('marker_stubs = "markers"\n'), "'marker_stubs'"),
    Case("marker-stubs-missing-dir", AUDIT, toml('marker_stubs = ["nowhere"]\n'), "'marker_stubs'"),
    Case("marker-stubs-empty-path", CALLERS, toml('marker_stubs = [""]\n'), "'marker_stubs'"),
    Case("marker-stubs-a-file", CHECK, {**toml('marker_stubs = ["notes.txt"]\n'), "notes.txt": "x"}, "'marker_stubs'"),
    Case("guarded-a-list", CHECK, toml("guarded = []\n"), "'guarded'"),
    Case("guarded-bad-key", AUDIT, toml('[tool.mypy_session.guarded]\n"x" = ["app"]\n'), "'guarded'"),
    Case("guarded-value-a-string", CHECK, toml('[tool.mypy_session.guarded]\n"app.M.a" = "app"\n'), "'guarded'"),
    Case("baseline-an-int", CHECK, toml("baseline = 5\n"), "'baseline'"),
    Case("baseline-empty", BASELINE, toml('baseline = ""\n'), "'baseline'"),
    Case("toml-syntax", CHECK, {"pyproject.toml": TOML + "[tool.mypy_session\n"}, "pyproject.toml"),
    Case("toml-syntax-audit", AUDIT, {"pyproject.toml": "[tool.mypy]\nplugins = [\n"}, "pyproject.toml"),
    Case("toml-not-utf8", CHECK, {"pyproject.toml": TOML.encode() + b"# \xff\xfe\n"}, "pyproject.toml"),
    # -- settings in INI files ---------------------------------------------------------
    Case("ini-unknown-key", CHECK, ini("sesion_types = a.B\n"), "unknown key 'sesion_types'"),
    Case("ini-no-section-header", AUDIT, {"mypy.ini": "plugins = mypy_session.plugin\n"}, "mypy.ini"),
    Case("ini-not-utf8", BASELINE, {"mypy.ini": INI.encode() + b"# \xff\n"}, "mypy.ini"),
    Case("setup-cfg-empty-param-names", CHECK, ini("session_param_names =\n", "setup.cfg"), "'session_param_names'"),
    Case("ini-marker-stubs-missing", CALLERS, ini("marker_stubs = nowhere\n"), "'marker_stubs'"),
    Case("ini-baseline-empty", CHECK, ini("baseline =\n"), "'baseline'"),
    Case("config-file-missing", ("check", "--config-file", "nope.ini", "app"), {}, "nope.ini"),
    Case("config-file-a-directory", ("audit", "--config-file", "conf", "app"), {"conf/": ""}, "conf"),
    # -- marker stubs ------------------------------------------------------------------
    Case("stub-syntax-error", *stub("def f(:\n"), "does not parse"),
    Case("stub-nul-byte-check", *stub(b"def f() -> None: ...\x00\n"), "does not parse"),
    Case("stub-nul-byte-audit", *stub(b"\x00", AUDIT), "does not parse"),
    Case("stub-too-deep-check", *stub(DEEP), "does not parse"),
    Case("stub-too-deep-baseline", *stub(DEEP, ("baseline", "--file", "b.json", "app")), "does not parse"),
    Case("stub-not-utf8", *stub(b"# \xff\xfe\n"), "cannot read it"),
    Case("stub-a-directory", AUDIT, {**toml('marker_stubs = ["markers"]\n'), "markers/odd.pyi/": ""}, "cannot read it"),
    # -- baseline files ----------------------------------------------------------------
    Case("baseline-corrupt", BASELINE, with_baseline("{nope"), "cannot read the baseline"),
    Case("baseline-empty-file", BASELINE, with_baseline(""), "cannot read the baseline"),
    Case("baseline-a-directory", BASELINE, with_baseline(None, directory=True), "cannot read the baseline"),
    Case("baseline-a-list", BASELINE, with_baseline("[]"), "not a mypy-session baseline"),
    Case("baseline-null", BASELINE, with_baseline("null"), "not a mypy-session baseline"),
    Case("baseline-not-utf8", BASELINE, with_baseline(b'{"findings": ["\xff"]}'), "cannot read the baseline"),
    Case("baseline-findings-an-int", CHECK, with_baseline('{"findings": 5}'), "not a mypy-session baseline"),
    Case("baseline-entry-an-int", AUDIT, with_baseline('{"findings": [5]}'), "malformed baseline entry"),
    Case("baseline-entry-partial", CHECK, with_baseline('{"findings": [{"code": "x"}]}'), "malformed baseline entry"),
    Case("baseline-too-deep", BASELINE, with_baseline(DEEP_JSON), "cannot read the baseline"),
    Case("baseline-newer-version", CHECK, with_baseline('{"version": 99, "findings": []}'), "format version 99"),
    Case("baseline-corrupt-check", CHECK, with_baseline("{nope"), "cannot read the baseline"),
    Case("baseline-a-directory-check", CHECK, with_baseline(None, directory=True), "cannot read the baseline"),
    Case("baseline-corrupt-callers", CALLERS, with_baseline("{nope"), "cannot read the baseline"),
    # -- file-system states ------------------------------------------------------------
    Case("baseline-dir-missing", ("baseline", "--file", "nodir/b.json", "app"), {}, "no directory"),
    Case("baseline-setting-dir-missing", BASELINE, toml('baseline = "nodir/b.json"\n'), "no directory"),
    Case("baseline-file-a-directory", ("baseline", "--file", "out", "app"), {"out/": ""}, "cannot read the baseline"),
    Case("baseline-read-only", BASELINE, with_baseline(None), "read-only", setup=read_only),
    Case("audit-output-dir-missing", ("audit", "--output-file", "nodir/r.md", "app"), {}, "no directory"),
    Case("audit-output-a-directory", ("audit", "--output-file", "out", "app"), {"out/": ""}, "is a directory"),
    Case("audit-output-read-only", ("audit", "--output-file", "r.md", "app"), {}, "read-only", setup=read_only),
    Case("callers-output-dir-missing", ("callers", "lookup", "--output-file", "nodir/r.txt", "--", "app"), {}, "no directory"),
    Case("sarif-output-dir-missing", ("check", "--format", "sarif", "--output-file", "nodir/r.sarif", "app"), {}, "no directory"),
    Case("check-target-missing", ("check", "nowhere.py"), {}, "nowhere.py"),
    Case("audit-target-missing", ("audit", "nowhere.py"), {}, "nowhere.py"),
    Case("baseline-target-missing", ("baseline", "--file", "b.json", "nowhere.py"), {}, "nowhere.py"),
    Case("callers-config-missing", ("callers", "lookup", "--config-file", "nope.toml", "--", "app"), {}, "nope.toml"),
]


def make_project(root: Path, files: dict[str, str | bytes]) -> None:
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "one.py").write_text(SOURCE)
    (root / ".git").mkdir()  # mypy stops looking for a config at a repository root
    for name, content in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def invoke(argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> tuple[object, str, str]:
    try:
        cli.main(list(argv))
    except SystemExit as exc:
        status: object = exc.code
    else:
        status = 0
    out, err = capsys.readouterr()
    return status, out, err


def assert_one_line(status: object, err: str, needle: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err and "INTERNAL ERROR" not in err, err
    assert status == 2, (status, err)
    assert len(lines) == 1, err
    assert needle in lines[0], lines[0]


def test_the_table_is_large_and_covers_every_command() -> None:
    assert len(CASES) >= 50
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.command[0] for case in CASES} >= {"check", "audit", "callers", "baseline"}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_is_one_line_and_exit_2(
    case: Case, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_project(tmp_path, case.files)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MYPY_SESSION_CONFIG_FILE", raising=False)
    monkeypatch.delenv("MYPY_SESSION_DEBUG", raising=False)
    if case.setup is not None:
        case.setup(tmp_path, monkeypatch)
    before = listing(tmp_path)
    status, out, err = invoke(case.command, capsys)
    assert_one_line(status, err, case.needle)
    # Nothing written, nothing left behind; `check` is mypy, whose cache is its own.
    assert listing(tmp_path, mypy_cache=case.command[0] != "check") == before


def listing(root: Path, *, mypy_cache: bool = True) -> list[Path]:
    found = sorted(p.relative_to(root) for p in root.rglob("*"))
    return [p for p in found if mypy_cache or p.parts[0] != ".mypy_cache"]


# -- as a user runs it -------------------------------------------------------------------


def _run(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYPY_SESSION_")}
    return subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("files", "needle"),
    [
        pytest.param(stub(DEEP)[1], "does not parse", id="stub-too-deep"),
        pytest.param(stub(b"\x00")[1], "does not parse", id="stub-nul-byte"),
        pytest.param(with_baseline("null"), "not a mypy-session baseline", id="baseline-null"),
        pytest.param(toml("session_types = 5\n"), "'session_types'", id="bad-setting"),
    ],
)
def test_plain_mypy_with_the_plugin(files: dict[str, str | bytes], needle: str, tmp_path: Path) -> None:
    make_project(tmp_path, files)
    proc = _run(tmp_path, sys.executable, "-m", "mypy", "app")
    assert_one_line(proc.returncode, proc.stderr, needle)
    assert "NUL" not in proc.stderr and ":None" not in proc.stderr


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_the_daemon_wrapper_checks_the_config_first(tmp_path: Path) -> None:
    make_project(tmp_path, {"pyproject.toml": "tool = 5\n"})
    status = str(tmp_path / "status.json")
    proc = _run(tmp_path, sys.executable, "-m", "mypy_session", "dmypy", "--status-file", status, "run", "--", "app")
    assert_one_line(proc.returncode, proc.stderr, "[tool] must be a table")
    assert not os.path.exists(status)  # no daemon was started
