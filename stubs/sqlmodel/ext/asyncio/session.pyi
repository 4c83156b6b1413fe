# mypy-session marker stub for SQLModel's AsyncSession.
from mypy_session import ScopeOpener

class AsyncSession:
    @ScopeOpener
    def __init__(self, *args, **kwargs) -> None: ...
