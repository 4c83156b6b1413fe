"""The `session_providers` setting (docs/configuration.md): validated like the other
name lists, part of the cache key, read from TOML and INI."""

from __future__ import annotations

from pathlib import Path

import pytest

from mypy_session.config import ConfigError, load_config
from tests.helpers import write
from tests.test_config import assert_stops_with_one_line
from tests.helpers import run


@pytest.mark.parametrize(
    ("setting", "needle"),
    [
        ('session_providers = "app.db.with_session"', "'session_providers': expected a list of decorator names"),
        ('session_providers = ["app.db.with session"]', "'session_providers': expected a list of decorator names, got 'app.db.with session'"),
    ],
)
def test_bad_session_providers_stop_the_run(tmp_path: Path, setting: str, needle: str) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": f"""
                [tool.mypy]
                plugins = ["mypy_session.plugin"]
                [tool.mypy_session]
                {setting}
            """,
            "m.py": "x = 1\n",
        },
    )
    assert_stops_with_one_line(run(tmp_path, "m.py"), needle, "[tool.mypy_session]")


def test_session_providers_are_read_and_in_the_cache_key(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": "[mypy]\n[mypy_session]\nsession_providers = app.db.with_session, provide\n"})
    config = load_config(str(tmp_path / "mypy.ini"))
    assert config.session_providers == {"app.db.with_session", "provide"}
    assert config.to_json()["session_providers"] == ["app.db.with_session", "provide"]
    assert load_config(None).session_providers == frozenset()
    with pytest.raises(ConfigError):
        write(tmp_path, {"mypy.ini": "[mypy]\n[mypy_session]\nsession_providers = a..b\n"})
        load_config(str(tmp_path / "mypy.ini"))
