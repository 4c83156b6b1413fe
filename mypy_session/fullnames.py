"""Fully qualified names the plugin recognises, in one place."""

from typing import Final

SESSION_LIKE: Final = "mypy_session.protocols.SessionLike"
ASYNC_SESSION_LIKE: Final = "mypy_session.protocols.AsyncSessionLike"

SA_SESSION: Final = "sqlalchemy.orm.session.Session"
SA_SCOPED_SESSION: Final = "sqlalchemy.orm.scoping.scoped_session"
SA_ASYNC_SESSION: Final = "sqlalchemy.ext.asyncio.session.AsyncSession"
SA_ASYNC_SCOPED_SESSION: Final = "sqlalchemy.ext.asyncio.scoping.async_scoped_session"

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
# Library openers (Session(...), sessionmaker()(), Airflow's create_session...) are marked
# in the shipped marker stubs (the repository's stubs/).
DEFAULT_SCOPE_FACTORIES: Final = (
    "session_scope",
    "async_session_scope",
    "create_session",
    "create_async_session",
)

DEFAULT_SESSION_PARAM_NAMES: Final[tuple[str, ...]] = ("session",)
DEFAULT_COMMIT_METHODS: Final[tuple[str, ...]] = ("commit", "rollback", "close")


# Markers (mypy_session.markers) and what each says about a callable.
READ: Final = "READ"
SINGLE: Final = "SINGLE"
MULTI: Final = "MULTI"
OWN: Final = "OWN"
OPENER: Final = "OPENER"
MARKERS: Final = {
    "mypy_session.markers.ReadOnly": READ,
    "mypy_session.markers.SingleStep": SINGLE,
    "mypy_session.markers.MultiStep": MULTI,
    "mypy_session.markers.OwnTransaction": OWN,
    "mypy_session.markers.ScopeOpener": OPENER,
}
CLASSIFICATIONS: Final = frozenset((READ, SINGLE, MULTI))
MARKER_NAMES: Final = {name.rsplit(".", 1)[1]: kind for name, kind in MARKERS.items()}

# Base classes that make a class ORM-mapped (its instances can be detached).
MAPPED_BASES: Final = frozenset(
    (
        "sqlalchemy.orm.decl_api.DeclarativeBase",
        "sqlalchemy.orm.decl_api.DeclarativeBaseNoMeta",
        "sqlmodel.main.SQLModel",
    )
)
MAPPED_ATTRIBUTES: Final = ("__tablename__", "__table__", "__mapper__")
