"""`audit`, `callers`, `baseline` and SARIF output (SPEC section 7), end to end: each runs
`python -m mypy_session ...` in a scratch project, as a user would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import DB_MODULE, Result, run, write

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "bakery"
SCHEMA = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"

# A service layer the plugin's own cases do not use, written to be audited.
PROJECT = {
    "mypy.ini": "[mypy]\ncheck_untyped_defs = True\n",
    "shop/__init__.py": "",
    "shop/db.py": DB_MODULE,
    "shop/models.py": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Order(Base):
            __tablename__ = "orders"
            id: Mapped[int] = mapped_column(primary_key=True)
            status: Mapped[str]
            total: Mapped[int]

        class Invoice(Base):
            __tablename__ = "invoices"
            id: Mapped[int] = mapped_column(primary_key=True)
            status: Mapped[str]
    """,
    "shop/services.py": """
        from sqlalchemy.orm import Session
        from shop.db import session_scope
        from shop.models import Invoice, Order
        from mypy_session import ReadOnly

        @ReadOnly
        def get_order(order_id: int, session: Session | None = None) -> Order | None:
            if session is not None:
                return session.get(Order, order_id)
            with session_scope() as s:
                return s.get(Order, order_id)

        def get_invoice(invoice_id: int, session: Session | None = None) -> Invoice | None:
            with session_scope() as s:  # ignores the caller's session
                return s.get(Invoice, invoice_id)

        def mark_paid(order: Order, session: Session) -> None:
            order.status = "paid"
            session.add(order)

        def settle(order_id: int, session: Session) -> None:
            order = get_order(order_id, session=session)
            if order is not None:
                mark_paid(order, session=session)
                invoice = get_invoice(order_id)
                if invoice is not None:
                    invoice.status = "settled"

        def refresh_totals() -> None:
            with session_scope() as s:
                s.flush()

        def nightly() -> None:
            refresh_totals()

        def close_orders(order_id: int) -> None:
            order = get_order(order_id)
            with session_scope() as session:
                if order is not None:
                    mark_paid(order, session=session)
                nightly()
    """,
    "shop/other.py": """
        class Recipe:
            def mark_paid(self) -> None:
                pass

        def use(recipe: Recipe) -> None:
            recipe.mark_paid()
    """,
}


def cli(root: Path, *args: str) -> Result:
    return run(root, *args, module="mypy_session")


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shop")
    write(root, PROJECT)
    return root


@pytest.fixture(scope="module")
def shop_audit(shop: Path) -> dict[str, object]:
    result = cli(shop, "audit", "--format", "json", "shop")
    assert result.status == 1, result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


@pytest.fixture(scope="module")
def example_audit(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, dict[str, object]]:
    root = tmp_path_factory.mktemp("example")
    shutil.copytree(EXAMPLE, root, dirs_exist_ok=True)
    markdown = cli(root, "audit", "--output-file", "audit.md", ".")
    assert markdown.status == 1, markdown.stderr
    result = cli(root, "audit", "--format", "json", ".")
    assert result.status == 1, result.stderr
    return root, (root / "audit.md").read_text(encoding="utf-8"), json.loads(result.stdout)


def _function(data: dict[str, object], name: str) -> dict[str, object]:
    functions = data["functions"]
    assert isinstance(functions, list)
    return next(f for f in functions if f["name"] == name)


# -- audit -----------------------------------------------------------------------------


def test_audit_json_has_the_documented_fields(shop_audit: dict[str, object]) -> None:
    settle = _function(shop_audit, "settle")
    assert set(settle) >= {
        "module", "name", "path", "line", "session_param", "classification", "declared",
        "calls", "chains", "status",
    }
    assert settle["module"] == "shop.services" and settle["path"] == "shop/services.py"
    assert settle["session_param"] == "required"
    calls = {c["callee"]: c for c in settle["calls"]}  # type: ignore[union-attr]
    assert calls["get_order"]["session_passed"] == "yes"
    assert calls["mark_paid"]["session_passed"] == "yes"
    assert calls["get_invoice"]["session_passed"] == "no"
    assert calls["get_invoice"]["status"] == "session-not-forwarded"
    assert settle["status"] == "session-not-forwarded"
    summary = shop_audit["summary"]
    assert isinstance(summary, dict) and "by_code" in summary
    for finding in shop_audit["findings"]:  # type: ignore[union-attr]
        assert set(finding) >= {"code", "path", "line", "column", "message", "function"}


def test_audit_classifies_declared_and_inferred(shop_audit: dict[str, object]) -> None:
    get_order = _function(shop_audit, "get_order")
    assert (get_order["declared"], get_order["classification"]) == ("ReadOnly", "READ")
    mark_paid = _function(shop_audit, "mark_paid")  # one object written and added
    assert (mark_paid["declared"], mark_paid["classification"]) == (None, "SINGLE")
    settle = _function(shop_audit, "settle")  # a write of its own plus a writing service
    assert settle["classification"] == "MULTI"
    assert _function(shop_audit, "get_invoice")["classification"] == "READ"


def test_audit_finds_what_manual_audits_miss(shop_audit: dict[str, object]) -> None:
    """A session=None parameter that is ignored; a load before the scope used inside it."""
    codes = {(f["code"], f["function"]) for f in shop_audit["findings"]}  # type: ignore[union-attr]
    assert ("session-param-unused", "shop.services.get_invoice") in codes
    assert ("session-detached-use", "shop.services.close_orders") in codes
    assert ("session-callee-opens-scope", "shop.services.close_orders") in codes
    # get_order uses its parameter (pattern B): not flagged
    assert not any(c == "session-param-unused" and f.endswith("get_order") for c, f in codes)


def test_audit_lists_chains_through_functions_without_a_session(shop_audit: dict[str, object]) -> None:
    chains = shop_audit["chains"]
    assert "nightly -> refresh_totals -> session_scope()" in chains  # type: ignore[operator]
    close = _function(shop_audit, "close_orders")
    assert "nightly -> refresh_totals -> session_scope()" in close["chains"]  # type: ignore[operator]


def test_audit_markdown_of_the_example(example_audit: tuple[Path, str, dict[str, object]]) -> None:
    root, markdown, data = example_audit
    for heading in ("## Functions", "## Issues", "## Summary", "## Chains that open their own session"):
        assert heading in markdown
    assert "| Function | Session param | Classification | Call | Line | Session passed? | Status |" in markdown
    # every planted mistake of a reported code is an issue of the audit, at its line
    planted = _planted(root)
    found = {(f["path"], f["line"], f["code"]) for f in data["findings"]}  # type: ignore[union-attr]
    assert planted <= found, planted - found
    for path, line, code in planted:
        assert f"`{code}` at {path}:{line}" in markdown


def _planted(root: Path) -> set[tuple[str, int, str]]:
    """`# planted: <code>` comments of the codes the plugin reports by default."""
    reported = {
        "session-not-forwarded", "session-read-not-forwarded", "session-nested-scope",
        "session-mismatch", "session-borrowed-commit", "session-detached-use",
        "session-callee-opens-scope", "session-missing-param",
    }
    found = set()
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "# planted: " in line:
                code = line.split("# planted: ", 1)[1].split()[0].rstrip(",;.")
                if code in reported:
                    found.add((path.relative_to(root).as_posix(), number, code))
    return found


def test_audit_sarif_is_valid(shop: Path) -> None:
    result = cli(shop, "audit", "--format", "sarif", "shop")
    assert result.status == 1
    log = json.loads(result.stdout)
    _validate(log)
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert "session-param-unused" in rules
    assert all(rule["help"]["text"] for rule in rules.values())
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == set(rules)
    assert all(r["partialFingerprints"] for r in results)


def test_check_sarif_is_valid_and_keeps_the_exit_status(shop: Path) -> None:
    result = cli(shop, "check", "--format", "sarif", "shop")
    assert result.status == 1, result.stderr
    log = json.loads(result.stdout)
    _validate(log)
    results = log["runs"][0]["results"]
    assert any(r["ruleId"] == "session-not-forwarded" for r in results)
    location = results[0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"].startswith("shop/")


def _validate(log: dict[str, object]) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.validate(log, schema)


def test_progress_lines_only_when_asked_or_on_a_terminal(shop: Path) -> None:
    quiet = cli(shop, "audit", "--format", "json", "shop")
    assert "mypy-session: checked" not in quiet.stderr  # a pipe: quiet
    loud = cli(shop, "audit", "--format", "json", "--progress", "shop")
    assert "mypy-session: checked" in loud.stderr
    assert json.loads(loud.stdout)["functions"]  # the report itself is unchanged


# -- callers ---------------------------------------------------------------------------


def test_callers_resolves_by_type(shop: Path) -> None:
    result = cli(shop, "callers", "Order.status", "services.mark_paid", "--format", "json", "--", "shop")
    assert result.status == 0, result.stderr
    sites = json.loads(result.stdout)
    calls = [s for s in sites if s["kind"] == "call"]
    # Recipe.mark_paid in shop/other.py is another class's method: not listed
    assert {(s["path"], s["function"]) for s in calls} == {
        ("shop/services.py", "shop.services.settle"),
        ("shop/services.py", "shop.services.close_orders"),
    }
    assert all(s["session_passed"] == "yes" for s in calls)
    writes = [s for s in sites if s["kind"] == "write"]
    assert [(s["target"], s["function"]) for s in writes] == [
        ("shop.models.Order.status", "shop.services.mark_paid")
    ]  # invoice.status is Invoice's attribute


def test_callers_table(shop: Path) -> None:
    result = cli(shop, "callers", "get_invoice", "Nowhere.thing", "--", "shop")
    assert result.status == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["location", "kind", "target", "function", "session", "passed"]
    assert any("shop/services.py" in line and " no" in line for line in lines[1:])
    assert "none found for Nowhere.thing" in lines[-1]


# -- baseline --------------------------------------------------------------------------


def test_baseline_ratchet(tmp_path: Path) -> None:
    files = dict(PROJECT)
    files["mypy.ini"] = (
        "[mypy]\ncheck_untyped_defs = True\nplugins = mypy_session.plugin\n"
        "[mypy_session]\nbaseline = session-baseline.json\n"
    )
    write(tmp_path, files)
    before = run(tmp_path, "shop")
    assert before.status == 1 and before.errors
    created = cli(tmp_path, "baseline", "shop")
    assert created.status == 0, created.stderr
    entries = json.loads((tmp_path / "session-baseline.json").read_text())["findings"]
    assert len(entries) == len(before.errors)
    assert run(tmp_path, "shop").status == 0  # everything known is accepted

    services = tmp_path / "shop" / "services.py"
    text = services.read_text()
    # shift every line, fix one finding (nightly() opened its own scope), and add an
    # identical second call: a new finding, although its message is the same
    text = "\n\n" + text.replace(
        "invoice = get_invoice(order_id)",
        "invoice = get_invoice(order_id)\n        get_invoice(order_id)",
    ).replace("        nightly()\n", "")
    services.write_text(text)
    after = run(tmp_path, "shop")
    assert after.status == 1
    assert len(after.errors) == 1 and "get_invoice" in after.errors[0]

    updated = cli(tmp_path, "baseline", "shop")
    assert updated.status == 0
    assert "new, not added" in updated.stdout
    remaining = json.loads((tmp_path / "session-baseline.json").read_text())["findings"]
    assert len(remaining) == len(entries) - 1  # the fixed one left, nothing was added
    assert run(tmp_path, "shop").status == 1  # the new one is still reported

    accepted = cli(tmp_path, "baseline", "--accept-new", "shop")
    assert accepted.status == 0 and "added:" in accepted.stdout
    assert run(tmp_path, "shop").status == 0


def test_baseline_never_shrinks_on_a_syntax_error(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "mypy.ini": "[mypy]\n[mypy_session]\nbaseline = b.json\n"})
    assert cli(tmp_path, "baseline", "shop").status == 0
    saved = (tmp_path / "b.json").read_text()
    (tmp_path / "shop" / "broken.py").write_text("def f(:\n")
    result = cli(tmp_path, "baseline", "shop")
    assert result.status == 2 and "broken.py" in result.stderr
    assert (tmp_path / "b.json").read_text() == saved


def test_baseline_needs_a_file(tmp_path: Path) -> None:
    write(tmp_path, PROJECT)
    result = cli(tmp_path, "baseline", "shop")
    assert result.status == 2
    assert result.stderr.strip().splitlines() == [
        "mypy-session: error: no baseline file: set `baseline` in [tool.mypy_session] "
        "(or [mypy_session]) or pass --file"
    ]


def test_a_malformed_baseline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    write(tmp_path, {**PROJECT, "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\n[mypy_session]\nbaseline = b.json\n", "b.json": "{nope"})
    result = run(tmp_path, "shop")
    assert result.status == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "b.json" in lines[0] and "baseline" in lines[0]
