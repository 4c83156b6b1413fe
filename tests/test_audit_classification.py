"""`audit` classifies by what a function writes (issue 12, item 4): bulk statements
(`Query.update()` / `delete()`, `execute()` of `update()` / `delete()` / `insert()` or of
`text("UPDATE ...")`), `session.delete(obj)`, `bulk_*` methods and `commit()` are writes;
queries are not. Each function is audited as a user runs it (`python -m mypy_session`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import DB_MODULE, run, write

PROJECT = {
    "mypy.ini": "[mypy]\ncheck_untyped_defs = True\n",
    "app/__init__.py": "",
    "app/db.py": DB_MODULE,
    "app/models.py": """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

        class Base(DeclarativeBase):
            pass

        class Lot(Base):
            __tablename__ = "lots"
            id: Mapped[int] = mapped_column(primary_key=True)
            quantity: Mapped[int]
    """,
    "app/services.py": """
        import sqlalchemy as sa
        from sqlalchemy import delete, insert, select, text, update
        from sqlalchemy.ext.asyncio import AsyncSession
        from sqlalchemy.orm import Session
        from app.models import Lot


        def query_update(session: Session) -> None:
            session.query(Lot).filter(Lot.quantity == 0).update({"quantity": 1})


        def query_delete(session: Session) -> None:
            session.query(Lot).filter(Lot.quantity == 0).delete()


        def execute_update(session: Session) -> None:
            session.execute(update(Lot).where(Lot.id == 1).values(quantity=2))


        def execute_delete_local(session: Session) -> None:
            stmt = delete(Lot).where(Lot.quantity == 0)
            session.execute(stmt)


        def execute_insert(session: Session) -> None:
            session.execute(sa.insert(Lot).values(quantity=3))


        def execute_text(session: Session) -> None:
            session.execute(text("UPDATE lots SET quantity = 0"))


        def execute_text_local(session: Session) -> None:
            sql = text("  delete from lots")
            session.execute(sql)


        def session_delete(lot: Lot, session: Session) -> None:
            session.delete(lot)


        def bulk(rows: list[dict[str, int]], session: Session) -> None:
            session.bulk_insert_mappings(Lot, rows)


        def commits(session: Session) -> None:
            session.commit()


        async def async_update(session: AsyncSession) -> None:
            await session.execute(update(Lot).values(quantity=0))


        def legacy_update(session=None):
            session.query(Lot).filter(Lot.id == 1).update({"quantity": 1})


        def legacy_text(session=None):
            session.execute(text("INSERT INTO lots (quantity) VALUES (1)"))


        def two_bulk_statements(session: Session) -> None:
            session.execute(update(Lot).values(quantity=0))
            session.query(Lot).delete()


        def reads(session: Session) -> list[Lot]:
            session.execute(text("SELECT 1"))
            session.execute(select(Lot))
            session.query(Lot).filter(Lot.id == 1).first()
            return list(session.scalars(select(Lot)))


        def select_text(session: Session) -> None:
            session.execute(text("select * from lots where note = 'update'"))


        def calls_a_writer(session: Session) -> None:
            query_update(session)
    """,
}


@pytest.fixture(scope="module")
def audit(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("classification")
    write(root, PROJECT)
    result = run(root, "audit", "--format", "json", "app", module="mypy_session")
    assert result.status in (0, 1), result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def _function(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(f for f in data["functions"] if f["name"] == name)
    return found


@pytest.mark.parametrize(
    "name",
    [
        "query_update",
        "query_delete",
        "execute_update",
        "execute_delete_local",
        "execute_insert",
        "execute_text",
        "execute_text_local",
        "session_delete",
        "bulk",
        "commits",
        "async_update",
        "legacy_update",
        "legacy_text",
        "calls_a_writer",
    ],
)
def test_a_function_that_writes_through_a_statement_is_single(
    audit: dict[str, Any], name: str
) -> None:
    function = _function(audit, name)
    assert function["classification"] == "SINGLE", function["writes"]
    assert function["inferred"] == "SINGLE"


def test_the_write_is_named_with_its_line(audit: dict[str, Any]) -> None:
    assert _function(audit, "query_update")["writes"] == ["session.query().filter().update (line 9)"]
    assert _function(audit, "commits")["writes"] == ["session.commit (line 47)"]


def test_two_bulk_statements_are_multi(audit: dict[str, Any]) -> None:
    assert _function(audit, "two_bulk_statements")["classification"] == "MULTI"


def test_queries_are_read(audit: dict[str, Any]) -> None:
    for name in ("reads", "select_text"):
        function = _function(audit, name)
        assert (function["classification"], function["writes"]) == ("READ", []), name


def test_the_audit_counts_functions_that_commit_a_borrowed_session(
    audit: dict[str, Any], tmp_path: Path
) -> None:
    """Item 5: a project-wide convention shows as a count, with the way to adopt the rest."""
    assert audit["summary"]["functions_committing_borrowed"] == 1
    write(tmp_path, {**PROJECT, "app/more.py": """
        from sqlalchemy.orm import Session

        def save(session: Session) -> None:
            session.commit()

        def save_twice(session: Session) -> None:
            session.commit()
            session.commit()
    """})
    result = run(tmp_path, "audit", "app", module="mypy_session")
    assert result.status == 1, result.stderr
    assert (
        "3 functions commit (or roll back, or close) a borrowed session "
        "(`session-borrowed-commit`, 4 in all). "
        "If committing the caller's session is your project's convention, keep the other "
        'checks and switch this one off: `disable_error_code = ["session-borrowed-commit"]`'
    ) in result.stdout
    assert "`--ignore session-borrowed-commit`" in result.stdout


def test_no_convention_note_without_borrowed_commits(tmp_path: Path) -> None:
    write(tmp_path, {"mypy.ini": PROJECT["mypy.ini"], "app/__init__.py": "", "app/db.py": DB_MODULE})
    result = run(tmp_path, "audit", "app", module="mypy_session")
    assert result.status == 0, result.stderr
    assert "borrowed session" not in result.stdout


def test_a_convention_module_keeps_the_other_checks(tmp_path: Path) -> None:
    """The documented path for a commit-the-caller's-session convention: the code off for
    the modules that follow it, every other check still on there, and the code still on
    elsewhere."""
    write(tmp_path, {
        "mypy.ini": (
            "[mypy]\nplugins = mypy_session.plugin\n\n"
            "[mypy-app.crud.*]\ndisable_error_code = session-borrowed-commit\n"
        ),
        "app/__init__.py": "",
        "app/db.py": DB_MODULE,
        "app/crud/__init__.py": "",
        "app/crud/orders.py": """
            from sqlalchemy.orm import Session

            def lookup(key: int, session: Session | None = None) -> int:
                return key

            def save(session: Session) -> None:
                lookup(1)
                session.commit()
        """,
        "app/other.py": """
            from sqlalchemy.orm import Session

            def close_out(session: Session) -> None:
                session.commit()
        """,
    })
    result = run(tmp_path, "app")
    assert sorted(line.split(": error:")[0] + " " + line.rsplit("[", 1)[-1] for line in result.errors) == [
        "app/crud/orders.py:7 session-not-forwarded]",
        "app/other.py:4 session-borrowed-commit]",
    ], result.stdout


def test_chains_say_when_a_function_opens_only_on_a_branch(tmp_path: Path) -> None:
    write(tmp_path, {
        "mypy.ini": PROJECT["mypy.ini"],
        "app/__init__.py": "",
        "app/db.py": DB_MODULE,
        "app/clients.py": """
            from app.db import session_scope

            def get_client(account: str | None = None) -> str:
                if account is not None:
                    with session_scope() as s:
                        s.flush()
                return account or ""

            def refresh() -> None:
                with session_scope() as s:
                    s.flush()
        """,
    })
    result = run(tmp_path, "audit", "--format", "json", "app", module="mypy_session")
    chains = json.loads(result.stdout)["chains"]
    assert "get_client -> session_scope() (only when account is given)" in chains
    assert "refresh -> session_scope()" in chains


def test_an_injected_session_is_not_an_unused_optional_one(tmp_path: Path) -> None:
    """`db: Session = Depends(get_db)` has a default, but the framework injects it: the
    function owns it, and not using it is not `session-param-unused` (held-out code)."""
    write(tmp_path, {
        "mypy.ini": "[mypy]\nignore_missing_imports = True\n",
        "app/__init__.py": "",
        "app/db.py": DB_MODULE,
        "app/routes.py": """
            from fastapi import Depends
            from sqlalchemy.orm import Session

            def get_db() -> Session: ...

            def injected(key: int, db: Session = Depends(get_db)) -> int:
                return key

            def optional(key: int, session: Session | None = None) -> int:
                return key
        """,
    })
    result = run(tmp_path, "audit", "--format", "json", "app", module="mypy_session")
    data: dict[str, Any] = json.loads(result.stdout)
    unused = sorted(
        f["function"] for f in data["findings"] if f["code"] == "session-param-unused"
    )
    assert unused == ["app.routes.optional"], (result.stdout, result.stderr)
