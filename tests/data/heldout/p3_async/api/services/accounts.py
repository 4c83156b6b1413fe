from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager, nullcontext

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import AsyncSessionLocal, async_session_scope
from api.models import Account, Project


async def get_account(account_id: int, session: AsyncSession | None = None) -> Account:
    if session is not None:
        return await _get_account(account_id, session)
    async with async_session_scope() as session:
        return await _get_account(account_id, session)  # pattern A fallback: not reported (SPEC section 4)


async def _get_account(account_id: int, session: AsyncSession) -> Account:
    account = await session.get(Account, account_id)
    if account is None:
        raise LookupError(account_id)
    return account


async def list_projects(account_id: int, session: AsyncSession | None = None) -> Sequence[Project]:
    cm: AbstractAsyncContextManager[AsyncSession] = (
        nullcontext(session) if session is not None else async_session_scope()
    )
    async with cm as session:
        rows = await session.scalars(select(Project).where(Project.owner_id == account_id))
        return rows.all()


async def create_project(account_id: int, name: str, session: AsyncSession | None = None) -> Project:
    cm: AbstractAsyncContextManager[AsyncSession] = (
        nullcontext(session) if session is not None else async_session_scope()
    )
    async with cm as session:
        account = await get_account(account_id)  # expect: session-not-forwarded
        project = Project(name=name, owner=account)
        session.add(project)
        await session.flush()
        return project


async def rename_project(project_id: int, name: str, session: AsyncSession) -> None:
    project = await session.get(Project, project_id)
    if project is not None:
        project.name = name
    await session.commit()  # expect: session-borrowed-commit


async def archive_projects(account_id: int, session: AsyncSession) -> int:
    projects = await list_projects(account_id, session)
    for p in projects:
        await rename_project(p.id, p.name + " (archived)", session=session)
    await session.flush()
    return len(projects)


async def touch_all(account_id: int, session: AsyncSession) -> None:
    async with session.begin_nested():
        await archive_projects(account_id, session=session)
        await list_projects(account_id)  # expect: session-not-forwarded


async def load_account_detached(account_id: int) -> Account:
    async with AsyncSessionLocal() as s:
        account = await s.get(Account, account_id)
        assert account is not None
        return account  # expect: session-detached-return


async def project_map(account_id: int) -> dict[int, Project]:
    async with async_session_scope() as session:
        rows = await session.scalars(select(Project).where(Project.owner_id == account_id))
        by_id = {p.id: p for p in rows}
    return by_id  # expect: session-detached-return


async def project_names(account_id: int) -> list[str]:
    async with async_session_scope() as session:
        rows = await session.scalars(select(Project).where(Project.owner_id == account_id))
        return [p.name for p in rows]


async def rebuild_index() -> None:
    # no session parameter, opens its own scope
    async with async_session_scope() as session:
        await session.execute(select(Project))


async def copy_account(account_id: int, session: AsyncSession) -> None:
    async with AsyncSessionLocal() as other:  # expect: session-nested-scope
        src = await get_account(account_id, session=other)
        session.add(Account(email=src.email + ".copy"))


async def email_then_update(account_id: int) -> None:
    account = await get_account(account_id)  # expect: session-detached-use
    async with async_session_scope() as session:
        account.email = account.email.lower()
        session.add(account)


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, account_id: int) -> Account:
        return await get_account(account_id, session=self.session)

    async def projects(self, account_id: int) -> Sequence[Project]:
        return await list_projects(account_id)  # expect: session-not-forwarded

    async def add(self, account: Account) -> None:
        self.session.add(account)
        await self.session.flush()
