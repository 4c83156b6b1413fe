# mypy-session marker stub for sqlalchemy.orm.session (sync sessions).
from mypy_session import ScopeOpener

class Session:
    # Session(engine) opens a new session; so does a subclass's constructor.
    @ScopeOpener
    def __init__(self, *args, **kwargs) -> None: ...

class sessionmaker:
    # SessionLocal() and SessionLocal.begin() open a new session.
    @ScopeOpener
    def __call__(self, **local_kw): ...
    @ScopeOpener
    def begin(self): ...
