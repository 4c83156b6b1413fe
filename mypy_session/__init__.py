"""mypy-session: SQLAlchemy transaction-boundary mistakes as type errors.

This package is two things: a mypy plugin (`mypy_session.plugin`, enabled with
`plugins = ["mypy_session.plugin"]`) and a tiny typed runtime with no cost at run time,
holding the session protocols that code can be typed against and the
transaction-boundary markers (`ReadOnly`, `SingleStep`, `MultiStep`, `OwnTransaction`,
`ScopeOpener`).
"""

from typing import TYPE_CHECKING, Any

from mypy_session.version import __version__

if TYPE_CHECKING:
    from mypy_session.markers import MultiStep, OwnTransaction, ReadOnly, ScopeOpener, SingleStep
    from mypy_session.protocols import AsyncSessionLike, SessionLike

# Loaded on first use (PEP 562): mypy imports this package for the plugin in every run,
# and a run that reuses its cache should not pay for the runtime half.
_LAZY = {
    "MultiStep": "markers",
    "OwnTransaction": "markers",
    "ReadOnly": "markers",
    "ScopeOpener": "markers",
    "SingleStep": "markers",
    "AsyncSessionLike": "protocols",
    "SessionLike": "protocols",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mypy_session' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"mypy_session.{module}"), name)
    globals()[name] = value
    return value

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
