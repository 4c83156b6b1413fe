"""mypy-session: SQLAlchemy transaction-boundary mistakes as type errors.

This package is two things: a mypy plugin (`mypy_session.plugin`, enabled with
`plugins = ["mypy_session.plugin"]`) and a tiny typed runtime with no cost at run time,
holding the session protocols that code can be typed against and the
transaction-boundary markers (`ReadOnly`, `SingleStep`, `MultiStep`, `OwnTransaction`,
`ScopeOpener`).
"""

from mypy_session.markers import MultiStep, OwnTransaction, ReadOnly, ScopeOpener, SingleStep
from mypy_session.protocols import AsyncSessionLike, SessionLike
from mypy_session.version import __version__

__all__ = [
    "AsyncSessionLike",
    "MultiStep",
    "OwnTransaction",
    "ReadOnly",
    "ScopeOpener",
    "SessionLike",
    "SingleStep",
    "__version__",
]
