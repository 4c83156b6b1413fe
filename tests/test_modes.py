"""Mode consistency (SPEC section 8, issue 4): the plugin's findings (file, line, code,
message) are the same cold, warm, after a signature edit of a callee (incremental run vs a
cold run of the edited project), with `-n 2`, and under dmypy (`mypy-session dmypy run`,
then `dmypy check` after the edit), on three corpora: the example app, the sources of the
YAML cases combined into one project, and a generated service layer (tests/modes.py).

The default run covers the example app in every mode and a small generated corpus cold,
warm and with `-n 2`. The rest is marked slow and runs only when asked for:

    pytest -m slow tests/test_modes.py
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests import modes
from tests.helpers import MYPY_2

Build = Callable[[Path], modes.Project]

needs_dmypy = pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")


@pytest.fixture(autouse=True)
def _slow_only_when_asked(request: pytest.FixtureRequest) -> None:
    """Slow tests run only under a `-m` expression that names them (`-m slow`), so that a
    plain `pytest` stays affordable without a change to the project's pytest settings."""
    if request.node.get_closest_marker("slow") and "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow: run with `pytest -m slow tests/test_modes.py`")


def _is_slow(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("slow") is not None


YAML = modes.load_yaml_corpus()


def _yaml(settings: modes.GroupKey, cases: list[modes.Case]) -> Build:
    return lambda dest: modes.write_yaml_project(dest, settings, cases)


slow = pytest.mark.slow
BAKERY = pytest.param(modes.bakery, id="bakery")
GENERATED_SMALL = pytest.param(lambda dest: modes.generated(dest, modules=20, functions=8), id="generated-20")
GENERATED = pytest.param(lambda dest: modes.generated(dest, modules=40, functions=12), id="generated-40", marks=slow)
YAML_COMBINED = [pytest.param(_yaml(s, c), id=modes.group_id(s), marks=slow) for s, c in YAML.groups.items() if not s]
YAML_OTHERS = [pytest.param(_yaml(s, c), id=modes.group_id(s), marks=slow) for s, c in YAML.groups.items() if s]


@pytest.mark.parametrize("build", [BAKERY, GENERATED_SMALL, GENERATED, *YAML_COMBINED, *YAML_OTHERS])
def test_cold_warm_and_parallel_agree(build: Build, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """cold == warm (same cache) == `-n 2` cold (a new cache); the slow runs add `-n 2`
    warm. The YAML projects' cold findings must also be exactly the cases' `# E:` lines."""
    project = build(tmp_path / "project")
    modes.check_cold_warm_parallel(
        project, tmp_path / "caches", parallel=MYPY_2, parallel_warm=MYPY_2 and _is_slow(request)
    )
    if project.name.startswith("yaml-"):
        modes.check_reproduces_yaml_expectations(project)


@pytest.mark.parametrize("build", [BAKERY, GENERATED, *YAML_COMBINED])
def test_signature_edit_incremental_agrees_with_cold(
    build: Build, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """After a signature edit of callees (a session parameter added or removed, a marker
    added), the incremental run == a cold run of the edited project, and the edit changed
    the findings where expected. The slow runs also check `-n 2` incremental."""
    project = build(tmp_path / "project")
    modes.check_signature_edit(project, tmp_path / "caches", parallel=MYPY_2 and _is_slow(request))


@needs_dmypy
@pytest.mark.parametrize("build", [BAKERY, GENERATED, *YAML_COMBINED, *YAML_OTHERS])
def test_daemon_agrees_with_cold(build: Build, tmp_path: Path) -> None:
    """`mypy-session dmypy run` == cold; after the signature edit, `dmypy check` == a cold
    run of the edited project (projects without an edit: only the first)."""
    project = build(tmp_path / "project")
    modes.check_daemon(project, tmp_path / "caches", tmp_path / "daemon")


def test_yaml_cases_are_in_the_corpus() -> None:
    """Nearly every YAML case is placed in a project, each converted module compiles, and
    the harness's edits find their cases: cheap, so it runs by default and catches a
    converter that rots. (Today no case is skipped.)"""
    placed = sum(len(cases) for cases in YAML.groups.values())
    assert placed >= 50
    assert len(YAML.skipped) <= placed // 10, YAML.skipped
    combined = YAML.groups.get(())
    assert combined is not None
    assert {name for name, _, _ in modes.YAML_EDITS} <= {case.name for case in combined}
    for cases in YAML.groups.values():
        for case in cases:
            for path, text in case.files.items():
                compile(text, path, "exec")


def test_yaml_stand_ins_for_frameworks_keep_their_names(tmp_path: Path) -> None:
    """A case's stand-in for FastAPI stays `fastapi` in the combined project (the plugin
    knows `Depends` by its module name; renamed into the case's package, the combined
    project reported two borrowed commits the cases do not), shared by the cases that
    bring the same text; a different text keeps a case out of that project, and so does
    importing FastAPI without bringing it."""
    combined = YAML.groups[()]
    users = [case for case in combined if "fastapi/__init__.py" in case.stand_ins]
    assert len(users) >= 3, [case.name for case in users]
    for case in users:
        main = case.files[f"{case.package}/main.py"]
        assert "from fastapi import Depends" in main
        assert f"{case.package}/fastapi/__init__.py" not in case.files
    raw = {"case": "other_fastapi", "main": "from fastapi import Depends\n",
           "files": [{"path": "fastapi/__init__.py", "content": "Depends = None\n"}]}
    other = modes.convert_case(raw, "x.yml::other_fastapi", set())
    assert "differs" in modes._stand_in_clash(other, combined)
    # A case that imports FastAPI without bringing it (not installed) is kept apart.
    alone = [key for key, cases in YAML.groups.items() if any(c.name == "fastapi_not_installed_depends_still_owns" for c in cases)]
    assert alone and alone[0] != (), alone
    project = modes.write_yaml_project(tmp_path / "p", (), combined)
    assert (project.root / "fastapi" / "__init__.py").read_text(encoding="utf-8") == users[0].stand_ins["fastapi/__init__.py"]


_DOCUMENTED = (
    "docs/known-problems.md: under dmypy, an edit of a marker stub reaches a caller only "
    "when the caller is re-checked for another reason (dmypy restart)"
)
_UNDOCUMENTED = "a daemon limit not in docs/known-problems.md"


@needs_dmypy
@pytest.mark.parametrize("which", sorted(modes.DAEMON_FACT_EDITS))
def test_daemon_follows_fact_edits(which: str, tmp_path: Path) -> None:
    """Edits that change a callee's facts and not its type (a body that starts to open a
    scope two calls away, a marker swapped or removed next to another decorator): dmypy
    re-checks the caller, which depends on those facts (mypy_session/daemon_deps.py)."""
    project = modes.daemon_limit(tmp_path / "project", which)
    modes.check_daemon(project, tmp_path / "caches", tmp_path / "daemon")


@needs_dmypy
@pytest.mark.parametrize(
    "which",
    [
        pytest.param(
            name,
            id=name,
            marks=pytest.mark.xfail(
                strict=True, raises=modes.ModesDisagree, reason=_DOCUMENTED if documented else _UNDOCUMENTED
            ),
        )
        for name, (documented, _, _) in modes.DAEMON_LIMITS.items()
    ],
)
def test_daemon_limits(which: str, tmp_path: Path) -> None:
    """The edit changes the cold findings as expected, but `dmypy check` keeps the old
    (empty) result of the caller. Strict expected failures: a fix shows up here."""
    project = modes.daemon_limit(tmp_path / "project", which)
    modes.check_daemon(project, tmp_path / "caches", tmp_path / "daemon")
