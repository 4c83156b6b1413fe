import functools
import time
from contextlib import contextmanager
from typing import Annotated, Callable, Optional, ParamSpec, TypeVar

from sqlalchemy import create_engine
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import sessionmaker

engine = create_engine("sqlite://")
Session = sessionmaker(bind=engine)

S = TypeVar("S", bound=OrmSession)
DbSession = Annotated[OrmSession, "primary"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def get_db():
    db = Session()
    try:
        yield db
        db.commit()
    except Exception:
        db.rollback()
        raise
    finally:
        db.close()


def with_session(func):
    """Untyped provider: opens a session when the caller passes none."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("session") is not None:
            return func(*args, **kwargs)
        with Session() as session:
            kwargs["session"] = session
            result = func(*args, **kwargs)
            session.commit()
            return result
    return wrapper


def with_session_opts(expire_on_commit: bool = True) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Typed provider factory."""
    def decorator(func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            if "session" in kwargs and kwargs["session"] is not None:
                return func(*args, **kwargs)
            with Session(expire_on_commit=expire_on_commit) as session:
                kwargs["session"] = session
                return func(*args, **kwargs)
        return wrapper
    return decorator


def timer(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        try:
            return func(*args, **kwargs)
        finally:
            print(func.__name__, time.monotonic() - start)
    return wrapper
