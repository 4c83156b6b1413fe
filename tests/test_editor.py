"""An editor in daemon mode, as VS Code's mypy extension runs it (issue 16, item 4).

The extension (microsoft/vscode-mypy, `bundled/tool/lsp_server.py`) runs, on every open
and save of a document, plain `python -m mypy.dmypy --status-file <its own file> run --`
with its fixed flags, the user's `mypy-type-checker.args` and the document's absolute
path, in the workspace folder; it shows the findings of that document only. Here a
sequence of edits and saves on the bakery example is replayed that way, and after each
one the document's findings must equal those of a cold `mypy` run of the whole project.
The gaps that remain are in docs/known-problems.md and reproduced by
`tests/test_modes.py::test_daemon_limits`; none of them is in this sequence.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests import modes
from tests.test_modes import needs_dmypy

# The extension's TOOL_ARGS, then `--show-error-end` (mypy >= 0.991).
EXTENSION_FLAGS = (
    "--no-color-output",
    "--no-error-summary",
    "--show-absolute-path",
    "--show-column-numbers",
    "--show-error-codes",
    "--no-pretty",
)

SERVICES = "bakery/services/"

# (what the user does, the file, an edit of it or None for "open")
STEPS: tuple[tuple[str, str, modes.Edit | None], ...] = (
    ("open a service", SERVICES + "production_service.py", None),
    ("open the untyped legacy module", "bakery/legacy.py", None),
    ("open a callee", SERVICES + "ingredient_service.py", None),
    (
        "give a callee a session parameter, save",
        SERVICES + "ingredient_service.py",
        modes.Edit(
            SERVICES + "ingredient_service.py",
            "def low_stock_report() -> list[IngredientInfo]:",
            "def low_stock_report(session: Session | None = None) -> list[IngredientInfo]:",
        ),
    ),
    ("open its caller again", SERVICES + "production_service.py", None),
    (
        "shift the legacy module's lines, save",
        "bakery/legacy.py",
        modes.Edit("bakery/legacy.py", "import datetime\n", "import datetime  # noqa\n\n\n"),
    ),
    ("open a module after the legacy edit", "bakery/reports.py", None),
    (
        "drop a forwarded session in a caller, save",
        SERVICES + "production_service.py",
        modes.Edit(
            SERVICES + "production_service.py",
            'add_units(run.product_id, units, f"production run {run.id}", session=session)',
            'add_units(run.product_id, units, f"production run {run.id}")',
        ),
    ),
    (
        "drop a forwarded session in the async reports, save",
        "bakery/reports.py",
        modes.Edit("bakery/reports.py", "await stock_valuation(session=session)", "await stock_valuation()"),
    ),
)


def _editor_run(project: modes.Project, status: Path, document: str) -> modes.Run:
    path = (project.root / document).resolve()
    command = [
        sys.executable, "-m", "mypy.dmypy", "--status-file", str(status), "run", "--",
        *EXTENSION_FLAGS, *project.flags, "--show-error-end", str(path),
    ]
    run = modes._execute(f"editor: {document}", project.root, command)
    if run.status not in (0, 1):
        raise modes.RunFailed(f"editor run failed\n{run.describe()}")
    return run


@needs_dmypy
def test_editor_daemon_sequence(tmp_path: Path) -> None:
    project = modes.bakery(tmp_path / "project")
    project.root = project.root.resolve()
    status = tmp_path / "vscode.dmypy_status" / "status-1.json"
    status.parent.mkdir()
    problems = []
    last: dict[str, list[modes.Finding]] = {}
    try:
        for number, (what, document, edit) in enumerate(STEPS):
            if edit is not None:
                edit.apply(project.root)
            editor = _editor_run(project, status, document)
            cold = project.mypy(f"cold {number}", tmp_path / f"cold-{number}")
            mine = [f for f in editor.findings if f.path == document]
            expected = [f for f in cold.findings if f.path == document]
            if edit is not None and (document not in last or expected == last[document]):
                problems.append(f"step {number}: {what}: the edit changed no finding in {document}")
            last[document] = expected
            problem = modes.diff(f"cold ({what})", expected, f"editor ({what})", mine)
            if problem:
                problems.append(f"step {number}: {what} ({document})\n{problem}")
    finally:
        modes._execute("kill", project.root, [sys.executable, "-m", "mypy.dmypy", "--status-file", str(status), "kill"])
    assert not problems, "\n\n".join(problems)
    assert any(f.path == "bakery/legacy.py" and f.code == "session-borrowed-commit" for f in cold.findings)


# -- every editor's command line (issue 15, item 5; docs/editors.md) ---------------------
#
# Read from each integration's source:
# - VS Code's Mypy Type Checker with `mypy-type-checker.preferDaemon: false`:
#   `python -m mypy <TOOL_ARGS> <args> --show-error-end <document>` (lsp_server.py,
#   `_run_tool_on_document`); with the daemon, the sequence above.
# - pylsp-mypy (pylsp_mypy/plugin.py, `get_diagnostics`), live mode (its default):
#   `mypy --show-error-end --no-error-summary --shadow-file <document> <buffer copy>
#   <document> --incremental --follow-imports silent`; with `dmypy: true`:
#   `dmypy --status-file .dmypy.json run -- --show-error-end --no-error-summary <document>`.
# - PyCharm's mypy plugin (leinardi/mypy-pycharm, MypyRunner.runMypy), the project
#   interpreter's `mypy --show-column-numbers --follow-imports silent [--config-file F]
#   <arguments> <files>`, run in the project's directory.

DOCUMENTS = (SERVICES + "production_service.py", "bakery/legacy.py", "bakery/reports.py")
# What docs/editors.md tells pylsp-mypy and PyCharm users to add: with mypy's
# `--follow-imports silent` (their default), mypy does not analyse the bodies of the
# modules it follows, so a callee in another module that opens its own session is not seen.
FOLLOW = ("--follow-imports", "normal")


def _editor_commands(project: modes.Project, document: str, tmp: Path) -> dict[str, list[str]]:
    path = str((project.root / document).resolve())
    buffer = tmp / "buffer.py"
    buffer.write_text((project.root / document).read_text(encoding="utf-8"), encoding="utf-8")
    python = [sys.executable, "-m"]
    return {
        "vscode, daemon off": [*python, "mypy", *EXTENSION_FLAGS, *project.flags, "--show-error-end", path],
        # pylsp-mypy's `overrides: [true, "--follow-imports", "normal"]` (docs/editors.md)
        # puts the setting after its own flags, where the last one wins.
        "pylsp-mypy, live mode": [
            *python, "mypy", "--show-error-end", "--no-error-summary", "--shadow-file", path, str(buffer),
            path, *project.flags, "--incremental", "--follow-imports", "silent", *FOLLOW,
        ],
        "pylsp-mypy, dmypy": [
            *python, "mypy.dmypy", "--status-file", str(tmp / "pylsp.dmypy.json"), "run", "--",
            "--show-error-end", "--no-error-summary", path, *project.flags,
        ],
        # PyCharm's "Arguments" field (docs/editors.md) comes after the plugin's own flags.
        "pycharm": [*python, "mypy", "--show-column-numbers", "--follow-imports", "silent", *FOLLOW, *project.flags, document],
    }


@needs_dmypy
def test_every_editors_command_line_shows_the_plugins_findings(tmp_path: Path) -> None:
    project = modes.bakery(tmp_path / "project")
    project.root = project.root.resolve()
    cold = project.mypy("cold", tmp_path / "cold")
    problems = []
    try:
        for document in DOCUMENTS:
            expected = [f for f in cold.findings if f.path == document]
            assert expected, document  # each document has findings to show
            for editor, command in _editor_commands(project, document, tmp_path).items():
                run = modes._execute(f"{editor}: {document}", project.root, command)
                if run.status not in (0, 1):
                    problems.append(f"{editor} failed\n{run.describe()}")
                    continue
                shown = [f for f in run.findings if f.path == document]
                problem = modes.diff("cold mypy", expected, editor, shown)
                if problem:
                    problems.append(f"{editor} on {document}\n{problem}")
    finally:
        modes._execute("kill", project.root, [sys.executable, "-m", "mypy.dmypy", "--status-file", str(tmp_path / "pylsp.dmypy.json"), "kill"])
    assert not problems, "\n\n".join(problems)


def test_pylsp_live_mode_checks_the_unsaved_buffer(tmp_path: Path) -> None:
    """pylsp-mypy checks the editor's buffer through `--shadow-file`: a session dropped
    there, not yet saved, is reported at its line."""
    project = modes.bakery(tmp_path / "project")
    project.root = project.root.resolve()
    document = SERVICES + "production_service.py"
    command = _editor_commands(project, document, tmp_path)["pylsp-mypy, live mode"]
    buffer = tmp_path / "buffer.py"
    text = buffer.read_text(encoding="utf-8")
    forwarded = 'add_units(run.product_id, units, f"production run {run.id}", session=session)'
    assert forwarded in text
    buffer.write_text(text.replace(forwarded, 'add_units(run.product_id, units, f"production run {run.id}")'), encoding="utf-8")
    line = text[: text.index(forwarded)].count("\n") + 1
    run = modes._execute("pylsp live", project.root, command)
    assert any(f.path == document and f.line == line and f.code == "session-not-forwarded" for f in run.findings), run.describe()


def test_follow_imports_silent_hides_chains_through_other_modules(tmp_path: Path) -> None:
    """Why docs/editors.md asks for `--follow-imports normal` (a known problem: if this
    fails, mypy now analyses silently followed modules and the advice can go)."""
    project = modes.bakery(tmp_path / "project")
    document = SERVICES + "production_service.py"
    silent = modes._execute("silent", project.root, [
        sys.executable, "-m", "mypy", "--show-column-numbers", "--follow-imports", "silent", *project.flags, document,
    ])
    normal = modes._execute("normal", project.root, [
        sys.executable, "-m", "mypy", "--show-column-numbers", "--follow-imports", "silent", *FOLLOW, *project.flags, document,
    ])
    chain = [f for f in normal.findings if f.path == document and f.code == "session-callee-opens-scope"]
    assert chain
    assert not [f for f in silent.findings if f.path == document and f.code == "session-callee-opens-scope"]
