"""mypy-session: SQLAlchemy transaction-boundary mistakes as type errors.

This package is two things: a mypy plugin (`mypy_session.plugin`, enabled with
`plugins = ["mypy_session.plugin"]`) and a tiny typed runtime with no cost at run time,
holding the session protocols that code can be typed against.
"""

from mypy_session.protocols import AsyncSessionLike, SessionLike
from mypy_session.version import __version__

__all__ = ["AsyncSessionLike", "SessionLike", "__version__"]
