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
SESSION_READ_NOT_FORWARDED: Final = ErrorCode(
    "session-read-not-forwarded",
    "Check that a read-only service called while a session is held gets that session",
    CATEGORY,
    sub_code_of=SESSION_NOT_FORWARDED,
)
SESSION_NESTED_SCOPE: Final = ErrorCode(
    "session-nested-scope",
    "Check that no new session is opened while one is held",
    CATEGORY,
)
SESSION_MISMATCH: Final = ErrorCode(
    "session-mismatch",
    "Check that the session passed on is the innermost held session",
    CATEGORY,
)
SESSION_BORROWED_COMMIT: Final = ErrorCode(
    "session-borrowed-commit",
    "Check that a function does not end a transaction it borrowed from its caller",
    CATEGORY,
)
SESSION_DETACHED_USE: Final = ErrorCode(
    "session-detached-use",
    "Check that ORM objects loaded in a session of their own are not used in a later scope",
    CATEGORY,
)
SESSION_CALLEE_OPENS_SCOPE: Final = ErrorCode(
    "session-callee-opens-scope",
    "Check that a call made while a session is held does not open a scope of its own",
    CATEGORY,
)
SESSION_DETACHED_RETURN: Final = ErrorCode(
    "session-detached-return",
    "Check that no ORM object is handed out of a scope the function opened and closes",
    CATEGORY,
)
SESSION_MISSING_PARAM: Final = ErrorCode(
    "session-missing-param",
    "Check that a classified service accepts a session",
    CATEGORY,
)
SESSION_NOT_ANALYSED: Final = ErrorCode(
    "session-not-analysed",
    "Check that mypy analysed the session code of every function (untyped, unreachable)",
    CATEGORY,
    default_enabled=False,
)
SERVICE_BOUNDARY: Final = ErrorCode(
    "service-boundary",
    "Check that a guarded attribute is written, or a guarded method called, only in its service",
    CATEGORY,
)

_MARKER_WORDS: Final = {"READ": "ReadOnly", "SINGLE": "SingleStep", "MULTI": "MultiStep"}


def not_forwarded(callee: str, held: str, param: str) -> str:
    """`Call to "f" does not forward the held session "s"; pass session=s`."""
    return (
        f'Call to "{callee}" does not forward the held session "{held}"; '
        f"pass {param}={held}"
    )


def read_not_forwarded(callee: str, held: str, param: str) -> str:
    return (
        f'Call to read-only "{callee}" does not forward the held session "{held}", '
        f"so it cannot see this transaction's pending writes; pass {param}={held}"
    )


def nested_scope(opener: str, held: str) -> str:
    return (
        f'"{opener}" opens a new session while "{held}" is held: the held session is '
        f'ignored and a second transaction commits separately; use "{held}"'
    )


def mismatch(callee: str, passed: str, held: str, param: str) -> str:
    return (
        f'Call to "{callee}" passes {passed} for its session, but the held session is '
        f'"{held}"; pass {param}={held}'
    )


def borrowed_commit(method: str, session: str) -> str:
    return (
        f'"{session}.{method}()" ends a transaction borrowed from the caller; '
        f"leave {method}() to the function that opened the session"
    )


def detached_use(name: str, callee: str, line: int, held: str, param: str) -> str:
    return (
        f'"{name}" is loaded by "{callee}" in a session of its own and used in the '
        f"session scope at line {line}, where it is detached and changes to it are lost; "
        f"load it inside that scope with {param}={held}"
    )


def callee_opens_scope(callee: str, chain: str, held: str) -> str:
    return (
        f'Call to "{callee}" opens a session of its own while "{held}" is held '
        f"({chain}); give it a session parameter and pass {held}"
    )


def detached_return(opener: str, objects: list[tuple[str, str, bool]], how: str) -> str:
    """`objects`: (how the object reads, the container it is in or "", several objects)."""
    _, container, plural = objects[0]
    what = "ORM objects" if plural or len(objects) > 1 else "ORM object"
    names = ", ".join(f'"{shown}"' for shown, _, _ in objects)
    inside = f" in a {container}" if container and not container.startswith('"') else ""
    if container.startswith('"'):
        inside = f" in {container}"
    return (
        f"{what} {names} {how}{inside} out of the scope opened by \"{opener}\": the caller "
        f"gets {'them' if what.endswith('s') else 'it'} detached; hand out plain values, or "
        f"load {'them' if what.endswith('s') else 'it'} in the caller's session"
    )


def missing_param(function: str, marker: str) -> str:
    word = _MARKER_WORDS.get(marker, marker)
    return (
        f'"{function}" is marked {word} but has no session parameter, so callers '
        f"cannot make it part of their transaction; add session: Session | None = None"
    )


def not_analysed(function: str, why: str) -> str:
    """`Session code of "f" was not analysed: unreachable after line 12; no check ran there`."""
    return f'Session code of "{function}" was {why}; no session check ran there'


def service_boundary(action: str, target: str, allowed: tuple[str, ...], use: str | None) -> str:
    """`Write to guarded "FinishedUnit.inventory_count" outside its allowed modules
    (app.services.inventory); call "adjust_inventory" instead`."""
    advice = f'call "{use}" instead' if use else "move this change into one of them"
    return (
        f'{action} guarded "{target}" outside its allowed modules ({", ".join(allowed)}); '
        f"{advice}"
    )


def unresolved_setting(config_file: str, setting: str, entry: str, module: str, missing: str) -> str:
    """A note, not an error: a fullname setting whose entry names nothing."""
    return (
        f'mypy-session: {config_file}: {setting} entry "{entry}" names nothing in the '
        f'checked program: module "{module}" has no "{missing}"'
    )
