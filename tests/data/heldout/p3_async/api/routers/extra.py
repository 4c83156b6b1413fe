import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Security
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import AsyncSessionLocal, DbSession, async_session_scope, get_db
from api.models import Account, Project
from api.services.accounts import get_account, list_projects

router = APIRouter()


@dataclass
class AccountPage:
    account: Account
    project_count: int


class AccountOut(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)
    account: Account


@router.get("/both")
async def both(db: DbSession) -> list[str]:
    a, b = await asyncio.gather(get_account(1), get_account(2))  # expect: session-not-forwarded, session-not-forwarded
    return [a.email, b.email]


@router.get("/both-ok")
async def both_ok(db: DbSession) -> list[str]:
    a, b = await asyncio.gather(get_account(1, session=db), get_account(2, db))
    return [a.email, b.email]


@router.post("/begin")
async def begin_other(db: DbSession) -> None:
    async with AsyncSessionLocal.begin() as s:  # expect: session-nested-scope
        s.add(Account(email="x"))


@router.post("/security")
async def security_owned(db: AsyncSession = Security(get_db)) -> None:
    await list_projects(1, session=db)
    await db.commit()
    await db.close()


async def rollback_borrowed(session: AsyncSession) -> None:
    try:
        await list_projects(1, session=session)
    except Exception:
        await session.rollback()  # expect: session-borrowed-commit
        raise


async def stream_accounts() -> AsyncIterator[Account]:
    async with async_session_scope() as session:
        rows = list(await session.scalars(select(Account)))
    for row in rows:
        yield row  # expect: session-detached-return


async def stream_inside() -> AsyncIterator[Account]:
    async with async_session_scope() as session:
        for row in await session.scalars(select(Account)):
            yield row


async def account_page(account_id: int) -> AccountPage:
    async with async_session_scope() as session:
        account = await get_account(account_id, session=session)
        n = len(await list_projects(account_id, session=session))
        return AccountPage(account=account, project_count=n)  # expect: session-detached-return


async def account_out(account_id: int) -> AccountOut:
    async with AsyncSessionLocal() as s:
        account = await get_account(account_id, s)
    return AccountOut(account=account)  # expect: session-detached-return


class AccountCache:
    def __init__(self) -> None:
        self.current: Account | None = None

    async def load(self, account_id: int) -> None:
        async with AsyncSessionLocal() as s:
            self.current = await s.get(Account, account_id)  # expect: session-detached-return


async def early_return(account_id: int, session: AsyncSession | None = None) -> str:
    if not session:
        async with async_session_scope() as session:
            return await early_return(account_id, session=session)
    account = await get_account(account_id, session=session)
    return account.email


async def project_names(session: AsyncSession | None = None) -> list[str]:
    async def _impl(sess: AsyncSession) -> list[str]:
        rows = await list_projects(1, session=sess)
        await get_account(1)  # expect: session-not-forwarded
        return [r.name for r in rows]

    if session is not None:
        return await _impl(session)
    async with async_session_scope() as sess:
        return await _impl(sess)


async def get_repo_dep(db: DbSession) -> dict[str, Any]:
    account = await get_account(1, db)
    return {"email": account.email}
