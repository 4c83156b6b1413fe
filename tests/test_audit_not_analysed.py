"""`audit` says where session code was not analysed (issue 11, item 6): per function, in
every output format, with counts in the summary; such a function is never PASS.

The project is audited once per format, as a user runs it (`python -m mypy_session`);
the failed-hook case runs in-process, with a check made to fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DB_MODULE, Result, run, write

SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"

UNTYPED_TEXT = "not analysed: untyped (check_untyped_defs is off)"
FAILED_TEXT = "not analysed: the plugin could not analyse it"

# check_untyped_defs is off (mypy's default), except for app.checked.
PROJECT = {
    "mypy.ini": "[mypy]\n\n[mypy-app.checked]\ncheck_untyped_defs = True\n",
    "app/__init__.py": "",
    "app/db.py": DB_MODULE,
    "app/services.py": """
        from typing import NoReturn
        from sqlalchemy.orm import Session


        def stop(reason: str) -> NoReturn:
            raise RuntimeError(reason)


        def save(order_id: int, session: Session | None = None) -> None:
            if session is not None:
                session.flush()


        def checked(order_id: int, session: Session) -> None:
            save(order_id, session=session)


        def after_noreturn(order_id: int, session: Session) -> None:
            save(order_id, session=session)
            stop("closed")
            save(order_id)


        def issue_and_dead(order_id: int, session: Session) -> None:
            save(order_id)
            return
            session.flush()


        def legacy(order_id, session=None):
            session.add(order_id)
            session.commit()


        def outer(order_id: int) -> None:
            def step(session):
                session.commit()
            step(order_id)


        def dead_without_session(order_id: int, session: Session) -> None:
            save(order_id, session=session)
            return
            print(order_id)
    """,
    "app/checked.py": """
        def legacy_checked(order_id, session=None):
            session.add(order_id)
    """,
}


def cli(root: Path, *args: str) -> Result:
    return run(root, *args, module="mypy_session")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("not_analysed")
    write(root, PROJECT)
    return root


@pytest.fixture(scope="module")
def audit_json(project: Path) -> dict[str, Any]:
    result = cli(project, "audit", "--format", "json", "app")
    assert result.status == 1, result.stderr  # issue_and_dead has an issue
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _function(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in data["functions"] if f["name"] == name)
    return found


def test_unreachable_session_code_is_not_pass(audit_json: dict[str, Any]) -> None:
    function = _function(audit_json, "after_noreturn")
    # the dropped session after stop() would be session-not-forwarded if mypy checked it
    assert function["status"] == "not analysed: unreachable after line 20"
    assert function["not_analysed"] == [
        {
            "reason": "unreachable",
            "line": 21,
            "after": 20,
            "text": "not analysed: unreachable after line 20",
        }
    ]
    assert not any(f["function"] == "app.services.after_noreturn" for f in audit_json["findings"])


def test_issues_and_what_was_not_analysed_are_both_in_the_status(audit_json: dict[str, Any]) -> None:
    function = _function(audit_json, "issue_and_dead")
    # "after line 26": the bare `return` is the last statement mypy checked
    assert function["status"] == "session-not-forwarded, not analysed: unreachable after line 26"
    assert [f["reason"] for f in function["not_analysed"]] == ["unreachable"]


def test_untyped_function_without_check_untyped_defs(audit_json: dict[str, Any]) -> None:
    function = _function(audit_json, "legacy")
    assert function["status"] == UNTYPED_TEXT
    assert function["not_analysed"][0]["reason"] == "untyped"
    assert function["not_analysed"][0]["after"] is None
    # a typed function is listed for the untyped session function nested in it
    outer = _function(audit_json, "outer")
    assert outer["session_param"] == "none"
    assert outer["status"] == UNTYPED_TEXT


def test_analysed_functions_pass(audit_json: dict[str, Any]) -> None:
    for name in ("save", "checked", "legacy_checked", "dead_without_session"):
        function = _function(audit_json, name)
        assert function["status"] == "PASS", function
        assert function["not_analysed"] == []


def test_summary_counts_what_was_not_analysed(audit_json: dict[str, Any]) -> None:
    summary = audit_json["summary"]
    functions = audit_json["functions"]
    assert summary["functions_not_analysed"] == 4  # after_noreturn, issue_and_dead, legacy, outer
    assert summary["not_analysed"] == 4
    assert summary["not_analysed_by_reason"] == {"unreachable": 2, "untyped": 2, "any-receiver": 0, "failed": 0}
    assert summary["functions_passed"] == sum(1 for f in functions if f["status"] == "PASS")
    assert summary["functions_passed"] == summary["functions_audited"] - 4
    listed = {(f["function"], f["reason"], f["line"]) for f in audit_json["not_analysed"]}
    assert listed == {
        ("app.services.after_noreturn", "unreachable", 21),
        ("app.services.issue_and_dead", "unreachable", 27),
        ("app.services.legacy", "untyped", 30),
        ("app.services.outer", "untyped", 36),  # at the nested function
    }
    assert all(entry["path"] == "app/services.py" and entry["fix"] for entry in audit_json["not_analysed"])


def test_markdown_says_it_per_function_and_in_the_summary(project: Path) -> None:
    result = cli(project, "audit", "app")
    assert result.status == 1, result.stderr
    text = result.stdout
    assert "4 not fully analysed;" in text
    assert "|  |  |  | (not analysed) | 21 |  | not analysed: unreachable after line 20 |" in text
    assert f"| `legacy` (line 30) | optional (`session`) | SINGLE | — |  |  | {UNTYPED_TEXT} |" in text
    section = text.split("## Not analysed", 1)[1].split("## Summary", 1)[0]
    assert "| `app.services.legacy` | app/services.py:30 | " + UNTYPED_TEXT in section
    assert "check_untyped_defs = true" in section  # what to do
    summary = text.split("## Summary", 1)[1]
    for row in (
        "| functions not analysed | 4 |",
        "| not analysed | 4 |",
        "| not analysed: unreachable | 2 |",
        "| not analysed: untyped | 2 |",
        "| not analysed: failed | 0 |",
    ):
        assert row in summary


def test_sarif_has_a_note_for_each(project: Path) -> None:
    result = cli(project, "audit", "--format", "sarif", "app")
    log = json.loads(result.stdout)
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.validate(log, json.loads(SCHEMA.read_text(encoding="utf-8")))
    notes = [r for r in log["runs"][0]["results"] if r["ruleId"] == "session-not-analysed"]
    assert len(notes) == 4
    assert {r["level"] for r in notes} == {"note"}
    assert all(r["partialFingerprints"] for r in notes)
    lines = sorted(r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in notes)
    assert lines == [21, 27, 30, 36]


def test_enabled_code_is_an_issue_with_a_fix_and_no_duplicate_note(project: Path) -> None:
    result = cli(project, "audit", "--format", "json", "--enable-error-code", "session-not-analysed", "app")
    data = json.loads(result.stdout)
    found = [f for f in data["findings"] if f["code"] == "session-not-analysed"]
    assert len(found) == 4
    legacy = next(f for f in found if f["line"] == 30)
    assert legacy["fix"].startswith("annotate the function")
    assert _function(data, "legacy")["status"] == f"session-not-analysed, {UNTYPED_TEXT}"
    sarif = cli(project, "audit", "--format", "sarif", "--enable-error-code", "session-not-analysed", "app")
    results = json.loads(sarif.stdout)["runs"][0]["results"]
    mine = [r for r in results if r["ruleId"] == "session-not-analysed"]
    assert len(mine) == 4 and {r["level"] for r in mine} == {"error"}


def test_nothing_skipped_means_zero_counts(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "mypy.ini": "[mypy]\ncheck_untyped_defs = True\n",
            "app/__init__.py": "",
            "app/services.py": """
                from sqlalchemy.orm import Session

                def legacy(order_id, session=None):
                    session.add(order_id)

                def typed(order_id: int, session: Session) -> None:
                    session.flush()
            """,
        },
    )
    result = cli(tmp_path, "audit", "app")
    assert result.status == 0, result.stdout + result.stderr
    assert "2 PASS, 0 with issues, 0 not fully analysed" in result.stdout
    assert "None: every function's session code was analysed." in result.stdout
    assert "| not analysed | 0 |" in result.stdout


# -- a hook that failed ------------------------------------------------------------------


def _break_the_commit_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the borrowed-commit check fail as on code it cannot understand, outside debug
    mode, in this process (skipped where the plugin is compiled and cannot be patched)."""
    from mypy_session import gate

    if not gate.__file__ or not gate.__file__.endswith(".py"):
        pytest.skip("the compiled plugin cannot be patched")

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the plugin met code it cannot understand")

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MYPY_SESSION_DEBUG", raising=False)  # tests re-raise by default
    monkeypatch.setattr(gate, "check_borrowed_commit", broken)


def test_a_failed_hook_is_not_pass(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mypy_session.commands import entry

    write(
        tmp_path,
        {
            "mypy.ini": "[mypy]\n",
            "app/__init__.py": "",
            "app/services.py": """
                from sqlalchemy.orm import Session

                def settle(order_id: int, session: Session) -> None:
                    session.commit()

                def read(order_id: int, session: Session) -> None:
                    session.flush()
            """,
        },
    )
    _break_the_commit_check(tmp_path, monkeypatch)
    status = entry.audit(["--format", "json", "--output-file", "audit.json", "app"])
    assert status == 0, capsys.readouterr()
    data = json.loads((tmp_path / "audit.json").read_text(encoding="utf-8"))
    settle = _function(data, "settle")
    assert settle["status"].startswith(FAILED_TEXT)
    assert settle["not_analysed"][0]["reason"] == "failed"
    assert _function(data, "read")["status"] == "PASS"
    assert data["summary"]["not_analysed_by_reason"] == {"unreachable": 0, "untyped": 0, "any-receiver": 0, "failed": 1}
    assert data["summary"]["functions_passed"] == 1


def test_a_failed_hook_is_reported_by_the_code_in_a_plain_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mypy import api

    write(
        tmp_path,
        {
            "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n",
            "app/__init__.py": "",
            "app/services.py": """
                from sqlalchemy.orm import Session

                def settle(order_id: int, session: Session) -> None:
                    session.commit()
            """,
        },
    )
    _break_the_commit_check(tmp_path, monkeypatch)
    args = ["--no-incremental", "--enable-error-code", "session-not-analysed", "app"]
    out, err, status = api.run(args)
    assert status == 1, out + err
    assert (
        'app/services.py:3: error: Session code of "settle" was not analysed: the plugin could '
        "not analyse it (run with MYPY_SESSION_DEBUG=1 to see why); no session check ran there"
        "  [session-not-analysed]"
    ) in out
    out, err, status = api.run(["--no-incremental", "app"])  # off by default
    assert status == 0, out + err


def test_a_call_whose_callee_is_not_known_is_not_pass(tmp_path: Path) -> None:
    """A call on an `Any` receiver whose method name is ambiguous (`any_receivers`): the
    function is "not analysed" in the audit, with the call, and counted by reason."""
    write(
        tmp_path,
        {
            "mypy.ini": "[mypy]\n",
            "app/__init__.py": "",
            "app/models.py": """
                from sqlalchemy.orm import Session

                class TaskInstance:
                    def set_state(self, state: str, session: Session | None = None) -> None: ...

                class DagRun:
                    def set_state(self, state: str) -> None: ...
            """,
            "app/services.py": """
                from typing import Any
                from sqlalchemy.orm import Session
                import app.models

                def fail_task(ti: Any, session: Session) -> None:
                    ti.set_state("failed")

                def fail_task_passing(ti: Any, session: Session) -> None:
                    ti.set_state("failed", session=session)
            """,
        },
    )
    result = cli(tmp_path, "audit", "--format", "json", "app")
    assert result.status == 0, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    status = _function(data, "fail_task")["status"]
    assert status.startswith("not analysed: the callee of `ti.set_state()` at line 6 is not known")
    assert _function(data, "fail_task_passing")["status"] == "PASS"
    assert data["summary"]["not_analysed_by_reason"]["any-receiver"] == 1
