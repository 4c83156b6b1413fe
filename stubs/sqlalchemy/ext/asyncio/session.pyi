# mypy-session marker stub for sqlalchemy.ext.asyncio.session (async sessions).
from mypy_session import ScopeOpener

class AsyncSession:
    @ScopeOpener
    def __init__(self, *args, **kwargs) -> None: ...

class async_sessionmaker:
    @ScopeOpener
    def __call__(self, **local_kw): ...
    @ScopeOpener
    def begin(self): ...
