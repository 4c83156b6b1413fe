"""`mypy-session init` (issue 15, item 3): the proposal for a service layer written for
the purpose (tests/data/warehouse) and for the bakery example, applied with `--write`,
makes `check` find the planted mistakes; keys already set are kept; INI files; the
baseline; files that do not parse."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from tests.helpers import Result, write
from tests.test_commands import EXAMPLE, cli

WAREHOUSE = Path(__file__).resolve().parent / "data" / "warehouse"
PYPROJECT = '[project]\nname = "warehouse"\nversion = "1.0"\n\n[tool.mypy]\nignore_missing_imports = true\n'


def _warehouse(root: Path, config: str = PYPROJECT, name: str = "pyproject.toml") -> Path:
    shutil.copytree(WAREHOUSE, root, dirs_exist_ok=True)
    (root / name).write_text(config, encoding="utf-8")
    return root


def _planted(root: Path) -> set[tuple[str, int, str]]:
    found = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# planted: " in line:
                found.add((path.relative_to(root).as_posix(), number, line.split("# planted: ", 1)[1].split()[0]))
    return found


def _reported(result: Result) -> set[tuple[str, int, str]]:
    out = set()
    for line in result.errors:
        path, number = line.split(":")[:2]
        out.add((path, int(number), line.rsplit("[", 1)[1].rstrip("]")))
    return out


def _settings(root: Path) -> dict[str, object]:
    data = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    section: dict[str, object] = data["tool"]["mypy_session"]
    return section


def test_the_proposal_for_a_service_layer_is_a_diff_with_its_sources(tmp_path: Path) -> None:
    root = _warehouse(tmp_path)
    (root / "warehouse" / "half_written.py").write_text("def broken(:\n", encoding="utf-8")
    result = cli(root, "init")
    assert result.status == 0, result.stderr
    assert (root / "pyproject.toml").read_text(encoding="utf-8") == PYPROJECT  # not written
    added = [line[1:] for line in result.stdout.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert result.stdout.startswith("--- a/pyproject.toml\n+++ b/pyproject.toml\n")
    assert 'plugins = ["mypy_session.plugin"]' in added
    assert any(line.startswith("check_untyped_defs = true # mypy-session init: ") for line in added)
    expected = {
        '"session", # warehouse/stock.py:',
        '"db", # warehouse/stock.py:6: 4 unannotated parameters used as a session',
        '"warehouse.db.new_session", # warehouse/db.py:16: returns a session (untyped)',
        '"warehouse.db.unit_of_work", # warehouse/db.py:21: @contextmanager yielding a session (untyped)',
        '"warehouse.db.with_session", # warehouse/db.py:33: decorator passing a session',
        '"warehouse.db.nightly_job", # warehouse/db.py:44: decorator always opening the session it passes',
    }
    for text in expected:
        assert any(line.strip().startswith(text) for line in added), (text, added)
    assert "mypy-session: skipped warehouse/half_written.py (line 1): it does not parse" in result.stderr
    assert "run again with --write" in result.stderr


def test_the_applied_proposal_finds_every_planted_mistake(tmp_path: Path) -> None:
    root = _warehouse(tmp_path)
    planted = _planted(root)
    assert len(planted) == 3
    before = _reported(cli(root, "check", "--select", "session", "warehouse"))
    assert not planted <= before  # the settings are needed
    written = cli(root, "init", "--write")
    assert written.status == 0, written.stderr
    assert written.stdout == "mypy-session: wrote the proposal to pyproject.toml\n"
    settings = _settings(root)
    assert settings["session_param_names"] == ["session", "db"]
    assert settings["scope_factories"] == ["warehouse.db.new_session", "warehouse.db.unit_of_work"]
    assert settings["session_providers"] == ["warehouse.db.with_session"]
    assert settings["session_owners"] == ["warehouse.db.nightly_job"]
    after = cli(root, "check", "--select", "session", "warehouse")
    assert after.status == 1, after.stdout + after.stderr
    assert _reported(after) == planted  # all of them, and nothing else (the owned commit)
    again = cli(root, "init")
    assert again.status == 0 and again.stdout == ""  # nothing left to propose


def test_the_bakery_gets_the_settings_its_authors_wrote(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path, dirs_exist_ok=True)
    original = tomllib.loads((tmp_path / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["mypy_session"]
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    head, rest = text.split("[tool.mypy_session]\n", 1)
    (tmp_path / "pyproject.toml").write_text(head + rest[rest.index("[tool.mypy_session.guarded]"):], encoding="utf-8")
    result = cli(tmp_path, "init", "--write")
    assert result.status == 0, result.stderr
    proposed = _settings(tmp_path)
    assert set(proposed["session_param_names"]) == set(original["session_param_names"])  # type: ignore[call-overload]
    assert set(proposed["scope_factories"]) == set(original["scope_factories"])  # type: ignore[call-overload]
    assert proposed["guarded"] == original["guarded"]  # the rest of the file as it was
    assert "bakery.database.SessionLocal = sessionmaker(...)" in (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    check = cli(tmp_path, "check", "--select", "session", "bakery")
    assert check.status == 1
    assert len(check.errors) == 25  # the planted mistakes (tests/test_example.py)


def test_a_key_already_set_is_kept_unless_forced(tmp_path: Path) -> None:
    config = PYPROJECT + '\n[tool.mypy_session]\nscope_factories = ["warehouse.db.other"]  # ours\n'
    root = _warehouse(tmp_path, config)
    kept = cli(root, "init", "--write")
    assert kept.status == 0
    assert "mypy-session: kept scope_factories as it is in pyproject.toml; --force replaces it" in kept.stderr
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    assert 'scope_factories = ["warehouse.db.other"]  # ours' in text
    assert _settings(root)["session_owners"] == ["warehouse.db.nightly_job"]
    forced = cli(root, "init", "--write", "--force")
    assert forced.status == 0
    assert _settings(root)["scope_factories"] == ["warehouse.db.new_session", "warehouse.db.unit_of_work"]


@pytest.mark.parametrize("name", ["setup.cfg", "mypy.ini"])
def test_ini_configs(tmp_path: Path, name: str) -> None:
    config = "[metadata]\nname = warehouse\n\n[mypy]\nignore_missing_imports = True\n" if name == "setup.cfg" else "[mypy]\nignore_missing_imports = True\n"
    root = _warehouse(tmp_path, config, name)
    result = cli(root, "init", "--write")
    assert result.status == 0, result.stderr
    text = (root / name).read_text(encoding="utf-8")
    assert text.startswith(config.rstrip("\n"))
    assert "plugins = mypy_session.plugin" in text and "check_untyped_defs = True" in text
    assert "[mypy_session]\nsession_param_names =\n    # warehouse/stock.py:" in text
    assert "    warehouse.db.unit_of_work\n" in text
    check = cli(root, "check", "--select", "session", "warehouse")
    assert _reported(check) == _planted(root)


def test_baseline_records_todays_findings(tmp_path: Path) -> None:
    root = _warehouse(tmp_path)
    result = cli(root, "init", "--write", "--baseline", "warehouse")  # a path after the flag
    assert result.status == 0, result.stderr
    assert _settings(root)["baseline"] == "mypy-session-baseline.json"
    entries = json.loads((root / "mypy-session-baseline.json").read_text(encoding="utf-8"))["findings"]
    assert len(entries) == 3
    clean = cli(root, "check", "--select", "session", "warehouse")
    assert clean.status == 0, clean.stdout
    # A new mistake is reported; the baselined ones are not.
    stock = root / "warehouse" / "stock.py"
    stock.write_text(stock.read_text(encoding="utf-8") + "\n\ndef restock(db):\n    find_item('x')\n", encoding="utf-8")
    new = cli(root, "check", "--select", "session", "warehouse")
    assert new.status == 1
    assert [line.split(":")[1] for line in new.errors] == [str(len(stock.read_text(encoding="utf-8").splitlines()))]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = cli(tmp_path, "init", "nowhere")
    assert missing.status == 2
    assert missing.stderr.strip() == "mypy-session: error: nowhere: no such file or directory"
    write(tmp_path, {"pyproject.toml": "[tool.mypy\n", "app/__init__.py": ""})
    broken = cli(tmp_path, "init")
    assert broken.status == 2
    assert len(broken.stderr.strip().splitlines()) == 1 and "pyproject.toml" in broken.stderr


def test_no_crash_on_large_real_code() -> None:
    """The static reader on SQLAlchemy's own ORM package: it must finish, and propose no
    parameter names for a library that has no service layer."""
    import sqlalchemy.orm

    from mypy_session.commands.init import propose

    proposal = propose([str(Path(sqlalchemy.orm.__file__).parent)])
    assert proposal.skipped == []
    assert proposal.settings["session_owners"] == []


def test_another_plugins_list_is_extended_only_with_force() -> None:
    from mypy_session.commands.init import Proposal, updated_ini, updated_toml

    text = '[tool.mypy]\nplugins = ["pydantic.mypy"]  # theirs\n'
    kept: list[str] = []
    assert updated_toml(text, Proposal(), force=False, kept=kept) == text
    assert kept == ["plugins"]
    assert 'plugins = ["pydantic.mypy", "mypy_session.plugin"]' in updated_toml(text, Proposal(), force=True, kept=[])
    ini = "[mypy]\nplugins = pydantic.mypy\n"
    kept = []
    assert updated_ini(ini, Proposal(), force=False, kept=kept) == ini
    assert kept == ["plugins"]
    assert "plugins = pydantic.mypy, mypy_session.plugin\n" in updated_ini(ini, Proposal(), force=True, kept=[])
    assert updated_toml("", Proposal(), force=False, kept=[]) == '[tool.mypy]\nplugins = ["mypy_session.plugin"]\n'


def test_a_scoped_registry_is_a_comment_and_the_context_manager_on_it_an_entry(tmp_path: Path) -> None:
    """Rucio's shape: `get_session()` returns a `scoped_session` registry (the same session
    again within a thread), `db_session()` opens one from it; decorators provide it."""
    from mypy_session.commands.init import propose

    write(tmp_path, {
        "app/__init__.py": "",
        "app/db.py": """
            from contextlib import contextmanager
            from typing import Iterator, Optional
            from sqlalchemy.orm import Session, scoped_session, sessionmaker
            _MAKER = None

            def get_maker() -> sessionmaker:
                global _MAKER
                _MAKER = sessionmaker()
                return _MAKER

            def get_session() -> scoped_session:
                session = scoped_session(_MAKER)
                return session

            @contextmanager
            def db_session() -> "Iterator[Session]":
                session_scoped = get_session()
                session = session_scoped()
                yield session

            def read_session(function):
                def new_funct(*args, session: "Optional[Session]" = None, **kwargs):
                    if not session:
                        session_scoped = get_session()
                        return function(*args, session=session_scoped(), **kwargs)
                    return function(*args, session=session, **kwargs)
                return new_funct
        """,
    })
    proposal = propose([str(tmp_path / "app")])
    assert [e.value for e in proposal.settings["scope_factories"]] == ["app.db.db_session"]
    assert any(note.startswith("app.db.get_session (") and "not listed" in note for note in proposal.notes)
    assert [e.value for e in proposal.settings["session_providers"]] == ["app.db.read_session"]
    assert proposal.settings["session_owners"] == []
