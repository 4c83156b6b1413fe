"""The warehouse's database plumbing, from before type hints."""
import functools
from contextlib import contextmanager

from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

_maker = None


def configure(url):
    global _maker
    _maker = sessionmaker(bind=create_engine(url))


def new_session():
    return _maker()


@contextmanager
def unit_of_work():
    session = new_session()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


def with_session(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if kwargs.get("session") is not None:
            return func(*args, **kwargs)
        with unit_of_work() as session:
            kwargs["session"] = session
            return func(*args, **kwargs)
    return wrapper


def nightly_job(func):
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with unit_of_work() as session:
            return func(*args, session=session, **kwargs)
    return wrapper
