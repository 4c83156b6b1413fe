"""The pre-commit hooks (.pre-commit-hooks.yaml) and the CI examples of docs/ci.md, run
as the shell commands they are, on a small project with mypy errors of its own and a
session mistake (issue 15, item 4)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import write
from tests.test_commands import PROJECT
from tests.test_output_formats import NOISE

ROOT = Path(__file__).resolve().parent.parent
HOOKS = ROOT / ".pre-commit-hooks.yaml"
CI_DOC = ROOT / "docs" / "ci.md"
SCHEMAS = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`src/shop`: the shop service layer (session mistakes) plus mypy's own noise."""
    root = tmp_path_factory.mktemp("ci")
    files = {("src/" + name if name.startswith("shop/") else name): text for name, text in {**PROJECT, **NOISE}.items()}
    files["mypy.ini"] = "[mypy]\ncheck_untyped_defs = True\nmypy_path = src\n"
    write(root, files)
    return root


def _shell(root: Path, command: str) -> subprocess.CompletedProcess[str]:
    """`command` as CI runs it: bash, in the project, with this environment's scripts
    (where `pip install mypy-session` puts `mypy-session`) first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env.pop("MYPY_SESSION_DEBUG", None)
    return subprocess.run(
        ["bash", "-e", "-c", command], cwd=root, capture_output=True, text=True, env=env, timeout=600
    )


def _hooks() -> dict[str, dict[str, object]]:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    return {hook["id"]: hook for hook in hooks}


def test_the_hooks_run_in_the_projects_environment() -> None:
    hooks = _hooks()
    assert set(hooks) == {"mypy-session", "mypy-session-all"}
    for hook in hooks.values():
        assert hook["language"] == "system"
        assert hook["pass_filenames"] is False
        assert str(hook["entry"]).startswith("mypy-session check")


def test_the_session_hook_fails_on_session_mistakes_only(project: Path) -> None:
    hook = _hooks()["mypy-session"]
    result = _shell(project, f"{hook['entry']} src/")  # args: [src/], as docs/ci.md shows
    assert result.returncode == 1, result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert errors and all("[session-" in line for line in errors)
    assert "other errors not shown" in result.stdout.splitlines()[-1]
    all_errors = _shell(project, f"{_hooks()['mypy-session-all']['entry']} src/")
    assert all_errors.returncode == 1
    assert "[arg-type]" in all_errors.stdout


def test_the_session_hook_passes_a_project_with_only_mypy_errors(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": "[mypy]\n", "src/shop/__init__.py": "", **{"src/" + k: v for k, v in NOISE.items()}})
    result = _shell(tmp_path, f"{_hooks()['mypy-session']['entry']} src/")
    assert result.returncode == 0, result.stdout + result.stderr
    assert _shell(tmp_path, f"{_hooks()['mypy-session-all']['entry']} src/").returncode == 1


def _yaml_blocks() -> list[object]:
    text = CI_DOC.read_text(encoding="utf-8")
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", text, re.S)]


def _workflow_steps() -> list[dict[str, object]]:
    workflow = next(b for b in _yaml_blocks() if isinstance(b, dict) and "jobs" in b)
    assert isinstance(workflow, dict)
    steps: list[dict[str, object]] = workflow["jobs"]["mypy-session"]["steps"]
    return steps


def test_the_github_workflow_steps(project: Path) -> None:
    steps = [s for s in _workflow_steps() if "mypy-session check" in str(s.get("run", ""))]
    assert len(steps) == 2
    annotations, sarif_step = steps
    result = _shell(project, str(annotations["run"]))
    assert result.returncode == 1  # the step fails: there is a session mistake
    lines = result.stdout.splitlines()
    assert lines and all(re.match(r"::error file=src/shop/services\.py,line=\d+,", line) for line in lines)
    assert all("title=mypy-session (session-" in line for line in lines)
    uploaded = _shell(project, str(sarif_step["run"]))
    assert uploaded.returncode == 0, uploaded.stderr  # exit 1 accepted: the upload runs
    log = json.loads((project / "mypy-session.sarif").read_text(encoding="utf-8"))
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(log, json.loads((SCHEMAS / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")))
    assert len(log["runs"][0]["results"]) == len(lines)
    upload = next(s for s in _workflow_steps() if "upload-sarif" in str(s.get("uses", "")))
    assert upload["with"] == {"sarif_file": "mypy-session.sarif"}
    broken = _shell(project, str(sarif_step["run"]).replace("--select session", "--select nonsense"))
    assert broken.returncode != 0  # a usage error (exit 2) still fails the step


def test_the_gitlab_job(project: Path) -> None:
    job = next(b for b in _yaml_blocks() if isinstance(b, dict) and "mypy-session" in b and "script" in b["mypy-session"])
    assert isinstance(job, dict)
    command = next(line for line in job["mypy-session"]["script"] if line.startswith("mypy-session"))
    result = _shell(project, command)
    assert result.returncode == 1
    report = json.loads((project / job["mypy-session"]["artifacts"]["reports"]["codequality"]).read_text(encoding="utf-8"))
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(report, json.loads((SCHEMAS / "gitlab-codequality-schema.json").read_text(encoding="utf-8")))
    assert report and all(issue["check_name"].startswith("session-") for issue in report)
