"""Fully qualified names the plugin recognises, in one place."""

from typing import Final

SESSION_LIKE: Final = "mypy_session.protocols.SessionLike"
ASYNC_SESSION_LIKE: Final = "mypy_session.protocols.AsyncSessionLike"

SA_SESSION: Final = "sqlalchemy.orm.session.Session"
SA_SCOPED_SESSION: Final = "sqlalchemy.orm.scoping.scoped_session"
SA_SESSIONMAKER: Final = "sqlalchemy.orm.session.sessionmaker"
SA_ASYNC_SESSION: Final = "sqlalchemy.ext.asyncio.session.AsyncSession"
SA_ASYNC_SCOPED_SESSION: Final = "sqlalchemy.ext.asyncio.scoping.async_scoped_session"
SA_ASYNC_SESSIONMAKER: Final = "sqlalchemy.ext.asyncio.session.async_sessionmaker"

# Classes whose instances are sessions (subclasses included: SQLModel's Session is one).
DEFAULT_SESSION_TYPES: Final = (
    SA_SESSION,
    SA_SCOPED_SESSION,
    SA_ASYNC_SESSION,
    SA_ASYNC_SCOPED_SESSION,
    SESSION_LIKE,
    ASYNC_SESSION_LIKE,
)

# Callables that open a new session or transaction. A name without a dot matches any
# function or method of that name, since every project defines its own `session_scope`.
DEFAULT_SCOPE_FACTORIES: Final = (
    "session_scope",
    "async_session_scope",
    "create_session",
    "create_async_session",
    SA_SESSION,
    SA_ASYNC_SESSION,
    f"{SA_SESSIONMAKER}.__call__",
    f"{SA_SESSIONMAKER}.begin",
    f"{SA_ASYNC_SESSIONMAKER}.__call__",
    f"{SA_ASYNC_SESSIONMAKER}.begin",
    "airflow.utils.session.create_session",
)

DEFAULT_SESSION_PARAM_NAMES: Final = ("session",)
DEFAULT_COMMIT_METHODS: Final = ("commit", "rollback", "close")

NONE_TYPE: Final = "builtins.None"
