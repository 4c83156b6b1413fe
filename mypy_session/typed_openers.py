"""Typed openers: a call whose declared result is a new session opens a scope, with no
`scope_factories` entry (issue 11, item 5).

A callable is a typed opener when it takes no session parameter, is not an instance
method, and its declared result is a session (`-> Session`, `-> AsyncSession`, also
awaited: `async def ... -> AsyncSession`), or a context manager that gives one
(`@contextmanager def f() -> Iterator[Session]`, `-> AbstractContextManager[Session]`, the
async twins). A `Session | None` result is not one: that is a lookup
(`object_session(obj)`), not an opener.

A declared type says what comes back, not whether it is new: `def current() -> Session:
return db.session` hands out the one session there is. So where the body is in the checked
program, it decides: the callable is an opener only if its body opens a scope (the
function summaries of `knowledge`) or says nothing (`...`, `pass`, `raise NotImplementedError`:
recorded in the summary, which is stored with the module). Library code, whose bodies the plugin does not read, is
decided by its type. Instance methods are left out for the same reason: on a repository,
`def session(self) -> Session` is an accessor of the session the object holds.

What was already recognised stays as it was: `Session(...)`, a `sessionmaker` instance
called and `.begin()` come from the shipped marker stubs, `@ScopeOpener` and the setting.
"""

from __future__ import annotations

from typing import Final

from mypy.maptype import map_instance_to_supertype
from mypy.nodes import FUNC_NO_INFO, Decorator, FuncDef, RefExpr, SymbolNode
from mypy.semanal import is_trivial_body
from mypy.types import CallableType, Instance, Type, get_proper_type

from mypy_session.config import SessionConfig
from mypy_session.vocabulary import SESSION, hides_signature, session_kind, session_params_of

_CONTEXT_MANAGERS: Final = (
    "contextlib.AbstractContextManager",
    "contextlib.AbstractAsyncContextManager",
)
_AWAITABLES: Final = ("typing.Coroutine", "typing.Awaitable")
_CONTEXT_DECORATORS: Final = ("contextlib.contextmanager", "contextlib.asynccontextmanager")
_GENERATORS: Final = (
    "typing.Iterator",
    "typing.Generator",
    "typing.AsyncIterator",
    "typing.AsyncGenerator",
    "collections.abc.Iterator",
    "collections.abc.Generator",
    "collections.abc.AsyncIterator",
    "collections.abc.AsyncGenerator",
)


def declares_new_session(node: SymbolNode | None, config: SessionConfig) -> bool:
    """Does the callable's declared type make it an opener (see the module docstring)?
    Where the body is in the checked program it has the last word (`Knowledge.is_opener`)."""
    func = node.func if isinstance(node, Decorator) else node
    if not isinstance(func, FuncDef):
        return False
    if func.info is not FUNC_NO_INFO and not func.is_static and not func.is_class:
        return False  # an instance method: an accessor as often as an opener
    gives = False
    if isinstance(node, Decorator):
        declared = get_proper_type(node.var.type)
        if isinstance(declared, CallableType) and not hides_signature(declared):
            gives = _gives_session(declared.ret_type, config)
        elif declared is None and _is_context_decorated(node):
            # Not inferred yet (defined further down the module being checked).
            ret = func.type.ret_type if isinstance(func.type, CallableType) else None
            gives = _yields_session(ret, config)
    elif isinstance(func.type, CallableType):
        gives = _gives_session(func.type.ret_type, config)
    # Taking a session, it gives back the one it is handed (`session or SessionLocal()`).
    return gives and not session_params_of(node, config)


def opens_by_declaration(func: FuncDef | Decorator, config: SessionConfig) -> bool:
    """A body that says nothing (`...`, `pass`, `raise NotImplementedError`) of a callable
    declared to give a new session: its summary records it as opening (so that the
    decision is stored with the module, for callers checked from the cache)."""
    body = func.func.body if isinstance(func, Decorator) else func.body
    return is_trivial_body(body) and declares_new_session(func, config)


def _gives_session(ret: Type | None, config: SessionConfig, *, depth: int = 0) -> bool:
    proper = get_proper_type(ret)
    if session_kind(proper, config) == SESSION:
        return True
    if not isinstance(proper, Instance) or depth > 2:
        return False
    for base in proper.type.mro:
        if base.fullname in _CONTEXT_MANAGERS or base.fullname in _AWAITABLES:
            mapped = map_instance_to_supertype(proper, base)
            if not mapped.args:
                return False
            given = mapped.args[-1] if base.fullname == "typing.Coroutine" else mapped.args[0]
            return _gives_session(given, config, depth=depth + 1)
    return False


def _yields_session(ret: Type | None, config: SessionConfig) -> bool:
    proper = get_proper_type(ret)
    if isinstance(proper, Instance) and proper.type.fullname in _GENERATORS and proper.args:
        return session_kind(proper.args[0], config) == SESSION
    return False


def _is_context_decorated(node: Decorator) -> bool:
    return any(
        isinstance(dec, RefExpr) and dec.fullname in _CONTEXT_DECORATORS
        for dec in node.decorators
    )
