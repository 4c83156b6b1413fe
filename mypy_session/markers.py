"""Transaction-boundary markers: decorators with no cost at run time.

    @MultiStep
    def record_production(run_id: int, session: Session | None = None) -> None: ...

Each returns the function it is given, unchanged, so other type checkers (pyright) see
the ordinary signature. mypy-session reads them from the source (and, for modules loaded
from mypy's cache, from the facts it stored with the module), and from marker stubs.

- `ReadOnly`: the service only queries. Not forwarding a session to it is reported under
  `session-read-not-forwarded` (a sub-code of `session-not-forwarded`).
- `SingleStep`: the service makes one write.
- `MultiStep`: the service makes several writes that must be atomic.
- `OwnTransaction`: the service deliberately runs in a transaction of its own (an audit
  log that must survive a rollback); it is never reported as "not forwarded".
- `ScopeOpener`: the callable opens a new session (a project's own `session_scope`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["MultiStep", "OwnTransaction", "ReadOnly", "ScopeOpener", "SingleStep"]

_F = TypeVar("_F", bound=Callable[..., Any])


def ReadOnly(func: _F, /) -> _F:  # noqa: N802 - reads as a marker: @ReadOnly
    """Mark a service that only reads."""
    return func


def SingleStep(func: _F, /) -> _F:  # noqa: N802
    """Mark a service that makes one write."""
    return func


def MultiStep(func: _F, /) -> _F:  # noqa: N802
    """Mark a service whose several writes must commit together."""
    return func


def OwnTransaction(func: _F, /) -> _F:  # noqa: N802
    """Mark a service that deliberately runs in its own transaction."""
    return func


def ScopeOpener(func: _F, /) -> _F:  # noqa: N802
    """Mark a callable that opens a new session or transaction."""
    return func
