from __future__ import annotations

import contextlib
import inspect
from collections.abc import Generator
from functools import wraps
from typing import Callable, ParamSpec, TypeVar, cast

from sqlalchemy import create_engine
from sqlalchemy.orm import Session as SASession
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)

NEW_SESSION: SASession = cast(SASession, None)


@contextlib.contextmanager
def create_session() -> Generator[SASession, None, None]:
    session = Session()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


PS = ParamSpec("PS")
RT = TypeVar("RT")


def find_session_idx(func: Callable[PS, RT]) -> int:
    func_params = inspect.signature(func).parameters
    try:
        return tuple(func_params).index("session")
    except ValueError:
        raise ValueError(f"Function {func.__qualname__} has no `session` argument") from None


def provide_session(func: Callable[PS, RT]) -> Callable[PS, RT]:
    session_args_idx = find_session_idx(func)

    @wraps(func)
    def wrapper(*args, **kwargs) -> RT:
        if "session" in kwargs or session_args_idx < len(args):
            return func(*args, **kwargs)
        with create_session() as session:
            return func(*args, session=session, **kwargs)

    return wrapper  # type: ignore[return-value]
