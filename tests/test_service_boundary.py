"""`service-boundary` outside the YAML cases: the `guarded` setting's table form (TOML and
INI) and its bad values (one line, exit 2), and the same findings cold, warm, after an edit
of the caller with the model module from the cache, after an edit of the setting, with
`-n 2` and under dmypy (SPEC sections 6 and 8)."""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from mypy_session.config import load_config
from tests.helpers import MYPY_2, Result, run, write
from tests.test_config import assert_stops_with_one_line

MODELS = """
    from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

    class Base(DeclarativeBase):
        pass

    class Unit(Base):
        __tablename__ = "unit"
        id: Mapped[int] = mapped_column(primary_key=True)
        count: Mapped[int] = mapped_column(default=0)

        def bump(self, n: int) -> None:
            self.count += n

    class Other(Base):
        __tablename__ = "other"
        id: Mapped[int] = mapped_column(primary_key=True)
        count: Mapped[int] = mapped_column(default=0)
"""

FILES = {
    "mypy.ini": """
        [mypy]
        plugins = mypy_session.plugin
        [mypy_session.guarded]
        app.models.Unit.count = app.inventory
        app.models.Unit.bump = app.inventory
        [mypy_session.guarded.use]
        app.models.Unit.count = app.inventory.adjust
    """,
    "app/__init__.py": "",
    "app/models.py": MODELS,
    "app/inventory.py": """
        from app.models import Unit

        def adjust(unit: Unit, n: int) -> None:
            unit.count += n
            unit.bump(n)
    """,
    "app/orders.py": """
        from app.models import Other, Unit

        def ship(unit: Unit, other: Other) -> None:
            unit.count -= 1
            unit.bump(-1)
            other.count -= 1
    """,
}

COLD = [
    'app/orders.py:4: error: Write to guarded "Unit.count" outside its allowed modules '
    '(app.inventory); call "app.inventory.adjust" instead  [service-boundary]',
    'app/orders.py:5: error: Call of guarded "Unit.bump" outside its allowed modules '
    "(app.inventory); move this change into one of them  [service-boundary]",
]


def findings(root: Path, *extra: str) -> list[str]:
    result = run(root, *extra, "app")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.errors


# -- the setting ---------------------------------------------------------------------------


def test_toml_table_and_plain_list(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": """
                [tool.mypy_session.guarded]
                "app.models.Unit.count" = { allowed = ["app.inventory", "app.admin"], use = "app.inventory.adjust" }
                "app.models.Unit.bump" = ["app.inventory"]
            """
        },
    )
    config = load_config(str(tmp_path / "pyproject.toml"))
    assert config.guarded == {
        "app.models.Unit.count": ("app.inventory", "app.admin"),
        "app.models.Unit.bump": ("app.inventory",),
    }
    assert config.guarded_use == {"app.models.Unit.count": "app.inventory.adjust"}
    assert config.to_json()["guarded_use"] == {"app.models.Unit.count": "app.inventory.adjust"}


def test_ini_use_section(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": FILES["mypy.ini"]})
    config = load_config(str(tmp_path / "mypy.ini"))
    assert config.guarded == {
        "app.models.Unit.count": ("app.inventory",),
        "app.models.Unit.bump": ("app.inventory",),
    }
    assert config.guarded_use == {"app.models.Unit.count": "app.inventory.adjust"}


BAD_TOML = [
    ("table without allowed", '"m.C.a" = { use = "svc.f" }', "without 'allowed'"),
    ("table with an unknown key", '"m.C.a" = { allowed = ["m"], service = "f" }', "got key 'service'"),
    ("use not a name", '"m.C.a" = { allowed = ["m"], use = 3 }', "'use' a function name, got 3"),
    ("use empty", '"m.C.a" = { allowed = ["m"], use = "" }', "'use' a function name"),
    ("allowed not a list", '"m.C.a" = { allowed = "m" }', "for 'm.C.a' a list of module names"),
]


@pytest.mark.parametrize(("entry", "needle"), [(e, n) for _, e, n in BAD_TOML], ids=[i for i, _, _ in BAD_TOML])
def test_bad_toml_table_stops_the_run(tmp_path: Path, entry: str, needle: str) -> None:
    write(
        tmp_path,
        {
            "pyproject.toml": f"""
                [tool.mypy]
                plugins = ["mypy_session.plugin"]
                [tool.mypy_session.guarded]
                {entry}
            """,
            "m.py": "x = 1\n",
        },
    )
    assert_stops_with_one_line(run(tmp_path, "m.py"), "'guarded'", needle)


BAD_INI = [
    ("use of an unguarded key", "m.C.b = svc.f", "'m.C.b': expected a key of [mypy_session.guarded]"),
    ("use not a name", "m.C.a = svc f", "'use' a function name, got 'svc f'"),
    ("use empty", "m.C.a =", "'use' a function name"),
]


@pytest.mark.parametrize(("entry", "needle"), [(e, n) for _, e, n in BAD_INI], ids=[i for i, _, _ in BAD_INI])
def test_bad_ini_use_stops_the_run(tmp_path: Path, entry: str, needle: str) -> None:
    write(
        tmp_path,
        {
            "mypy.ini": f"""
                [mypy]
                plugins = mypy_session.plugin
                [mypy_session.guarded]
                m.C.a = svc
                [mypy_session.guarded.use]
                {entry}
            """,
            "m.py": "x = 1\n",
        },
    )
    assert_stops_with_one_line(run(tmp_path, "m.py"), needle)


# -- cold, warm, edited, parallel, daemon --------------------------------------------------


def test_cold_warm_and_edited_caller_with_models_from_the_cache(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path) == COLD
    assert findings(tmp_path) == COLD  # warm: replayed from the cache
    # Only the caller changes: app.models and app.inventory come from the cache.
    more = "\n\ndef more(unit: Unit) -> None:\n    del unit.count\n"
    write(tmp_path, {"app/orders.py": textwrap.dedent(FILES["app/orders.py"]) + more})
    edited = findings(tmp_path)
    assert edited == COLD + [
        'app/orders.py:10: error: Delete of guarded "Unit.count" outside its allowed modules '
        '(app.inventory); call "app.inventory.adjust" instead  [service-boundary]'
    ]
    write(tmp_path, {"app/orders.py": FILES["app/orders.py"]})
    assert findings(tmp_path) == COLD
    # The setting is part of the cache key: allowing the module clears its findings.
    write(tmp_path, {"mypy.ini": FILES["mypy.ini"].replace("= app.inventory\n", "= app.inventory, app.orders\n")})
    assert findings(tmp_path) == []
    write(tmp_path, {"mypy.ini": FILES["mypy.ini"]})
    assert findings(tmp_path) == COLD
    shutil.rmtree(tmp_path / ".mypy_cache")
    assert findings(tmp_path) == COLD


def test_nothing_guarded_nothing_reported(tmp_path: Path) -> None:
    write(tmp_path, {**FILES, "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n"})
    assert findings(tmp_path) == []


@pytest.mark.skipif(not MYPY_2, reason="parallel checking (-n) is new in mypy 2")
def test_parallel_checking_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    assert findings(tmp_path, "-n", "2", "--cache-dir", ".cache-parallel") == COLD


@pytest.mark.skipif(shutil.which("dmypy") is None, reason="dmypy not installed")
def test_daemon_matches(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    try:
        daemon = run(tmp_path, "run", "--", "app", module="mypy.dmypy")
        assert [l for l in daemon.stdout.splitlines() if ": error:" in l] == COLD, daemon.stdout + daemon.stderr
        write(tmp_path, {"app/orders.py": FILES["app/orders.py"].replace("unit.count -= 1", "pass")})
        again = run(tmp_path, "run", "--", "app", module="mypy.dmypy")
        assert [l for l in again.stdout.splitlines() if ": error:" in l] == COLD[1:], again.stdout
    finally:
        run(tmp_path, "stop", module="mypy.dmypy")


# -- callers and audit ---------------------------------------------------------------------


def cli(root: Path, *args: str) -> Result:
    return run(root, *args, module="mypy_session")


def test_callers_marks_each_site(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    result = cli(tmp_path, "callers", "Unit.count", "Unit.bump", "--format", "json", "--", "app")
    assert result.status == 0, result.stderr
    sites = {(s["path"], s["line"], s["kind"], s["boundary"]) for s in json.loads(result.stdout)}
    assert sites == {
        ("app/models.py", 12, "write", "allowed"),  # the defining module
        ("app/inventory.py", 4, "write", "allowed"),
        ("app/inventory.py", 5, "call", "allowed"),
        ("app/orders.py", 4, "write", "violation"),
        ("app/orders.py", 5, "call", "violation"),
    }  # other.count is Other's attribute: not listed
    table = cli(tmp_path, "callers", "Unit.count", "--", "app").stdout.splitlines()
    assert table[0].split()[-1] == "boundary"
    assert any("app/orders.py:4" in line and line.endswith("violation") for line in table)


def test_callers_without_guarded_has_no_boundary_column(tmp_path: Path) -> None:
    write(tmp_path, {**FILES, "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n"})
    result = cli(tmp_path, "callers", "Unit.count", "--", "app")
    assert result.stdout.splitlines()[0].split()[-1] == "passed"
    sites = json.loads(cli(tmp_path, "callers", "Unit.count", "--format", "json", "--", "app").stdout)
    assert sites and all(s["boundary"] is None for s in sites)


def test_audit_lists_violations_per_module(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    report = json.loads(cli(tmp_path, "audit", "--format", "json", "app").stdout)
    assert {module: [f["line"] for f in found] for module, found in report["service_boundary"].items()} == {
        "app.orders": [4, 5]
    }
    assert report["summary"]["by_code"]["service-boundary"] == 2
    markdown = cli(tmp_path, "audit", "app").stdout
    assert "## Service boundary" in markdown and "### `app.orders` (2)" in markdown
