# mypy-session marker stub for SQLModel's Session (a subclass of SQLAlchemy's).
from mypy_session import ScopeOpener

class Session:
    @ScopeOpener
    def __init__(self, *args, **kwargs) -> None: ...
