"""Error codes and the messages reported under them.

Every report goes through a helper here, so each one carries its code and its wording is
defined once (the habit of pydantic's `error_*` helpers and mypy's `message_registry`).
"""

from __future__ import annotations

from typing import Final

from mypy.errorcodes import ErrorCode

CATEGORY: Final = "mypy-session"

SESSION_NOT_FORWARDED: Final = ErrorCode(
    "session-not-forwarded",
    "Check that a call made while a session is held passes that session on",
    CATEGORY,
)


def not_forwarded(callee: str, held: str, param: str) -> str:
    """`Call to "f" does not forward the held session "s"; pass session=s`."""
    return (
        f'Call to "{callee}" does not forward the held session "{held}"; '
        f"pass {param}={held}"
    )
