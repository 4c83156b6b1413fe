"""Callees behind decorators and session providers, cold and warm (SPEC section 8): the
kinds of a module's decorators and the decorated names' types are stored with the module,
so a caller re-checked against modules from the cache reports the same."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.helpers import run, write

FILES = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\ncheck_untyped_defs = True\n",
    "app/__init__.py": "",
    "app/deco.py": """
        import functools
        from sqlalchemy.orm import sessionmaker
        SessionLocal = sessionmaker()

        def timer(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                return func(*args, **kwargs)
            return wrapper

        def with_session(func):
            @functools.wraps(func)
            def wrapper(*args, **kwargs):
                if kwargs.get("session") is not None:
                    return func(*args, **kwargs)
                with SessionLocal() as session:
                    kwargs["session"] = session
                    return func(*args, **kwargs)
            return wrapper
    """,
    "app/services.py": """
        from typing import Optional
        from sqlalchemy.orm import Session
        from app.deco import timer, with_session

        @timer
        def lookup(key: int, session: Optional[Session] = None) -> int:
            return key

        @with_session
        def provided(key, session=None):
            return key

        def summary(key: int) -> int:
            return provided(key)
    """,
    "app/caller.py": """
        from sqlalchemy.orm import Session
        from app.services import lookup, provided, summary

        def restock(session: Session) -> None:
            lookup(1)
            provided(2)
            summary(3)
            lookup(1, session=session)
    """,
}
# The decorated service defined after the decorator is applied in a module of its own,
# written after a first run so that only this module is checked against cached ones.
LATE_CALLER = """
    from sqlalchemy.orm import Session
    from app.services import lookup, provided

    def late(session: Session) -> None:
        lookup(4)
        provided(5, session=session)
"""


def findings(root: Path) -> list[str]:
    result = run(root, "app")
    assert "INTERNAL ERROR" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    return result.errors


def test_cold_warm_and_caller_against_cached_modules(tmp_path: Path) -> None:
    write(tmp_path, FILES)
    cold = findings(tmp_path)
    assert [line.split(": error:")[0] for line in cold] == [
        "app/caller.py:5",
        "app/caller.py:6",
        "app/caller.py:7",
    ]
    assert "summary -> provided -> @with_session" in cold[2]
    assert findings(tmp_path) == cold  # warm: replayed from the cache

    # Only the caller changes: deco.py and services.py come from the cache.
    write(tmp_path, {"app/caller.py": FILES["app/caller.py"] + "\n        # edited\n"})
    assert findings(tmp_path) == cold
    # A new caller, checked against the cached decorator and services.
    write(tmp_path, {"app/late.py": LATE_CALLER})
    late = [line for line in findings(tmp_path) if line.startswith("app/late.py")]
    assert [line.split(": error:")[0] for line in late] == ["app/late.py:5"]

    # The services change (the decorator does not): re-checked against the cached deco.py,
    # whose decorators' kinds are read from what was stored with it.
    services = FILES["app/services.py"] + """
        @timer
        def added(key: int, session: Optional[Session] = None) -> int:
            return key

        def uses(session: Session) -> None:
            added(1)
    """
    write(tmp_path, {"app/services.py": services})
    edited = findings(tmp_path)
    assert [f for f in edited if f.startswith("app/caller.py")] == cold
    assert [f.split(": error:")[0] for f in edited if f.startswith("app/services.py")] == [
        "app/services.py:21"
    ]

    # The decorator stops being transparent: the callers' findings go.
    write(tmp_path, {"app/deco.py": FILES["app/deco.py"].replace("def wrapper(*args, **kwargs):\n                return func(*args, **kwargs)", "def wrapper(key):\n                return func(key)")})
    warm = findings(tmp_path)
    assert not any("lookup" in line for line in warm), warm
    shutil.rmtree(tmp_path / ".mypy_cache")
    assert findings(tmp_path) == warm


METHOD_DECORATOR = {
    "mypy.ini": "[mypy]\nplugins = mypy_session.plugin\ncheck_untyped_defs = True\n",
    "app/__init__.py": "",
    "app/monitor.py": """
        from functools import wraps

        class MetricManager:
            def count_it(self, original_function=None):
                def _decorator(func):
                    @wraps(func)
                    def _wrapper(*args, **kwargs):
                        return func(*args, **kwargs)
                    return _wrapper
                if original_function:
                    return _decorator(original_function)
                return _decorator

        METRICS = MetricManager()
    """,
    "app/services.py": """
        from typing import Optional
        from sqlalchemy.orm import Session
        from app.monitor import METRICS

        @METRICS.count_it
        def lookup(key: int, session: Optional[Session] = None) -> int:
            return key
    """,
    "app/caller.py": """
        from sqlalchemy.orm import Session
        from app.services import lookup

        def restock(session: Session) -> None:
            lookup(1)
            lookup(1, session=session)
    """,
}


def test_method_decorator_kind_from_the_cache(tmp_path: Path) -> None:
    # rucio's `@METRICS.count_it`: an untyped method that applies a nested decorator to
    # the function; its kind is stored with monitor.py under "MetricManager.count_it".
    write(tmp_path, METHOD_DECORATOR)
    cold = findings(tmp_path)
    assert [line.split(": error:")[0] for line in cold] == ["app/caller.py:5"]
    assert findings(tmp_path) == cold  # warm
    # services.py is checked again against monitor.py from the cache.
    services = METHOD_DECORATOR["app/services.py"] + """
        @METRICS.count_it
        def added(key: int, session: Optional[Session] = None) -> int:
            return key

        def uses(session: Session) -> None:
            added(1)
    """
    write(tmp_path, {"app/services.py": services})
    edited = findings(tmp_path)
    assert sorted(f.split(": error:")[0] for f in edited) == ["app/caller.py:5", "app/services.py:14"]
