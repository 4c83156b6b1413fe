"""`check` and `audit` with `--select` / `--ignore` and every `--output-format`, end to
end on a project with many mypy errors of its own (issue 15, items 1 and 2)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import Result, write
from tests.test_commands import PROJECT, cli

DATA = Path(__file__).resolve().parent / "data"

# mypy's own noise, as in a large code base that was never clean under mypy.
NOISE = {
    "shop/noise.py": """
        from typing import Any

        def total(values: list[int]) -> int:
            return sum(values)

        count: int = "three"
        total(["a"])
        total(1, 2)

        def legacy(x: int) -> str:
            return x
    """,
}


@pytest.fixture(scope="module")
def noisy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("noisy")
    write(root, {**PROJECT, **NOISE})
    return root


def _check(root: Path, *args: str) -> Result:
    return cli(root, "check", *args, "shop")


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if ": error:" in line]


def _code(line: str) -> str:
    return line.rsplit("[", 1)[1].rstrip("]")


# -- --select / --ignore ---------------------------------------------------------------


def test_plain_check_is_mypy_with_its_status(noisy: Path) -> None:
    result = _check(noisy)
    assert result.status == 1
    codes = {_code(line) for line in _errors(result.stdout)}
    assert {"assignment", "arg-type", "call-arg", "return-value"} <= codes
    assert "session-not-forwarded" in codes or "session-callee-opens-scope" in codes
    assert result.stdout.rstrip().splitlines()[-1].startswith("Found ")


def test_select_session_shows_only_the_plugin_and_says_what_it_hid(noisy: Path) -> None:
    everything = _errors(_check(noisy).stdout)
    result = _check(noisy, "--select", "session")
    assert result.status == 1, result.stderr
    shown = _errors(result.stdout)
    assert shown and all(_code(line).startswith("session-") for line in shown)
    ours = [line for line in everything if _code(line).startswith("session-")]
    assert len(shown) == len(ours)
    hidden = len(everything) - len(ours)
    assert result.stdout.rstrip().splitlines()[-1] == (
        f"Found {len(shown)} errors in 1 file (--select session; {hidden} other errors not shown)"
    )


def test_exit_status_comes_from_the_selection_alone(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": "[mypy]\n", "shop/__init__.py": "", **NOISE})
    noise_only = cli(tmp_path, "check", "--select", "session", "shop")
    assert noise_only.status == 0, noise_only.stdout + noise_only.stderr
    assert noise_only.stdout.startswith("Success: no issues found (--select session; 5 other errors")
    assert cli(tmp_path, "check", "shop").status == 1  # mypy's own status without a selection
    assert cli(tmp_path, "check", "--select", "arg-type", "shop").status == 1


def test_ignore(noisy: Path) -> None:
    ignored = _errors(_check(noisy, "--ignore", "session").stdout)
    assert ignored and not any(_code(line).startswith("session-") for line in ignored)
    mypy_only = {_code(line) for line in _errors(_check(noisy, "--ignore", "session,arg-type").stdout)}
    assert mypy_only == {"assignment", "call-arg", "list-item", "return-value"}


def test_a_sub_code_goes_with_its_parent_unless_named_alone(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "shop/reader.py": """
        from sqlalchemy.orm import Session
        from shop.services import get_order

        def show(order_id: int, session: Session) -> None:
            get_order(order_id)
    """})
    parent = _errors(cli(tmp_path, "check", "--select", "session-not-forwarded", "shop").stdout)
    assert "session-read-not-forwarded" in {_code(line) for line in parent}
    alone = cli(tmp_path, "check", "--select", "session-read-not-forwarded", "shop")
    assert {_code(line) for line in _errors(alone.stdout)} == {"session-read-not-forwarded"}
    assert alone.status == 1
    dropped = cli(tmp_path, "check", "--select", "session", "--ignore", "session-not-forwarded", "shop")
    assert not {"session-not-forwarded", "session-read-not-forwarded"} & {_code(line) for line in _errors(dropped.stdout)}


def test_an_unknown_code_is_one_line_and_exit_2(noisy: Path) -> None:
    result = _check(noisy, "--select", "session-not-forwaded")
    assert result.status == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "mypy-session: error: --select: unknown error code 'session-not-forwaded'; did you mean 'session-not-forwarded'?"
    ]


def test_a_blocking_error_is_shown_whatever_the_selection(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "shop/broken.py": "def (:\n"})
    result = cli(tmp_path, "check", "--select", "session", "shop")
    assert result.status == 2
    assert "[syntax]" in result.stdout


# -- formats ---------------------------------------------------------------------------


def test_concise_and_full(noisy: Path) -> None:
    concise = _check(noisy, "--select", "session", "--output-format", "concise")
    assert concise.status == 1
    lines = concise.stdout.splitlines()
    assert all(line.startswith("shop/services.py:") for line in lines[:-1])
    assert ":" in lines[0].split(": error:")[0].split("shop/services.py:")[1]  # line:column
    full = _check(noisy, "--select", "session", "--output-format", "full")
    assert full.status == 1
    assert "invoice = get_invoice(order_id)" in full.stdout
    assert "^" in full.stdout
    assert full.stdout.splitlines()[-1] == lines[-1]


def test_json_and_json_lines(noisy: Path) -> None:
    data = json.loads(_check(noisy, "--select", "session", "--output-format", "json").stdout)
    assert data and {item["code"] for item in data} <= {
        "session-not-forwarded", "session-read-not-forwarded", "session-callee-opens-scope",
        "session-detached-use", "session-nested-scope", "session-mismatch",
    }
    first = data[0]
    assert set(first) >= {"code", "message", "filename", "location", "end_location", "url", "fingerprint", "severity"}
    assert first["filename"] == "shop/services.py" and first["location"]["row"] > 0
    assert first["url"] == f"docs/error_codes/{first['code']}.md"
    lines = _check(noisy, "--select", "session", "--format", "json-lines").stdout.splitlines()
    assert [json.loads(line) for line in lines] == data


def test_github_annotations(noisy: Path) -> None:
    result = _check(noisy, "--output-format", "github")
    assert result.status == 1  # no selection: mypy's status
    lines = result.stdout.splitlines()
    assert all(line.startswith(("::error ", "::notice ")) for line in lines)
    ours = [line for line in lines if "title=mypy-session (session-" in line]
    theirs = [line for line in lines if "title=mypy (arg-type)" in line]
    assert ours and theirs
    head, message = ours[0][len("::error "):].split("::", 1)
    props = dict(part.split("=", 1) for part in head.split(","))
    assert props["file"] == "shop/services.py"
    assert int(props["line"]) > 0 and int(props["col"]) > 0
    assert "\n" not in ours[0]


def test_github_escaping() -> None:
    from mypy_session.commands.output_formats import Diagnostic, render

    text = render("github", [Diagnostic("misc", "a,b:c.py", 3, 2, "50% done\nsecond line", hint="see: x")])
    assert text == "::error file=a%2Cb%3Ac.py,line=3,col=2,title=mypy (misc)::50%25 done%0Asecond line%0Asee: x\n"


def test_gitlab_is_valid_and_its_fingerprints_are_stable(noisy: Path, tmp_path: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((DATA / "gitlab-codequality-schema.json").read_text(encoding="utf-8"))
    first = json.loads(_check(noisy, "--output-format", "gitlab").stdout)
    jsonschema.validate(first, schema)
    marks = [issue["fingerprint"] for issue in first]
    assert len(set(marks)) == len(marks)  # GitLab shows one issue per fingerprint
    names = {issue["check_name"] for issue in first}
    assert "arg-type" in names and any(name.startswith("session-") for name in names)
    # Another run, after lines were inserted above everything: the same fingerprints.
    write(tmp_path, {**PROJECT, **NOISE})
    for name in ("shop/services.py", "shop/noise.py"):
        path = tmp_path / name
        path.write_text("# a comment\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    again = json.loads(cli(tmp_path, "check", "--output-format", "gitlab", "shop").stdout)
    assert [i["fingerprint"] for i in again] == marks
    assert [i["location"]["lines"]["begin"] for i in again] == [
        i["location"]["lines"]["begin"] + 2 for i in first
    ]


def test_junit_parses_and_counts(noisy: Path) -> None:
    result = _check(noisy, "--select", "session", "--output-format", "junit")
    assert result.status == 1
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    cases = root.findall("./testsuite/testcase")
    assert cases and all(case.find("failure") is not None for case in cases)
    assert int(root.attrib["failures"]) == len(cases)
    assert all(case.attrib["name"].startswith("mypy-session.session-") for case in cases)


def test_junit_without_findings_is_one_passing_case(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": "[mypy]\n", "clean/__init__.py": "X = 1\n"})
    result = cli(tmp_path, "check", "--select", "session", "--output-format", "junit", "clean")
    assert result.status == 0
    root = ET.fromstring(result.stdout)
    assert root.attrib["failures"] == "0"
    assert [case.attrib["name"] for case in root.iter("testcase")] == ["No errors found"]


def test_sarif_with_a_selection_is_valid(noisy: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = _check(noisy, "--select", "session", "--output-format", "sarif")
    assert result.status == 1
    log = json.loads(result.stdout)
    jsonschema.validate(log, json.loads((DATA / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")))
    assert {r["ruleId"] for r in log["runs"][0]["results"]} <= {
        rule["id"] for rule in log["runs"][0]["tool"]["driver"]["rules"]
    }
    assert all(r["ruleId"].startswith("session-") for r in log["runs"][0]["results"])


def test_output_file_is_written_and_stdout_stays_empty(noisy: Path) -> None:
    result = _check(noisy, "--select", "session", "--output-format", "gitlab", "--output-file", "gl-code-quality.json")
    assert result.status == 1 and result.stdout == ""
    assert json.loads((noisy / "gl-code-quality.json").read_text(encoding="utf-8"))


# -- audit -----------------------------------------------------------------------------


def test_audit_select_and_formats(noisy: Path) -> None:
    everything = json.loads(cli(noisy, "audit", "--format", "json", "shop").stdout)
    result = cli(noisy, "audit", "--select", "session-callee-opens-scope", "--output-format", "json", "shop")
    assert result.status == 1
    selected = json.loads(result.stdout)
    assert {f["code"] for f in selected["findings"]} == {"session-callee-opens-scope"}
    assert len(selected["findings"]) < len(everything["findings"])
    calls = [c for f in selected["functions"] for c in f["calls"]]
    assert all(c["status"] in ("PASS", "session-callee-opens-scope") for c in calls)
    concise = cli(noisy, "audit", "--select", "session-param-unused", "--output-format", "concise", "shop")
    assert concise.status == 1
    assert all("[session-param-unused]" in line for line in _errors(concise.stdout))
    none = cli(noisy, "audit", "--select", "session-detached-return", "--output-format", "github", "shop")
    assert none.status == 0
    assert not [line for line in none.stdout.splitlines() if line.startswith("::error")]


def test_audit_gitlab_is_valid(noisy: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = cli(noisy, "audit", "--output-format", "gitlab", "shop")
    assert result.status == 1
    issues = json.loads(result.stdout)
    jsonschema.validate(issues, json.loads((DATA / "gitlab-codequality-schema.json").read_text(encoding="utf-8")))
    assert any(issue["check_name"] == "session-param-unused" for issue in issues)


# -- baseline --------------------------------------------------------------------------


def test_baseline_select_records_only_the_selected_codes_and_keeps_the_others(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, **NOISE, "mypy.ini": "[mypy]\ncheck_untyped_defs = True\n\n[mypy_session]\nbaseline = baseline.json\n"})
    first = cli(tmp_path, "baseline", "--select", "session-callee-opens-scope", "shop")
    assert first.status == 0, first.stderr
    entries = json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert entries and {e["code"] for e in entries} == {"session-callee-opens-scope"}
    remaining = cli(tmp_path, "check", "--select", "session", "shop")
    assert remaining.status == 1
    assert "session-callee-opens-scope" not in remaining.stdout
    assert "[session-not-forwarded]" in remaining.stdout or "[session-detached-use]" in remaining.stdout
    # Recording another code leaves the first code's entries alone.
    second = cli(tmp_path, "baseline", "--accept-new", "--select", "session-detached-use", "shop")
    assert second.status == 0, second.stderr
    codes = {e["code"] for e in json.loads((tmp_path / "baseline.json").read_text(encoding="utf-8"))["findings"]}
    assert codes == {"session-callee-opens-scope", "session-detached-use"}
    assert cli(tmp_path, "baseline", "--select", "nonsense", "shop").status == 2


def test_a_config_error_under_a_selection_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "mypy.ini": "[mypy]\n\n[mypy_session]\nsession_param_name = db\n"})
    result = cli(tmp_path, "check", "--select", "session", "--output-format", "github", "shop")
    assert result.status == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "mypy-session: error: mypy.ini: [mypy_session] unknown key 'session_param_name'; expected one of: "
        + result.stderr.split("expected one of: ", 1)[1].strip()
    ]
