"""`mypy-session fix` end to end, on copies of the example app (examples/bakery) and of a
service layer written for it (tests/data/fix_corpus): after fixing, every file compiles,
mypy reports no error it did not report before, the fixed findings are gone, and a second
run changes nothing. Plus the command's contract: --diff, --select, exit status, the
summary, atomic writes keeping the mode, files left untouched."""

from __future__ import annotations

import os
import re
import shutil
import stat
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, Result, run, write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "bakery"
CORPUS = Path(__file__).resolve().parent / "data" / "fix_corpus"
SAFE_CODES = {"session-not-forwarded", "session-read-not-forwarded", "session-mismatch"}
_ERROR = re.compile(r"^(?P<path>[^:]+):\d+: error: (?P<message>.*)  \[(?P<code>[a-z-]+)\]$")


def cli(root: Path, *args: str) -> Result:
    return run(root, *args, module="mypy_session")


def copy(source: Path, tmp_path: Path) -> Path:
    target = tmp_path / source.name
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".mypy_cache", "__pycache__"))
    return target


def sources(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*.py"))
    }


def errors(result: Result) -> Counter[tuple[str, str, str]]:
    """mypy's errors as (path, code, message): lines move when code is fixed."""
    found: Counter[tuple[str, str, str]] = Counter()
    for line in result.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            found[(match["path"], match["code"], match["message"])] += 1
    return found


def mypy(root: Path, target: str) -> Counter[tuple[str, str, str]]:
    return errors(run(root, "--no-incremental", target))


def summary(result: Result) -> str:
    return result.stdout.strip().splitlines()[-1]


def assert_compiles(root: Path) -> None:
    for name, text in sources(root).items():
        compile(text, name, "exec", dont_inherit=True)


@pytest.fixture(scope="module")
def bakery_before(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, str, str]]:
    found = mypy(copy(EXAMPLE, tmp_path_factory.mktemp("pristine")), "bakery")
    assert sum(found.values()) == 25  # the planted mistakes (docs/commands/fix.md counts them)
    return found


@pytest.fixture(scope="module")
def corpus_before(tmp_path_factory: pytest.TempPathFactory) -> Counter[tuple[str, str, str]]:
    found = mypy(copy(CORPUS, tmp_path_factory.mktemp("pristine")), "shop")
    assert sum(found.values()) == 14
    return found


def assert_better(
    before: Counter[tuple[str, str, str]], after: Counter[tuple[str, str, str]], fixed: int
) -> None:
    """No new error; exactly `fixed` of the old ones gone."""
    assert not (after - before), f"new errors: {after - before}"
    assert sum(before.values()) - sum(after.values()) == fixed


# -- the example app ------------------------------------------------------------------------


def test_bakery_safe_fixes(tmp_path: Path, bakery_before: Counter[tuple[str, str, str]]) -> None:
    root = copy(EXAMPLE, tmp_path)
    result = cli(root, "fix", "bakery")
    assert result.status == 1, result.stderr  # findings with unsafe or no fixes remain
    assert summary(result) == "fixed 7 of 25 findings in 7 files; 9 more with --unsafe-fixes"
    assert_compiles(root)
    after = mypy(root, "bakery")
    assert_better(bakery_before, after, fixed=7)
    assert not {code for _, code, _ in after} & SAFE_CODES
    text = (root / "bakery" / "repositories.py").read_text()
    assert "ingredient_service.set_reorder_level(slug, level, session=self.session)  # planted" in text
    # a second run changes nothing
    fixed_once = sources(root)
    again = cli(root, "fix", "bakery")
    assert summary(again) == "fixed 0 of 18 findings in 0 files; 9 more with --unsafe-fixes"
    assert sources(root) == fixed_once


def test_bakery_unsafe_fixes_leave_only_what_has_no_fix(
    tmp_path: Path, bakery_before: Counter[tuple[str, str, str]]
) -> None:
    root = copy(EXAMPLE, tmp_path)
    result = cli(root, "fix", "--unsafe-fixes", "bakery")
    assert summary(result) == "fixed 16 of 25 findings in 9 files"
    assert result.status == 1
    assert_compiles(root)
    after = mypy(root, "bakery")
    assert_better(bakery_before, after, fixed=16)
    # What is left has no fix: a borrowed rollback(), a detached return, the boundary.
    assert sorted({(path, code) for path, code, _ in after}) == [
        ("bakery/services/assembly_service.py", "service-boundary"),
        ("bakery/services/ingredient_service.py", "session-detached-return"),
        ("bakery/services/inventory_service.py", "session-borrowed-commit"),
        ("bakery/services/production_service.py", "service-boundary"),
        ("bakery/services/shelf_import.py", "service-boundary"),
    ]
    reported = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(reported) == 9  # the command lists what remains
    # the batch job now runs in one pattern B scope, to its end
    production = (root / "bakery" / "services" / "production_service.py").read_text()
    assert "        return [record_production(run_id, session=session) for run_id in run_ids]\n" in production
    feed = (root / "bakery" / "services" / "finished_goods_inventory_service.py").read_text()
    assert "def _build_storefront_feed(session: Session | None = None) -> dict[str, int]:" in feed
    assert "with (nullcontext(session) if session is not None else session_scope()) as session:" in feed
    fixed_once = sources(root)
    again = cli(root, "fix", "--unsafe-fixes", "bakery")
    assert summary(again) == "fixed 0 of 9 findings in 0 files"
    assert sources(root) == fixed_once


def test_diff_writes_nothing(tmp_path: Path) -> None:
    root = copy(EXAMPLE, tmp_path)
    before = sources(root)
    result = cli(root, "fix", "--diff", "bakery")
    assert result.status == 1
    assert "--- a/bakery/services/inventory_service.py" in result.stdout
    assert "+            results.append(consume(slug, qty, session=session))  # planted: session-not-forwarded" in result.stdout
    assert summary(result) == "would fix 7 of 25 findings in 7 files; 9 more with --unsafe-fixes"
    assert sources(root) == before


# -- the service layer written for it --------------------------------------------------------


def test_corpus_unsafe_fixes(tmp_path: Path, corpus_before: Counter[tuple[str, str, str]]) -> None:
    root = copy(CORPUS, tmp_path)
    result = cli(root, "fix", "--unsafe-fixes", "shop")
    assert summary(result) == "fixed 12 of 14 findings in 4 files", result.stdout + result.stderr
    assert_compiles(root)
    after = mypy(root, "shop")
    assert_better(corpus_before, after, fixed=12)
    assert sorted(code for _, code, _ in after) == ["session-borrowed-commit", "session-nested-scope"]
    orders = (root / "shop" / "orders.py").read_text()
    assert "return add_loyalty_points(customer_id, points, db=self.session)  # not forwarded" in orders
    # a wrapped call keeps its layout, its comment and its trailing comma
    assert (
        "                quantity,  # wrapped call with a trailing comma: not forwarded\n"
        "                session=active,\n"
        "            )"
    ) in orders
    assert "            db=active,  # the outer, maybe-None parameter: mismatch, db=active\n" in orders
    assert "customers.add_loyalty_points(order.customer_id, -int(order.total), session)" in orders
    assert 'notify_customer(order.customer_id, "cancelled", session=session)' in orders
    # the chain is threaded across modules, imports added
    notifications = (root / "shop" / "notifications.py").read_text()
    assert "def notify_customer(customer_id: int, text: str, session: Session | None = None) -> None:" in notifications
    assert "email = _email_of(customer_id, session=session)" in notifications
    assert "from sqlalchemy.orm import Session" in notifications
    assert "from contextlib import nullcontext" in notifications
    inventory = (root / "shop" / "inventory.py").read_text()
    assert "    session.flush()  # session-borrowed-commit" in inventory
    assert "    other = Session()  # session-nested-scope, not a `with`: left alone" in inventory
    fixed_once = sources(root)
    again = cli(root, "fix", "--unsafe-fixes", "shop")
    assert summary(again) == "fixed 0 of 2 findings in 0 files"
    assert sources(root) == fixed_once


def test_select_takes_the_read_only_sub_code_with_its_parent(tmp_path: Path) -> None:
    root = copy(EXAMPLE, tmp_path)
    result = cli(root, "fix", "--select", "session-not-forwarded", "bakery")
    assert summary(result) == "fixed 5 of 5 findings in 5 files; 0 more with --unsafe-fixes"
    assert result.status == 0  # nothing selected is left
    text = (root / "bakery" / "services" / "purchase_service.py").read_text()
    assert "info = describe_ingredient(slug, session=session)" in text  # the read-only one
    assert "remove_units(run.product_id" in (root / "bakery" / "services" / "production_service.py").read_text()
    assert "session=sess)" not in (root / "bakery" / "services" / "production_service.py").read_text()


# -- the command's contract on a small project ---------------------------------------------


SMALL = {
    "pyproject.toml": """
        [tool.mypy]
        plugins = ["mypy_session.plugin"]
        strict = true
    """,
    "app/__init__.py": "",
    "app/db.py": DB_MODULE,
    "app/svc.py": """
        from sqlalchemy.orm import Session

        from app.db import session_scope


        def load(key: int, session: Session | None = None) -> None: ...


        def run(key: int) -> None:
            with session_scope() as s:
                load(key)
    """,
}


def test_ignore_leaves_the_ignored_codes_alone(tmp_path: Path) -> None:
    write(tmp_path, SMALL)
    before = (tmp_path / "app" / "svc.py").read_text()
    result = cli(tmp_path, "fix", "--ignore", "session-not-forwarded", "app")
    assert (result.status, summary(result)) == (0, "fixed 0 of 0 findings in 0 files; 0 more with --unsafe-fixes")
    assert (tmp_path / "app" / "svc.py").read_text() == before
    result = cli(tmp_path, "fix", "--select", "session", "--ignore", "session-mismatch", "app")
    assert result.status == 0 and "load(key, session=s)" in (tmp_path / "app" / "svc.py").read_text()


def test_nothing_to_fix_is_exit_0(tmp_path: Path) -> None:
    write(tmp_path, {**SMALL, "app/svc.py": "def run() -> None: ...\n"})
    result = cli(tmp_path, "fix", "app")
    assert (result.status, summary(result)) == (0, "fixed 0 of 0 findings in 0 files; 0 more with --unsafe-fixes")
    result = cli(tmp_path, "fix", "--diff", "app")
    assert result.status == 0


def test_writes_keep_the_file_mode_and_leave_no_temporary_file(tmp_path: Path) -> None:
    write(tmp_path, SMALL)
    target = tmp_path / "app" / "svc.py"
    os.chmod(target, 0o640)
    result = cli(tmp_path, "fix", "app")
    assert result.status == 0, result.stdout + result.stderr
    assert "load(key, session=s)" in target.read_text()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in target.parent.iterdir() if p.name.startswith(".")) == []


def test_a_file_mypy_cannot_parse_stops_the_run_and_nothing_changes(tmp_path: Path) -> None:
    write(tmp_path, {**SMALL, "app/broken.py": "def f(:\n"})
    before = sources(tmp_path)
    result = cli(tmp_path, "fix", "app")
    assert result.status == 2
    assert "app/broken.py" in result.stderr and "no file was changed" in result.stderr
    assert sources(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--select", "session-nope"], "unknown error code 'session-nope'"),
        (["--ignore", "session-nope"], "unknown error code 'session-nope'"),
        (["--unsafe", "app"], "unrecognised argument --unsafe"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path, args: list[str], expected: str) -> None:
    write(tmp_path, SMALL)
    result = cli(tmp_path, "fix", *args)
    assert result.status == 2
    assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_a_file_changed_since_the_analysis_is_left_untouched_and_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mypy_session.commands import build
    from mypy_session.commands.fix import fix

    write(tmp_path, SMALL)
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "app" / "svc.py"
    real_run = build.run

    def run_then_edit(*args: object, **kwargs: object) -> build.Outcome:
        outcome = real_run(*args, **kwargs)  # type: ignore[arg-type]
        target.write_text(target.read_text() + "# edited meanwhile\n")
        return outcome

    monkeypatch.setattr(build, "run", run_then_edit)
    status = fix(["app"])
    out, err = capsys.readouterr()
    assert status == 1
    assert "app/svc.py: left untouched: changed since the analysis" in err
    assert target.read_text().endswith("        load(key)\n# edited meanwhile\n")
    assert out.strip().splitlines()[-1] == "fixed 0 of 1 findings in 0 files; 0 more with --unsafe-fixes"
