"""The mypyc-compiled wheel (hatch_build.py) reports exactly what the pure-Python plugin
reports.

The rest of the suite runs against the editable install, which is pure Python. This
builds the wheel as `pip install mypy-session` would, installs it into a directory, and
checks the example app and a generated service layer with each, with
MYPY_SESSION_DEBUG=1: a compiled function handed a value its annotation does not allow
raises a TypeError, which would otherwise be skipped quietly as code the plugin cannot
understand, and show up only as a missing finding.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "bakery"

CONFIG = """\
[mypy]
strict = True
pretty = False
show_error_codes = True
plugins = mypy_session.plugin
"""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built and installed into a directory of its own."""
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler: the wheel would be pure Python")
    pytest.importorskip("hatchling")
    pytest.importorskip("setuptools")
    work = tmp_path_factory.mktemp("wheel")
    env = {k: v for k, v in os.environ.items() if k != "MYPY_SESSION_PURE_PYTHON"}
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-v", "-w", str(work / "dist"), str(REPO)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    expected = f"compiled {expected_compiled()} modules with mypyc"  # every one hatch_build.py names
    assert expected in build.stdout + build.stderr, build.stdout[-3000:]
    (wheel,) = (work / "dist").glob("*.whl")
    assert not wheel.name.endswith("-none-any.whl"), wheel.name  # a platform wheel
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(work / "site")
    return work / "site"


def expected_compiled() -> int:
    """How many modules hatch_build.py names in its COMPILED tuple."""
    text = (REPO / "hatch_build.py").read_text(encoding="utf-8")
    block = re.search(r"^COMPILED = \((.*?)^\)", text, re.S | re.M)
    assert block is not None
    return len(re.findall(r'"mypy_session/[^"]+\.py"', block.group(1)))


def _mypy(root: Path, target: list[str], cwd: Path, config: Path | None = None) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(root)
    env["MYPY_SESSION_DEBUG"] = "1"
    cmd = [sys.executable, "-m", "mypy", "--no-incremental", "--cache-dir", os.devnull]
    if config is not None:
        cmd += ["--config-file", str(config)]
    proc = subprocess.run(cmd + target, cwd=cwd, capture_output=True, text=True, env=env)
    assert proc.returncode in (0, 1), proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and "INTERNAL ERROR" not in proc.stdout + proc.stderr
    return proc.stdout


def test_the_compiled_modules_are_the_ones_loaded(compiled: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(compiled))
    probe = "import mypy_session.gate as g, mypy_session.plugin as p; print(g.__file__); print(p.__file__)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=compiled)
    gate, plugin = out.stdout.split()
    assert gate.startswith(str(compiled)) and gate.endswith((".so", ".pyd"))
    assert plugin.endswith("plugin.py")  # it subclasses mypy's Plugin: stays Python


def test_example_app_same_findings(compiled: Path) -> None:
    pure = _mypy(REPO, ["bakery"], EXAMPLE)
    assert "[session-not-forwarded]" in pure
    assert _mypy(compiled, ["bakery"], EXAMPLE) == pure


def test_generated_service_layer_same_findings(compiled: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "corpus.py"), str(corpus), "--modules", "30", "--seed", "3"],
        check=True,
        capture_output=True,
    )
    config = tmp_path / "mypy.ini"
    config.write_text(CONFIG, encoding="utf-8")
    pure = _mypy(REPO, ["corpus_app"], corpus, config)
    assert "[session-not-forwarded]" in pure
    assert _mypy(compiled, ["corpus_app"], corpus, config) == pure
