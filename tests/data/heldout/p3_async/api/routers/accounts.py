from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends
from sqlalchemy.ext.asyncio import AsyncSession

from api.db import AsyncSessionLocal, DbSession, async_session_scope, get_db
from api.services.accounts import (
    AccountRepository,
    archive_projects,
    create_project,
    get_account,
    list_projects,
    rebuild_index,
)
from api.services.billing import grant_credits

router = APIRouter()


@router.post("/accounts/{account_id}/projects")
async def post_project(account_id: int, name: str, db: AsyncSession = Depends(get_db)) -> dict[str, Any]:
    project = await create_project(account_id, name, session=db)
    await db.commit()
    return {"id": project.id}


@router.get("/accounts/{account_id}")
async def get_account_view(account_id: int, db: DbSession) -> dict[str, Any]:
    account = await get_account(account_id, db)
    projects = await list_projects(account_id, session=db)
    return {"email": account.email, "projects": [p.name for p in projects]}


@router.post("/accounts/{account_id}/archive")
async def archive(account_id: int, session: Annotated[AsyncSession, Depends(get_db)]) -> int:
    n = await archive_projects(account_id, session=session)
    await session.commit()
    return n


@router.post("/accounts/{account_id}/credits")
async def add_credits(account_id: int, amount: int, db: DbSession) -> int:
    total = await grant_credits(account_id, amount)  # expect: session-not-forwarded
    await db.commit()
    return total


@router.post("/accounts/{account_id}/credits2")
async def add_credits_direct(account_id: int, amount: int, db: DbSession) -> int:
    account = await get_account(account_id, session=db)
    account.credits += amount  # expect: service-boundary
    await db.commit()
    return account.credits


@router.post("/accounts/{account_id}/credits3")
async def add_credits_ok(account_id: int, amount: int, db: DbSession) -> int:
    total = await grant_credits(account_id, amount, session=db)
    await db.commit()
    return total


@router.get("/accounts/{account_id}/projects")
async def projects_view(account_id: int, db: AsyncSession = Depends(get_db)) -> list[str]:
    projects = await list_projects(account_id)  # expect: session-not-forwarded
    return [p.name for p in projects]


@router.post("/reindex")
async def reindex(db: DbSession) -> None:
    await rebuild_index()  # expect: session-callee-opens-scope
    await db.commit()


@router.post("/accounts/{account_id}/clone")
async def clone(account_id: int, db: DbSession) -> None:
    async with async_session_scope() as other:  # expect: session-nested-scope
        await get_account(account_id, session=other)
    await db.rollback()


@router.get("/accounts/{account_id}/mismatch")
async def mismatch(account_id: int, db: DbSession) -> str:
    account = await get_account(account_id, session=None)  # expect: session-mismatch
    return account.email


@router.post("/accounts/{account_id}/tx")
async def in_transaction(account_id: int, db: AsyncSession = Depends(get_db)) -> None:
    async with db.begin():
        await archive_projects(account_id, db)
        await create_project(account_id, "x", session=db)


@router.get("/accounts/{account_id}/repo")
async def repo_view(account_id: int, db: DbSession) -> str:
    repo = AccountRepository(db)
    account = await repo.get(account_id)
    return account.email


async def _background_report(account_id: int) -> None:
    async with AsyncSessionLocal() as session:
        await list_projects(account_id, session=session)
        await archive_projects(account_id, session)
        await session.commit()


@router.post("/accounts/{account_id}/report")
async def report(account_id: int, tasks: BackgroundTasks) -> None:
    tasks.add_task(_background_report, account_id)
    await rebuild_index()


@router.get("/public/{account_id}")
async def public_view(account_id: int) -> str:
    account = await get_account(account_id)
    return account.email
