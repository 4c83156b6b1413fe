from sqlalchemy.ext.asyncio import AsyncSession

from api.services.accounts import get_account


async def grant_credits(account_id: int, amount: int, session: AsyncSession | None = None) -> int:
    if session is None:
        from api.db import async_session_scope
        async with async_session_scope() as session:
            return await grant_credits(account_id, amount, session=session)
    account = await get_account(account_id, session=session)
    account.credits += amount
    return account.credits
