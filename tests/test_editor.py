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
