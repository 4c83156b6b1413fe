"""Which of several identical findings a baseline entry stands for (issue 16, item 5):
a copy of a baselined call inserted above the original is the new finding, reported at
the copy's line, and the original stays accepted; edits around a baselined call keep it
accepted (mypy_session/baseline_lines.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mypy_session.baseline_lines import Placement, line_context
from tests.helpers import run, write

CONFIG = "[mypy]\nplugins = mypy_session.plugin\n[mypy_session]\nbaseline = b.json\n"

SERVICE = '''\
from mypy_session import SessionLike as Session


def lookup(key: int, session: Session | None = None) -> int:
    return key


def restock(session: Session) -> None:
    total = 0
    total += 1
    lookup(1)
    print(total)
'''

CALL = "    lookup(1)\n"


def _lines_with_findings(root: Path) -> list[int]:
    result = run(root, "svc.py", module="mypy")
    assert "Traceback" not in result.stdout + result.stderr
    return sorted(int(line.split(":")[1]) for line in result.errors)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    write(tmp_path, {"mypy.ini": CONFIG, "svc.py": SERVICE})
    accepted = run(tmp_path, "baseline", "svc.py", module="mypy_session")
    assert accepted.status == 0, accepted.stdout + accepted.stderr
    entries = json.loads((tmp_path / "b.json").read_text(encoding="utf-8"))["findings"]
    assert len(entries) == 1 and entries[0]["context"].count(":") == 2
    assert _lines_with_findings(tmp_path) == []
    return tmp_path


def _edit(root: Path, old: str, new: str) -> None:
    path = root / "svc.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")


def test_copy_inserted_above_is_the_new_finding(project: Path) -> None:
    _edit(project, "    total = 0\n", "    lookup(1)\n    total = 0\n")
    assert _lines_with_findings(project) == [9]  # the copy; the original (now 12) stays accepted


def test_copy_directly_above_is_the_new_finding(project: Path) -> None:
    _edit(project, CALL, CALL + CALL)
    # Both lines read `lookup(1)`; the entry stays with the one followed by `print(total)`.
    assert _lines_with_findings(project) == [11]


def test_copy_inserted_below_is_the_new_finding(project: Path) -> None:
    _edit(project, "    print(total)\n", "    print(total)\n    lookup(1)\n")
    assert _lines_with_findings(project) == [13]


def test_edits_around_the_call_keep_it_accepted(project: Path) -> None:
    _edit(project, "    total += 1\n", "    total += 2  # changed\n\n")
    _edit(project, "    print(total)\n", "    print('total', total)\n")
    assert _lines_with_findings(project) == []


def test_reformatted_call_is_still_the_accepted_one(project: Path) -> None:
    _edit(project, CALL, "    lookup(  1  )\n")
    assert _lines_with_findings(project) == []


def test_a_second_run_of_baseline_refreshes_the_context(project: Path) -> None:
    _edit(project, "    total += 1\n", "    total += 3\n")
    before = json.loads((project / "b.json").read_text(encoding="utf-8"))["findings"][0]["context"]
    again = run(project, "baseline", "svc.py", module="mypy_session")
    assert again.status == 0, again.stdout + again.stderr
    after = json.loads((project / "b.json").read_text(encoding="utf-8"))["findings"][0]["context"]
    assert before != after and before.split(":")[1:] == after.split(":")[1:]


def test_a_baseline_without_contexts_matches_by_order(project: Path) -> None:
    path = project / "b.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    for entry in data["findings"]:
        del entry["context"]
    path.write_text(json.dumps(data), encoding="utf-8")
    _edit(project, "    total = 0\n", "    lookup(1)\n    total = 0\n")
    assert _lines_with_findings(project) == [12]  # by order: the older behaviour


def test_placement_unit() -> None:
    lines = ["def f():", "    a()", "    x = 1", "    a()", "    y = 2"]
    entry = ("m", line_context(lines, 4))
    placed = Placement([entry], lines, 1, 5)
    assert not placed.accepts(2)
    assert placed.accepts(4)
    assert placed.accepts(4)  # the same answer when mypy checks the function again
    unplaced = Placement([("m", "00000000:11111111:22222222")], lines, 1, 5)
    assert unplaced.accepts(2) and not unplaced.accepts(4)  # taken by the first finding
