"""Engines, session factories and the transaction scopes every service uses.

``session_scope()`` (and its async twin ``async_session_scope()``) is the one place a
transaction is begun and ended: it commits when the block finishes, rolls back when it
raises, and always closes the session. Services never commit a session they were given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from functools import cache
from typing import TYPE_CHECKING

from sqlalchemy import create_engine
from sqlalchemy.orm import Session, sessionmaker

from bakery.models import Base

if TYPE_CHECKING:
    # The asyncio extension needs greenlet; it is imported lazily below so that the
    # sync workers and cron scripts run without it.
    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)

DATABASE_URL = os.environ.get("BAKERY_DATABASE_URL", "sqlite:///bakery.db")
ASYNC_DATABASE_URL = os.environ.get("BAKERY_ASYNC_DATABASE_URL", "sqlite+aiosqlite:///bakery.db")

engine = create_engine(DATABASE_URL, pool_pre_ping=True)

# expire_on_commit=False: services return plain dataclasses built inside the scope, and
# the values of those must stay readable after the commit.
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)


def init_db() -> None:
    """Create missing tables (development and tests; production uses migrations)."""
    Base.metadata.create_all(engine)


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open a session and a transaction; commit on success, roll back on error."""
    session = SessionLocal()
    try:
        yield session
        session.commit()
    except Exception:
        logger.debug("rolling back session %x", id(session))
        session.rollback()
        raise
    finally:
        session.close()


@cache
def get_async_engine() -> AsyncEngine:
    """The process-wide async engine, created on first use."""
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(ASYNC_DATABASE_URL, pool_pre_ping=True)


@cache
def get_async_sessionmaker() -> async_sessionmaker[AsyncSession]:
    """The process-wide ``async_sessionmaker``, bound to :func:`get_async_engine`."""
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    return async_sessionmaker(bind=get_async_engine(), class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def async_session_scope() -> AsyncIterator[AsyncSession]:
    """Async twin of :func:`session_scope`."""
    session = get_async_sessionmaker()()
    try:
        yield session
        await session.commit()
    except Exception:
        logger.debug("rolling back async session %x", id(session))
        await session.rollback()
        raise
    finally:
        await session.close()
