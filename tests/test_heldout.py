"""Regression corpus from held-out code (tests/data/heldout/README.md): service layers an
independent tester wrote without seeing the plugin, with every planted mistake marked
`# expect: <code>` on its line. One mypy run per project; every expected finding must be
reported at its line with its code, and nothing else from the plugin."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "data" / "heldout"
PROJECTS = sorted(p.name for p in CORPUS.iterdir() if (p / "pyproject.toml").is_file())
PLUGIN_CODE = re.compile(r"^(session-[a-z-]+|service-boundary)$")
EXPECT = re.compile(r"#\s*expect:\s*([\w, -]+)")
ERROR = re.compile(r"^(.*?):(\d+): error: (.*)  \[([\w-]+)\]$")


def _expected(root: Path) -> set[tuple[str, int, str]]:
    found: set[tuple[str, int, str]] = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            match = EXPECT.search(line)
            if match:
                for code in match.group(1).split(","):
                    found.add((path.relative_to(root).as_posix(), number, code.strip()))
    return found


def test_the_corpus_is_there() -> None:
    assert len(PROJECTS) >= 4, PROJECTS


@pytest.mark.parametrize("project", PROJECTS)
def test_every_planted_mistake_and_nothing_else(project: str, tmp_path: Path) -> None:
    # Run on a copy outside the repository: under it, the editable install's path makes
    # the project's modules visible under a second name (`tests.data.heldout...`).
    root = tmp_path / project
    shutil.copytree(CORPUS / project, root)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "cache")],
        cwd=root, capture_output=True, text=True, timeout=600,
    )
    output = result.stdout + result.stderr
    assert "INTERNAL ERROR" not in output and "Traceback" not in output, output
    got: set[tuple[str, int, str]] = set()
    for line in result.stdout.splitlines():
        match = ERROR.match(line)
        if match and PLUGIN_CODE.match(match.group(4)):
            got.add((Path(match.group(1)).as_posix(), int(match.group(2)), match.group(4)))
    expected = _expected(root)
    assert expected, project
    assert sorted(expected - got) == [], f"missed:\n{output}"
    assert sorted(got - expected) == [], f"false alarms:\n{output}"
