"""Random multi-module programs for the crash-proofing properties (tests/test_crash_properties.py).

Each program is a package of 2-4 generated modules plus a support module (`db`), mixing the
session idioms of SPEC sections 2-4 (pattern A `_impl` helpers, pattern B `nullcontext`,
`with session_scope() as s`, optional and unannotated session parameters, repositories
holding `self.session`, `AsyncSession`, Airflow's `@provide_session`, the markers) with
unusual syntax: decorators (`functools.wraps` wrappers, decorators returning `Any`),
nested classes and functions, closures with `nonlocal`, lambdas, comprehensions, walrus,
`match`, async generators and `async with`, `functools.partial`, splats, string
annotations, import cycles, overloads, properties, `del`, star-assignment, conditional
definitions, `try`/`except*`/`finally`, `global`, and unannotated legacy functions; also
one-line compound statements, semicolons, calls split over lines, type comments, inline
`# mypy:` comments, per-module mypy options and marker stubs (`programs`).

A second strategy (`mutated_cases`) takes the YAML cases of tests/typecheck and mutates
their syntax trees.

The programs are meant to compile (the test checks it with `compile()`); mypy's own type
errors in them are expected and fine. The package name is the placeholder `PKG`, replaced
by a fresh name per run (`Program.files`), so that a shared mypy cache never sees the
same module twice.
"""

from __future__ import annotations

import ast
import copy
import dataclasses
import functools
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from hypothesis import strategies as st

from tests.helpers import MYPY_2

# mypy 1.x rejects a plugin's error code named in the configuration (it checks the codes
# before it loads plugins); `except*` is Python 3.11 syntax.
PLUGIN_CODES_IN_CONFIG = MYPY_2
EXCEPT_STAR = sys.version_info >= (3, 11)

PKG = "PKG"
INDENT = "    "

# The support module: scope openers, decorators, a mapped class. `PKG.db` in every program.
SUPPORT = '''\
from __future__ import annotations

import functools
from contextlib import asynccontextmanager, contextmanager
from typing import (
    Any, AsyncIterator, Callable, Concatenate, Iterator, NamedTuple, NewType, Optional, ParamSpec,
    Protocol, TypeAlias, TypedDict, TypeVar, cast,
)

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, scoped_session, sessionmaker

from mypy_session import OwnTransaction, ScopeOpener

P = ParamSpec("P")
R = TypeVar("R")
F = TypeVar("F", bound=Callable[..., Any])

SessionLocal = sessionmaker()
AsyncSessionLocal = async_sessionmaker()
Scoped = scoped_session(SessionLocal)
NEW_SESSION: Session = cast(Session, None)
FLAG = True
OptSession = Optional[Session]
OptSession2: TypeAlias = "Session | None"
S = TypeVar("S", bound=Session)
T = TypeVar("T", int, str)
SessionId = NewType("SessionId", Session)


class Opts(TypedDict, total=False):
    session: Session | None
    flag: bool


class Loader(Protocol):
    def __call__(self, key: int, session: Session | None = None) -> int: ...


class Job(NamedTuple):
    name: str
    session: Session | None = None


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "item"
    id: Mapped[int] = mapped_column(primary_key=True)


class MySession(Session):
    def commit(self) -> None:
        super().commit()
        self.flush()

    def save(self) -> None:
        self.commit()
        Session.commit(self)


@contextmanager
def session_scope({scope_param}) -> Iterator[Session]:
    with SessionLocal() as s:
        yield s


@asynccontextmanager
async def async_session_scope() -> AsyncIterator[AsyncSession]:
    async with AsyncSessionLocal() as s:
        yield s


@ScopeOpener
@contextmanager
def open_db() -> Iterator[Session]:
    yield SessionLocal()


@ScopeOpener
@asynccontextmanager
async def open_async() -> AsyncIterator[AsyncSession]:
    yield AsyncSessionLocal()


@contextmanager
def create_session() -> Iterator[Session]:
    with SessionLocal() as s:
        yield s


class UnitOfWork:
    @ScopeOpener
    def __init__(self) -> None:
        self.session = SessionLocal()

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc: object) -> None:
        self.session.close()


def provide_session(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if "session" in kwargs:
            return func(*args, **kwargs)
        with create_session() as session:
            kwargs["session"] = session
            return func(*args, **kwargs)

    return wrapper


def passthrough(func: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(func)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        return func(*args, **kwargs)

    return inner


def with_session(func: Callable[Concatenate[Session, P], R]) -> Callable[P, R]:
    @functools.wraps(func)
    def inner(*args: P.args, **kwargs: P.kwargs) -> R:
        with session_scope() as s:
            return func(s, *args, **kwargs)

    return inner


def anyfy(func: Callable[..., Any]) -> Any:
    return func


def untyped(func):
    @functools.wraps(func)
    def inner(*args, **kwargs):
        return func(*args, **kwargs)

    return inner


def retry(times: int) -> Callable[[F], F]:
    def deco(func: F) -> F:
        return func

    return deco


@OwnTransaction
def audit(event: str, session: Session | None = None) -> None:
    pass
'''

HEADER = """\
import abc
import asyncio
import functools
import sys
import mypy_session as ms
from contextlib import ExitStack, nullcontext
from dataclasses import dataclass
from typing import (
    TYPE_CHECKING, Annotated, Any, AsyncIterator, Callable, ClassVar, Final, Generic, Iterator, NamedTuple,
    Optional, Union, Unpack, cast, no_type_check, overload,
)
from dataclasses import KW_ONLY, InitVar, field

from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from mypy_session import MultiStep, OwnTransaction, ReadOnly, ScopeOpener, SessionLike, SingleStep
from PKG import db
"""

# A module outside the generated package, the same in every program (found through
# mypy_path): the custom settings name its class as a session type.
FIXED_SUPPORT = '''\
from __future__ import annotations


class Conn:
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...
    def flush(self) -> None: ...
    def __enter__(self) -> Conn:
        return self
    def __exit__(self, *exc: object) -> None: ...


def open_conn() -> Conn:
    return Conn()
'''

# The `[mypy_session]` settings a program may use (the cache is shared per variant).
CONFIGS = {
    "default": "",
    "custom": (
        "[mypy_session]\n"
        "session_param_names = session, db, dbs\n"
        "scope_factories = open_db, make_scope, fixedsupport.open_conn\n"
        "session_types = fixedsupport.Conn\n"
        "commit_methods = commit, rollback, close, flush\n"
    ),
}

SYNC_ANNOTATIONS = (
    "Session | None",
    "Optional[Session]",
    '"Session | None"',
    "Union[Session, None]",
    "'Optional[\"Session\"]'",
    "db.MySession | None",
    "SessionLike | None",
    "Session | int | None",
    "Any",
    "db.OptSession",
    "db.OptSession2",
    'Annotated[Session | None, "tx"]',
    "db.SessionId | None",
)
REQUIRED_SYNC = ("Session", '"Session"', "db.MySession", "SessionLike", "db.S", "db.SessionId")
ASYNC_ANNOTATIONS = ("AsyncSession | None", '"AsyncSession | None"', "Optional[AsyncSession]")


@dataclass
class Service:
    """A callable the generated code may call: a function or a method."""

    module: int
    name: str
    owner: str | None = None  # class name, for methods
    method_kind: str | None = None  # "instance", "static", "class"
    is_async: bool = False
    generator: str | None = None  # "sync" / "async": yields (iterate it, don't call it plainly)
    param: str | None = None  # the session parameter's name
    layout: str = "pos"  # pos | kwonly | star | first | legacy | none
    required: bool = False
    returns: str = "int"  # int | item | none
    ctor_session: bool = False  # owner's __init__ takes a session

    @property
    def session_index(self) -> int | None:
        if self.param is None:
            return None
        return {"pos": 1, "first": 0, "legacy": 1, "posonly": 1, "tvar": 1}.get(self.layout)


@dataclass
class Ctx:
    """What the code being generated sees."""

    module: int
    sessions: tuple[tuple[str, bool], ...] = ()  # (expression, is_async), innermost last
    optional: tuple[tuple[str, bool], ...] = ()  # parameters that may be None here
    is_async: bool = False
    in_function: bool = False
    self_name: str | None = None
    loop: bool = False
    depth: int = 0
    ret: str | None = None  # what `return` returns ("" for a bare return), None: no return
    allow_except_star: bool = True
    generator: str | None = None  # in a generator function ("sync" / "async"): may yield
    siblings: tuple[Service, ...] = ()  # methods reachable as self.<name> / cls.<name>
    cls_name: str | None = None  # "cls" in a classmethod

    def but(self, **changes: Any) -> Ctx:
        return dataclasses.replace(self, **changes)


@dataclass
class Program:
    """A generated program, with `PKG` standing for its package name."""

    sources: dict[str, str]  # path inside the package ("m0.py", "db.py") -> text
    config: str  # "default" or "custom"
    marker_stubs: dict[str, str] = field(default_factory=dict)  # path inside the package -> .pyi text
    options: str = ""  # per-module mypy sections ([mypy-PKG.*]), appended to mypy.ini

    def files(self, pkg: str) -> dict[str, str]:
        out = {f"{pkg}/__init__.py": ""}
        for path, text in self.sources.items():
            out[f"{pkg}/{path}"] = text.replace(PKG, pkg)
        return out

    def stub_files(self, pkg: str) -> dict[str, str]:
        return {f"{pkg}/{path}": text.replace(PKG, pkg) for path, text in self.marker_stubs.items()}

    def editable(self) -> list[str]:
        """The modules an edit may touch (not the support module)."""
        return sorted(path for path in self.sources if path != "db.py" and not path.endswith("__init__.py"))

    def render(self, pkg: str = "app") -> str:
        """The whole program as one text, for reading a failure."""
        parts = [f"# config: {self.config}", f"# options:\n{self.options.replace(PKG, pkg)}"]
        for path, text in {**self.files(pkg), **{f"<stubs>/{k}": v for k, v in self.stub_files(pkg).items()}}.items():
            parts.append(f"# ---- {path}\n{text}")
        return "\n".join(parts)


_COMPOUND = ("if ", "elif ", "else", "for ", "while ", "with ", "try", "except", "finally", "def ", "class ",
             "async ", "match ", "case ", "@")
_FOLD = {"on": False}  # one-line compound statements (`with x as s: f(s)`), per program


def block(header: str, body: list[str]) -> list[str]:
    body = body or ["pass"]
    if (
        _FOLD["on"]
        and len(body) == 1
        and not header.startswith("match ")
        and "#" not in header
        and not body[0].startswith(_COMPOUND)
        and "\n" not in body[0]
    ):
        return [f"{header} {body[0]}"]
    return [header] + [INDENT + line for line in body]


class Generator:
    """Draws one program. `draw` is hypothesis' draw function."""

    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw
        self.counter = 0
        self.services: list[Service] = []
        self.imports: dict[int, set[str]] = {}
        self.module_globals: dict[int, list[str]] = {}
        self.nmods = 0
        self.config = "default"
        self.multiline = False
        self.one_liners = False
        self.semicolons = False

    # -- drawing helpers --------------------------------------------------------------------

    def pick(self, options: Any) -> Any:
        return self._draw(st.sampled_from(list(options)))

    def chance(self, p: float) -> bool:
        # Resolution of 1/20: hypothesis shrinks integers well.
        return self._draw(st.integers(0, 19)) < round(p * 20)

    def num(self, lo: int, hi: int) -> int:
        return self._draw(st.integers(lo, hi))

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    # -- the program ------------------------------------------------------------------------

    def program(self) -> Program:
        _FOLD["on"] = False
        try:
            return self._program()
        finally:
            _FOLD["on"] = False

    def _program(self) -> Program:
        self.config = self.pick(CONFIGS)
        self.nmods = self.num(2, 4)
        self.multiline = self.chance(0.2)
        self.one_liners = self.chance(0.3)
        self.semicolons = self.chance(0.2)
        _FOLD["on"] = self.one_liners
        scope_param = "session: Session | None = None" if self.chance(0.2) else ""
        support = SUPPORT.replace("{scope_param}", scope_param)
        # Plan the services first, so that any module can call any other (import cycles).
        for m in range(self.nmods):
            self.imports[m] = set()
            self.module_globals[m] = []
            for _ in range(self.num(1, 3)):
                self.plan_function(m)
        plans: list[list[tuple[str, Any]]] = []
        for m in range(self.nmods):
            plans.append([])
            for _ in range(self.num(0, 2)):
                plans[m].append(("class", self.plan_class(m)))
        sources = {"db.py": support}
        for m in range(self.nmods):
            sources[f"m{m}.py"] = self.module(m, plans[m])
        stubs = {}
        if self.config == "custom" and self.chance(0.5):
            m = self.num(0, self.nmods - 1)
            stubs[f"m{m}.pyi"] = self.marker_stub(m)
        return Program(sources, self.config, stubs, self.options())

    def options(self) -> str:
        """Per-module mypy options: they leave the library modules' cache entries valid."""
        every = []
        for line, p in (
            ("enable_error_code = session-detached-return", 0.4 if PLUGIN_CODES_IN_CONFIG else 0),
            ("warn_unreachable = True", 0.2),
            ("strict_optional = False", 0.1),
            ("allow_redefinition = True", 0.15),
            ("disallow_untyped_defs = True", 0.1),
            ("disable_error_code = session-not-forwarded", 0.1 if PLUGIN_CODES_IN_CONFIG else 0),
            ("implicit_reexport = False", 0.1),
            ("allow_redefinition_old = True", 0.1 if MYPY_2 else 0),
            ("extra_checks = True", 0.1),
            ("strict_equality = True", 0.1),
            ("warn_unused_ignores = True", 0.1),
        ):
            if self.chance(p):
                every.append(line)
        text = f"[mypy-{PKG}.*]\n" + "".join(f"{line}\n" for line in every) if every else ""
        one: dict[int, list[str]] = {}
        if self.chance(0.15):
            one.setdefault(self.num(0, self.nmods - 1), []).append("ignore_errors = True")
        if self.chance(0.1):
            one.setdefault(self.num(0, self.nmods - 1), []).append("check_untyped_defs = False")
        for index, lines in sorted(one.items()):
            text += f"[mypy-{PKG}.m{index}]\n" + "".join(f"{line}\n" for line in lines)
        if self.config == "custom" and self.chance(0.1):
            text += "[mypy-fixedsupport]\nfollow_imports = skip\n"
        return text

    def plan_function(self, m: int) -> Service:
        name = self.fresh(f"svc{m}_")
        is_async = self.chance(0.25)
        generator = None
        if self.chance(0.1):
            generator = "async" if is_async else "sync"
        layout = self.pick(["pos", "pos", "pos", "kwonly", "star", "first", "legacy", "none", "none", "posonly", "unpack", "tvar"])
        param = None
        if layout != "none":
            names = ["session", "session", "session", "sess"]
            if self.config == "custom":
                names += ["db", "dbs"]
            param = self.pick(names)
            if param == "db":
                param = "dbs"  # `db` is the support module's name
        required = layout == "first" or (layout in ("pos", "posonly") and self.chance(0.2))
        if layout == "unpack":
            param = "session"
        returns = self.pick(["int", "int", "item", "none"])
        svc = Service(m, name, None, None, is_async, generator, param, layout, required, returns)
        self.services.append(svc)
        return svc

    def plan_class(self, m: int) -> dict[str, Any]:
        cls = self.fresh(f"Repo{m}_")
        info: dict[str, Any] = {
            "name": cls,
            "attr": self.pick(["instance", "instance", "classvar", "plain", "property", "dataclass"]),
            "ctor_session": self.chance(0.7),
            "methods": [],
        }
        for _ in range(self.num(1, 3)):
            kind = self.pick(["instance", "instance", "static", "class"])
            name = self.fresh("meth")
            layout = self.pick(["pos", "kwonly", "none", "none", "legacy"])
            param = "session" if layout != "none" else None
            svc = Service(
                m, name, cls, kind, self.chance(0.15), None, param, layout,
                False, self.pick(["int", "none"]), info["ctor_session"],
            )
            self.services.append(svc)
            info["methods"].append(svc)
        return info

    def marker_stub(self, m: int) -> str:
        lines = ["from mypy_session import MultiStep, OwnTransaction, ReadOnly, ScopeOpener", ""]
        for svc in self.services:
            if svc.module == m and svc.owner is None:
                marker = self.pick(["ReadOnly", "MultiStep", "OwnTransaction", "ScopeOpener", "SingleStep"])
                lines += [f"@{marker}", f"def {svc.name}(*args, **kwargs): ...", ""]
        return "\n".join(lines)

    # -- modules ----------------------------------------------------------------------------

    def module(self, m: int, plans: list[tuple[str, Any]]) -> str:
        ctx = Ctx(module=m)
        body: list[str] = []
        items: list[Callable[[], list[str]]] = []
        for svc in self.services:
            if svc.module == m and svc.owner is None:
                items.append(functools.partial(self.function_def, svc, ctx))
        for _, info in plans:
            items.append(functools.partial(self.class_def, info, ctx))
        for _ in range(self.num(0, 3)):
            items.append(lambda: self.module_item(ctx))
        order = self._draw(st.permutations(list(range(len(items)))))
        for index in order:
            body += [""] + items[index]()
        head = []
        tops = ["# type: ignore", "# mypy: ignore-errors", "# mypy: disable-error-code=\"misc\""]
        if PLUGIN_CODES_IN_CONFIG:
            tops += ["# mypy: disable-error-code=\"session-not-forwarded\"",
                     "# mypy: enable-error-code=\"session-detached-return\""]
        top = self.pick(tops) if self.chance(0.15) else ""
        if top:
            head.append(top)
        if self.chance(0.4):
            head.append("from __future__ import annotations")
        head.append(HEADER)
        if self.config == "custom":
            head.append("import fixedsupport")
        imports = sorted(self.imports[m])
        checking = [line for line in imports if line.startswith("!")]
        plain = [line for line in imports if not line.startswith("!")]
        head += plain
        if checking:
            head += block("if TYPE_CHECKING:", [line[1:] for line in checking])
        head += self.module_globals[m]
        return "\n".join(head + body) + "\n"

    def module_item(self, ctx: Ctx) -> list[str]:
        kind = self.pick([
            "script", "conditional", "alias", "partial", "lambda", "main", "overload",
            "try_import", "del", "nested_class", "opener", "comprehension", "legacy_script", "forward_ref",
            "star_import", "getattr", "class_body", "final", "generic_repo", "default_arg", "decorator_call",
            "soft_keyword", "subclass", "type_alias",
        ])
        if kind == "script":
            s = self.fresh("s")
            body = self.stmts(ctx.but(sessions=ctx.sessions + ((s, False),)), 2)
            return block(f"with {self.opener_expr(ctx)} as {s}:", body)
        if kind == "conditional":
            name = self.fresh("cond")
            svc = Service(ctx.module, name, param="session", layout="pos")
            one = self.function_def(svc, ctx, register=False)
            two = self.function_def(svc, ctx, register=False)
            cond = self.pick(["sys.version_info >= (3, 10)", "db.FLAG", "TYPE_CHECKING", "sys.platform == 'win32'"])
            self.services.append(svc)
            return block(f"if {cond}:", one) + block("else:", two)
        if kind == "alias":
            target = self.pick_service(ctx, functions_only=True)
            if target is None:
                return ["pass"]
            alias = self.fresh("alias")
            ref = self.ref(target, ctx)
            return [f"{alias} = {ref}", f"{alias}(1)", f"{alias}(1, session=None)"]
        if kind == "partial":
            target = self.pick_service(ctx, functions_only=True)
            if target is None:
                return ["pass"]
            name = self.fresh("part")
            kw = f", {target.param}=None" if target.param and self.chance(0.5) else ""
            return [f"{name} = functools.partial({self.ref(target, ctx)}{kw})", f"{name}(1)"]
        if kind == "lambda":
            name = self.fresh("lam")
            call = self.call(ctx.but(sessions=(("session", False),), in_function=True), allow_await=False)
            return [f"{name} = lambda session=None: {call}"]
        if kind == "main":
            return block('if __name__ == "__main__":', self.stmts(ctx, 2))
        if kind == "overload":
            return self.overload_def(ctx)
        if kind == "try_import":
            other = self.num(0, self.nmods - 1)
            names = [s.name for s in self.services if s.module == other and s.owner is None]
            if not names:
                return ["pass"]
            name = self.pick(names)
            alias = self.fresh("imp")
            return block("try:", [f"from {PKG}.m{other} import {name} as {alias}"]) + block(
                "except ImportError:", [f"{alias} = None  # type: ignore[assignment]"]
            )
        if kind == "del":
            name = self.fresh("tmp")
            return [f"{name} = db.SessionLocal()", f"{name}.close()", f"del {name}"]
        if kind == "nested_class":
            outer = self.fresh("Outer")
            inner = self.class_def({"name": "Inner", "attr": self.pick(["instance", "classvar"]),
                                    "ctor_session": True, "methods": []}, ctx)
            return block(f"class {outer}:", inner + ["session: ClassVar[Session | None] = None"])
        if kind == "opener":
            name = self.fresh("make_scope") if self.config == "default" else "make_scope"
            deco = self.pick(["@ScopeOpener\n@contextlib_cm", "@contextlib_cm\n@ScopeOpener", "@contextlib_cm"])
            lines = [d.replace("contextlib_cm", "db.contextmanager") for d in deco.split("\n")]
            body = block("with db.SessionLocal() as s:", ["yield s"])
            return lines + block(f"def {name}() -> Iterator[Session]:", body) + block(
                f"def use_{name}(session: Session | None = None) -> None:",
                block(f"with {name}() as session:", self.stmts(ctx.but(in_function=True, sessions=(("session", False),)), 1)),
            )
        if kind == "comprehension":
            s = self.fresh("s")
            call = self.call(ctx.but(sessions=((s, False),)), allow_await=False)
            return [f"rows{self.counter} = [{call} for {s} in [db.SessionLocal()]]"]
        if kind == "legacy_script":
            return [f"session = db.SessionLocal()", self.call(ctx.but(sessions=(("session", False),)), allow_await=False)]
        if kind == "star_import":
            others = [i for i in range(self.nmods) if i != ctx.module]
            self.imports[ctx.module].add(f"from {PKG}.m{self.pick(others)} import *")
            return ["pass"]
        if kind == "getattr":
            return block("def __getattr__(name: str) -> Any:", ["return None"])
        if kind == "class_body":
            name = self.fresh("Cfg")
            cctx = ctx.but(in_function=False)
            s = self.fresh("cs")
            body = [f"x = {self.call(cctx, allow_await=False)}"]
            body += block(f"with {self.opener_expr(cctx)} as {s}:",
                          [f"y = {self.call(cctx.but(sessions=((s, False),)), allow_await=False)}"])
            body += [f"handler = lambda self: {self.call(cctx.but(sessions=(('self.session', False),)), allow_await=False)}"]
            body += [f"rows = [{self.call(cctx, allow_await=False)} for _ in range(2)]"]
            body += ["session: Session | None = None"]
            if self.chance(0.5):
                body += block("if db.FLAG:", ["def extra(self, session: Session | None = None) -> None:",
                                              f"    {self.call(cctx.but(in_function=True, optional=(('session', False),)), allow_await=False)}"])
            return block(f"class {name}:", body)
        if kind == "final":
            name = self.fresh("SESSION")
            return [f"{name}: Final = db.SessionLocal()",
                    self.call(ctx.but(sessions=((name, False),)), allow_await=False)]
        if kind == "generic_repo":
            name = self.fresh("GRepo")
            mctx = ctx.but(in_function=True, sessions=(("self.session", False),), self_name="self", ret="0")
            body = block("def __init__(self, session: db.S) -> None:", ["self.session = session"])
            body += block("def get(self, key: int) -> int:", self.stmts(mctx, 2) + ["return key"])
            body += block("def typed(self) -> db.S:", ["return self.session"])
            return block(f"class {name}(Generic[db.S]):", body) + [f"{name}(db.SessionLocal()).get(1)"]
        if kind == "default_arg":
            name = self.fresh("dflt")
            body = self.stmts(ctx.but(in_function=True, optional=(("session", False),), ret=""), 1)
            return block(f"def {name}(x: Any = {self.call(ctx, allow_await=False)}, session: Session | None = None) -> None:", body)
        if kind == "decorator_call":
            name = self.fresh("dec")
            body = self.stmts(ctx.but(in_function=True, optional=(("session", False),), ret=""), 1)
            return [f"@db.retry({self.call(ctx, allow_await=False)})  # type: ignore[arg-type]"] + block(
                f"def {name}(session: Session | None = None) -> None:", body)
        if kind == "soft_keyword":
            name = self.pick(["match", "case", "_", "type"])
            lines = block(f"def {name}(key: int, session: Session | None = None) -> int:", ["return key"])
            lines += block("with db.session_scope() as s:", [f"{name}(1)", f"{name}(1, session=s)", f"_ = {name}"])
            return lines
        if kind == "subclass":
            bases = [s for s in self.services if s.owner is not None and s.module == ctx.module]
            if not bases:
                return ["pass"]
            base = self.pick(bases)
            name = self.fresh("Sub")
            body = block("def __init__(self, session: Session | None = None) -> None:",
                         ["super().__init__()  # type: ignore[call-arg]", "self.session = session or db.SessionLocal()"])
            mctx = ctx.but(in_function=True, sessions=(("self.session", False),), self_name="self", ret="")
            body += block(f"def extra(self) -> None:", [f"super().{base.name}  # type: ignore[misc]"] + self.stmts(mctx, 1))
            return block(f"class {name}({base.owner}):", body) + [f"{name}().extra()"]
        if kind == "type_alias":
            name = self.fresh("Alias")
            fn = self.fresh("aliased")
            ann = self.pick(["Session | None", "Optional[Session]", '"Session | None"'])
            body = self.stmts(ctx.but(in_function=True, optional=(("session", False),), ret=""), 1)
            return [f"{name} = {ann}"] + block(f"def {fn}(key: int, session: {name} = None) -> None:", body)
        if kind == "forward_ref":
            methods = [s for s in self.services if s.owner is not None and not s.generator]
            if not methods:
                return ["pass"]
            svc = self.pick(methods)
            owner = self.owner_ref(svc, ctx)
            name = self.fresh("use_repo")
            body = [f"{'await ' if svc.is_async else ''}repo.{svc.name}({self.args(svc, ctx.but(sessions=(('session', False),)))})"]
            kw = "async def" if svc.is_async else "def"
            return block(f'{kw} {name}(repo: "{owner}", session: "Session") -> None:', body)
        raise AssertionError(kind)

    # -- definitions ------------------------------------------------------------------------

    def param_list(self, svc: Service, method: bool = False) -> tuple[str, bool]:
        """The parameter list, and whether the session parameter may be None."""
        first = {"instance": "self", "class": "cls"}.get(svc.method_kind or "", None)
        legacy = svc.layout == "legacy"
        key = "key" if legacy else ("key: db.T" if svc.layout == "tvar" else "key: int")
        if svc.layout == "unpack":
            params = [key, "**kwargs: Unpack[db.Opts]"]
            optional = True
        elif svc.param is None:
            params = [key]
            if self.chance(0.15):
                params += ["*args: Any", "**kwargs: Any"]
            optional = False
        else:
            if legacy:
                sess, optional = f"{svc.param}=None", True
            elif svc.is_async:
                ann = self.pick(ASYNC_ANNOTATIONS if not svc.required else ("AsyncSession", '"AsyncSession"'))
                sess, optional = f"{svc.param}: {ann}" + ("" if svc.required else " = None"), not svc.required
            elif svc.required:
                sess, optional = f"{svc.param}: {self.pick(REQUIRED_SYNC)}", False
            elif self.chance(0.1):
                sess, optional = f"{svc.param}: Session = db.NEW_SESSION", False
            else:
                annotations = SYNC_ANNOTATIONS + (("fixedsupport.Conn | None",) if self.config == "custom" else ())
                sess, optional = f"{svc.param}: {self.pick(annotations)} = None", True
            if svc.layout in ("pos", "legacy", "tvar"):
                params = [key, sess]
            elif svc.layout == "posonly":
                params = [key, sess, "/"]
            elif svc.layout == "kwonly":
                params = [key, "*", sess]
            elif svc.layout == "star":
                params = [key, "*args: Any", sess, "**kwargs: Any"]
            else:  # first
                params = [sess, f"{key} = 0"]
        if first:
            params.insert(0, first)
        return ", ".join(params), optional

    def decorators(self, svc: Service) -> list[str]:
        out: list[str] = []
        options = ["@db.passthrough", "@db.anyfy", "@db.untyped", "@db.retry(3)", "@ReadOnly",
                   "@MultiStep", "@SingleStep", "@OwnTransaction", "@ScopeOpener", "@functools.lru_cache(maxsize=None)",
                   "@db.provide_session", "@functools.cache", "@ms.MultiStep", "@no_type_check", "@ms.ReadOnly"]
        if svc.owner is not None:
            options += ["@abc.abstractmethod", "@functools.cached_property" if svc.method_kind == "instance" else "@ReadOnly"]
        if svc.layout == "first" and svc.required and not svc.is_async:
            options.append("@db.with_session")
        if svc.is_async or svc.generator:
            options = ["@db.passthrough", "@db.anyfy", "@ReadOnly", "@MultiStep", "@OwnTransaction", "@db.untyped"]
        for _ in range(self._draw(st.integers(0, 2))):
            out.append(self.pick(options))
        return out

    def function_def(self, svc: Service, ctx: Ctx, register: bool = True) -> list[str]:
        params, optional = self.param_list(svc)
        legacy = svc.layout == "legacy"
        ret = {"int": "int", "item": "db.Item", "none": "None"}[svc.returns]
        ret_value = {"int": "0", "item": "db.Item()", "none": "None"}[svc.returns]
        if svc.generator == "sync":
            ret, ret_value = "Iterator[int]", ""
        elif svc.generator == "async":
            ret, ret_value = "AsyncIterator[int]", ""
        if self.chance(0.1) and not legacy:
            ret = f'"{ret}"'
        arrow = "" if legacy else f" -> {ret}"
        kw = "async def" if svc.is_async else "def"
        comment = ""
        if legacy and self.chance(0.4):
            sess_t = self.pick(["Optional[Session]", "Session", "Any", "Optional[AsyncSession]"])
            comment = f"  # type: (int, {sess_t}) -> {ret.strip(chr(34))}"
        inner = ctx.but(in_function=True, is_async=svc.is_async, ret=ret_value, depth=0, loop=False,
                        self_name="self" if svc.method_kind == "instance" else None,
                        cls_name="cls" if svc.method_kind == "class" else None,
                        allow_except_star=svc.generator is None)
        if svc.param is not None:
            if optional:
                inner = inner.but(optional=inner.optional + ((svc.param, svc.is_async),))
            else:
                inner = inner.but(sessions=inner.sessions + ((svc.param, svc.is_async),))
        inner = inner.but(generator=svc.generator)
        body = self.stmts(inner, self.num(1, 4))
        if svc.layout == "unpack":
            body.insert(0, 'session = kwargs.get("session")')
        if svc.generator:
            body.append("yield 1")
        elif svc.returns != "none":
            body.append(f"return {ret_value}")
        lines = self.decorators(svc) if register or self.chance(0.5) else []
        if svc.method_kind == "static":
            lines.insert(0, "@staticmethod")
        elif svc.method_kind == "class":
            lines.insert(0, "@classmethod")
        return lines + block(f"{kw} {svc.name}({params}){arrow}:{comment}", body)

    def overload_def(self, ctx: Ctx) -> list[str]:
        name = self.fresh("load")
        svc = Service(ctx.module, name, param="session", layout="pos")
        self.services.append(svc)
        ann = self.pick(["Session | None", '"Session | None"', "Optional[Session]"])
        lines = ["@overload", f"def {name}(key: int, session: {ann} = None) -> int: ...",
                 "@overload", f"def {name}(key: str, session: {ann} = None) -> str: ..."]
        inner = ctx.but(in_function=True, optional=(("session", False),), ret="key")
        body = self.stmts(inner, self.num(1, 2)) + ["return key"]
        if self.chance(0.2):
            lines.append("@db.passthrough")
        return lines + block(f"def {name}(key: int | str, session: {ann} = None) -> int | str:", body)

    def class_def(self, info: dict[str, Any], ctx: Ctx) -> list[str]:
        name, attr = info["name"], info["attr"]
        body: list[str] = []
        sessions: tuple[tuple[str, bool], ...] = ()
        header = f"class {name}:"
        ctor_param = "session: Session | None = None" if info["ctor_session"] else ""
        if attr == "dataclass":
            body += self.pick([
                ["session: Session | None = None", "key: int = 0"],
                ["key: int = 0", "_: KW_ONLY", "session: Session | None = None"],
                ["session: InitVar[Session | None] = None", "key: int = 0"],
                ["session: Session | None = field(default=None)", "key: int = field(default=0)"],
                ["session: Session = field(default_factory=db.SessionLocal)"],
            ])
            header = self.pick(["@dataclass", "@dataclass(frozen=True)", "@dataclass(kw_only=True)"]) + "\n" + header
        else:
            if attr == "classvar":
                body.append("session: ClassVar[Session | None] = None")
            elif attr == "plain":
                body.append(self.pick(["session: Session", "session = db.SessionLocal()", "session: 'Session'"]))
                sessions = (("self.session", False),)
            elif attr == "property":
                body += ["@property"] + block("def sess(self) -> Session:", ["return db.SessionLocal()"])
                sessions = (("self.sess", False),)
            init_body = []
            if info["ctor_session"]:
                init_body.append(self.pick([
                    "self.session = session or db.SessionLocal()",
                    "self.session = session  # type: ignore[assignment]",
                    "self.session: Session = session if session is not None else db.SessionLocal()",
                ]))
                if attr == "instance":
                    sessions = (("self.session", False),)
            else:
                init_body.append("self.session = db.SessionLocal()" if attr == "instance" else "self.key = 0")
                if attr == "instance":
                    sessions = (("self.session", False),)
            init = f"def __init__(self{', ' + ctor_param if ctor_param else ''}) -> None:"
            body += block(init, init_body)
        if attr == "dataclass":
            sessions = ()
        cctx = ctx.but(in_function=False, siblings=tuple(info["methods"]))
        for svc in info["methods"]:
            mctx = cctx.but(sessions=sessions if svc.method_kind == "instance" else ())
            body += [""] + self.function_def(svc, mctx)
        extra = self.pick(["none", "call", "nested", "enter", "del", "setter", "init_alias", "call_alias",
                           "partialmethod", "marked_class"])
        if extra == "setter" and attr != "dataclass":
            body += ["@property"] + block("def current(self) -> Session:", ["return db.SessionLocal()"])
            body += ["@current.setter"] + block("def current(self, value: Session) -> None:", ["value.commit()"])
            body += block("def use_current(self) -> None:", ["self.current = db.SessionLocal()", "self.current.commit()",
                                                              f"{self.call(cctx.but(in_function=True, sessions=(('self.current', False),)), allow_await=False)}"])
        elif extra == "init_alias" and attr not in ("dataclass",):
            svc = self.pick_service(ctx, functions_only=True)
            if svc is not None and svc.module == ctx.module:
                body += [f"__call__ = {svc.name}"]
        elif extra == "call_alias":
            body += ["__call__ = db.audit"]
        elif extra == "partialmethod":
            siblings = [m for m in info["methods"] if m.method_kind == "instance" and m.param]
            if siblings:
                body += [f"bound_{siblings[0].name} = functools.partialmethod({siblings[0].name}, session=None)"]
        elif extra == "marked_class":
            header = self.pick(["@ReadOnly", "@ScopeOpener", "@OwnTransaction"]) + "\n" + header
        if extra == "call":
            body += block("def __call__(self, key: int, session: Session | None = None) -> int:",
                          self.stmts(cctx.but(in_function=True, optional=(("session", False),), self_name="self",
                                              sessions=sessions, ret="0", generator=None), 1) + ["return key"])
        elif extra == "nested":
            body += block("class Nested:", block(
                "def run(self, session: Session | None = None) -> None:",
                self.stmts(cctx.but(in_function=True, optional=(("session", False),), ret=""), 2)))
        elif extra == "enter":
            body += block("def __enter__(self) -> Session:", ["return db.SessionLocal()"])
            body += block("def __exit__(self, *exc: object) -> None:", ["pass"])
        elif extra == "del" and attr == "instance":
            body += block("def drop(self) -> None:", ["self.session.close()", "del self.session"])
        if not body:
            body = ["pass"]
        return header.split("\n")[:-1] + block(header.split("\n")[-1], body)

    # -- statements -------------------------------------------------------------------------

    def stmts(self, ctx: Ctx, n: int) -> list[str]:
        out: list[str] = []
        for _ in range(n):
            lines, ctx = self.stmt(ctx)
            if (
                self.semicolons
                and len(lines) == 1
                and out
                and not lines[0].startswith(_COMPOUND)
                and not out[-1].startswith((INDENT, *_COMPOUND))
                and "#" not in out[-1]
                and not out[-1].endswith(":")
                and not lines[0].startswith(("global", "nonlocal"))
            ):
                out[-1] = f"{out[-1]}; {lines[0]}"
                continue
            out += lines
        return out or ["pass"]

    def held(self, ctx: Ctx, is_async: bool | None = None) -> str | None:
        options = [s for s, a in ctx.sessions if is_async is None or a == is_async]
        return self.pick(options) if options else None

    def stmt(self, ctx: Ctx) -> tuple[list[str], Ctx]:
        deep = ctx.depth >= 3
        kinds = ["call", "call", "call", "assign_call", "commit"]
        if not deep:
            kinds += ["with_scope", "with_scope", "pattern_a", "pattern_b", "if_none", "match", "walrus",
                      "nested_def", "nested_class", "try", "for", "while", "conditional_def", "begin",
                      "exit_stack", "multi_with"]
            if ctx.is_async:
                kinds += ["async_with", "async_with", "async_for", "gather"]
        kinds += ["comprehension", "lambda", "partial", "splat", "star_assign", "del", "global", "local_opener",
                  "rebind", "detached", "assert", "local_import", "typed_local", "fstring", "conditional_expr",
                  "lambda_nest", "augassign", "raise", "callable_var", "namedtuple", "marker_call", "odd_with",
                  "reveal"]
        if ctx.in_function and not deep:
            kinds.append("nonlocal_session")
        if ctx.generator:
            kinds += ["yield", "yield"]
        if ctx.loop:
            kinds.append("break")
        if ctx.ret is not None:
            kinds.append("return")
        kind = self.pick(kinds)
        inner = ctx.but(depth=ctx.depth + 1)
        m = getattr(self, f"s_{kind}")
        return m(ctx, inner)

    def s_call(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        return [self.call(ctx)], ctx

    def s_assign_call(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("r")
        return [f"{name} = {self.call(ctx)}"], ctx

    def s_commit(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        s = self.held(ctx)
        if s is None:
            return ["db.SessionLocal().commit()"], ctx
        method = self.pick(["commit", "rollback", "close", "flush", "add(db.Item())", "get(db.Item, 1)", "expunge_all"])
        is_async = dict(ctx.sessions).get(s, False)
        prefix = "await " if is_async and ctx.is_async else ""
        return [f"{prefix}{s}.{method}" + ("()" if "(" not in method else "")], ctx

    def s_with_scope(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.pick(["s", "session", "sess", self.fresh("s")])
        if ctx.self_name and self.chance(0.1):
            # `as self.session`: an attribute target
            return block(f"with {self.opener_expr(ctx)} as self.session:", self.stmts(inner, 2)), ctx
        if self.chance(0.1):
            return block(f"with {self.opener_expr(ctx)}:", self.stmts(inner, 2)), ctx
        body = self.stmts(inner.but(sessions=inner.sessions + ((name, False),)), self.num(1, 3))
        paren = self.chance(0.15)
        head = f"with ({self.opener_expr(ctx)} as {name}):" if paren else f"with {self.opener_expr(ctx)} as {name}:"
        return block(head, body), ctx

    def s_multi_with(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        a, b = self.fresh("a"), self.fresh("b")
        body = self.stmts(inner.but(sessions=inner.sessions + ((a, False), (b, False))), 2)
        second = self.pick([self.opener_expr(ctx), f"nullcontext({a})", f"{a}.begin_nested()"])
        target = self.pick([b, f"({b}, _x)", f"{b}"])
        if target.startswith("("):
            body = ["pass"] + body
        return block(f"with {self.opener_expr(ctx)} as {a}, {second} as {target}:", body), ctx

    def s_async_with(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.pick(["s", "session", self.fresh("as")])
        opener = self.pick(["db.async_session_scope()", "db.AsyncSessionLocal()", "db.AsyncSessionLocal.begin()"])
        body = self.stmts(inner.but(sessions=inner.sessions + ((name, True),)), self.num(1, 3))
        return block(f"async with {opener} as {name}:", body), ctx

    def s_async_for(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        gens = [s for s in self.services if s.generator == "async" and s.owner is None]
        var = self.fresh("row")
        if not gens:
            return self.s_async_with(ctx, inner)
        svc = self.pick(gens)
        args = self.args(svc, ctx)
        body = self.stmts(inner.but(loop=True), 1)
        return block(f"async for {var} in {self.ref(svc, ctx)}({args}):", body), ctx

    def s_gather(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        a = self.call(ctx, allow_await=False)
        b = self.call(ctx, allow_await=False)
        return [f"await asyncio.gather({a}, {b})  # type: ignore[arg-type]"], ctx

    def s_pattern_a(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if not ctx.optional:
            return self.s_with_scope(ctx, inner)
        p, is_async = self.pick(ctx.optional)
        rest = tuple(o for o in ctx.optional if o[0] != p)
        held = inner.but(optional=rest, sessions=inner.sessions + ((p, is_async),))
        first = block(f"if {p} is not None:" if self.chance(0.7) else f"if {p}:", self.stmts(held, self.num(1, 2)))
        none_ctx = inner.but(optional=rest)
        opener = "db.async_session_scope()" if is_async else self.opener_expr(ctx)
        kw = "async with" if is_async and ctx.is_async else "with"
        if is_async and not ctx.is_async:
            opener = self.opener_expr(ctx)
        second = block(f"{kw} {opener} as {p}:", self.stmts(held, self.num(1, 2)))
        if self.chance(0.3):
            return first + block("else:", self.stmts(none_ctx, 1) + second), ctx.but(optional=rest)
        return first + second, ctx.but(optional=rest)

    def s_pattern_b(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if not ctx.optional:
            return self.s_with_scope(ctx, inner)
        p, is_async = self.pick(ctx.optional)
        cm = self.fresh("cm")
        rest = tuple(o for o in ctx.optional if o[0] != p)
        held = inner.but(optional=rest, sessions=inner.sessions + ((p, is_async),))
        form = self.pick([
            f"{cm} = nullcontext({p}) if {p} is not None else {self.opener_expr(ctx)}",
            f"{cm} = {self.opener_expr(ctx)} if {p} is None else nullcontext({p})",
            f"{cm} = nullcontext({p}) if {p} else {self.opener_expr(ctx)}",
        ])
        target = p if self.chance(0.8) else self.fresh("s")
        held = held.but(sessions=held.sessions + ((target, False),))
        return [form] + block(f"with {cm} as {target}:", self.stmts(held, self.num(1, 3))), ctx.but(optional=rest)

    def s_if_none(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if not ctx.optional:
            s = self.held(ctx)
            cond = f"{s} is not None" if s else "db.FLAG"
            return block(f"if {cond}:", self.stmts(inner, 1)) + block("elif db.FLAG:", self.stmts(inner, 1)), ctx
        p, is_async = self.pick(ctx.optional)
        rest = tuple(o for o in ctx.optional if o[0] != p)
        exits = ctx.ret is not None and self.chance(0.5)
        none_body = self.stmts(inner.but(optional=rest), 1)
        if exits:
            none_body.append(f"return {ctx.ret}".rstrip())
            cond = self.pick([f"{p} is None", f"not {p}", f"{p} == None"])
            after = ctx.but(optional=rest, sessions=ctx.sessions + ((p, is_async),))
            return block(f"if {cond}:", none_body), after
        lines = block(f"if {p} is None:", none_body)
        lines += block("else:", self.stmts(inner.but(optional=rest, sessions=inner.sessions + ((p, is_async),)), 1))
        return lines, ctx

    def s_match(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if ctx.optional:
            p, is_async = self.pick(ctx.optional)
        else:
            p, is_async = self.held(ctx) or "db.FLAG", False
        cls = "AsyncSession" if is_async else "Session"
        held = inner.but(sessions=inner.sessions + ((p, is_async),)) if p != "db.FLAG" else inner
        cases = block("case None:", self.stmts(inner, 1))
        cases += block(f"case {cls}() as {self.fresh('m')}:", self.stmts(held, 1))
        if self.chance(0.5):
            cases += block(f"case {cls}(bind=_b) if _b is not None:", self.stmts(held, 1))
        cases += block("case _:", self.stmts(inner, 1))
        return block(f"match {p}:", cases), ctx

    def s_walrus(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("w")
        form = self.pick(["if", "while", "comp", "opener"])
        if form == "if":
            return block(f"if ({name} := {self.call(ctx)}) is not None:", self.stmts(inner, 1)), ctx
        if form == "while":
            return block(f"while ({name} := {self.call(ctx)}):", self.stmts(inner.but(loop=True), 1) + ["break"]), ctx
        if form == "comp":
            return [f"{name}s = [{name} for _i in range(2) if ({name} := {self.call(ctx, allow_await=False)})]"], ctx
        lines = [f"if ({name} := {self.opener_expr(ctx)}) is not None:"]
        body = self.stmts(inner.but(sessions=inner.sessions + ((name, False),)), 1)
        return block(lines[0], body), ctx

    def s_nested_def(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("_impl")
        own = self.pick(["none", "sess", "session", "default"])
        is_async = ctx.is_async and self.chance(0.5)
        params = ""
        nctx = inner.but(is_async=is_async, loop=False, ret="0", allow_except_star=True, generator=None)
        if own == "sess":
            params = "sess: Session"
            nctx = nctx.but(sessions=nctx.sessions + (("sess", False),))
        elif own == "session":
            params = "session: Session | None = None"
            nctx = nctx.but(optional=nctx.optional + (("session", False),))
        elif own == "default":
            s = self.held(ctx)
            if s is not None and not s.startswith("self."):
                params = f"sess: Session = {s}"
                nctx = nctx.but(sessions=nctx.sessions + (("sess", False),))
        lines: list[str] = []
        body: list[str] = []
        if ctx.in_function and self.chance(0.4):
            var = self.fresh("count")
            lines.append(f"{var} = 0")
            body += [f"nonlocal {var}", f"{var} += 1"]
        if self.chance(0.2):
            g = self.fresh("_G")
            self.module_globals[ctx.module].append(f"{g} = 0")
            body += [f"global {g}", f"{g} += 1"]
        body += self.stmts(nctx, self.num(1, 3)) + ["return 0"]
        decos = []
        if self.chance(0.3):
            decos.append(self.pick(["@db.passthrough", "@db.anyfy", "@db.untyped", "@functools.cache", "@ReadOnly"]))
        kw = "async def" if is_async else "def"
        lines += decos + block(f"{kw} {name}({params}) -> int:", body)
        call = f"{name}()"
        if own == "sess":
            s = self.held(ctx, False)
            call = f"{name}({s or 'db.SessionLocal()'})"
        if is_async:
            call = f"await {call}"
        lines.append(self.pick([call, f"_ = {call}", f"print({call})"]))
        return lines, ctx

    def s_nested_class(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("_Local")
        held = self.held(ctx, False)
        body: list[str] = []
        if self.chance(0.5):
            body.append("session: ClassVar[Session | None] = None")
        mctx = inner.but(in_function=True, optional=(("session", False),), self_name=None, is_async=False,
                         loop=False, ret="", allow_except_star=True, generator=None)
        body += block("def run(self, session: Session | None = None) -> None:", self.stmts(mctx, self.num(1, 2)))
        if self.chance(0.5):
            body += ["@property"] + block("def prop(self) -> int:", [f"return {self.call(inner.but(is_async=False), allow_await=False)}"])
        use = f"{name}().run()" if held is None or self.chance(0.3) else f"{name}().run(session={held})"
        return block(f"class {name}:", body) + [use], ctx

    def s_try(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        s = self.held(ctx)
        lines = block("try:", self.stmts(inner, self.num(1, 2)))
        star = EXCEPT_STAR and ctx.allow_except_star and self.chance(0.2)
        if star:
            lines += block("except* ValueError:", ["pass"])
            lines += block("except* Exception as eg:", [f"print(eg.exceptions)"])
        else:
            handler = self.stmts(inner, 1)
            if s is not None and self.chance(0.6):
                handler = [f"{s}.rollback()"] + handler
            if self.chance(0.5):
                handler.append("raise")
            lines += block(self.pick(["except Exception:", "except (ValueError, KeyError) as exc:", "except:"]), handler)
            if self.chance(0.3):
                lines += block("else:", self.stmts(inner, 1))
        if self.chance(0.5):
            lines += block("finally:", [f"{s}.close()" if s else "pass"])
        return lines, ctx

    def s_for(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        var = self.fresh("i")
        it = self.pick(["range(3)", f"[{self.call(ctx)}]", "[db.Item()]", "enumerate([1])", "gen"])
        if it == "gen":
            gens = [s for s in self.services if s.generator == "sync" and s.owner is None]
            if not gens:
                it = "range(1)"
            else:
                svc = self.pick(gens)
                it = f"{self.ref(svc, ctx)}({self.args(svc, ctx)})"
        lines = block(f"for {var} in {it}:", self.stmts(inner.but(loop=True), self.num(1, 2)))
        if self.chance(0.2):
            lines += block("else:", self.stmts(inner, 1))
        return lines, ctx

    def s_while(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        return block("while db.FLAG:", self.stmts(inner.but(loop=True), 1) + ["break"]), ctx

    def s_break(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        return [self.pick(["break", "continue"])], ctx

    def s_return(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if ctx.ret == "":
            return ["return"], ctx
        if ctx.ret == "0" and self.chance(0.5):
            return [f"return {self.call(ctx)}  # type: ignore[return-value]"], ctx
        return [f"return {ctx.ret}"], ctx

    def s_conditional_def(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("_h")
        nctx = inner.but(loop=False, ret="", is_async=False, allow_except_star=True, generator=None)
        one = block(f"def {name}(session: Session | None = None) -> None:",
                    self.stmts(nctx.but(optional=nctx.optional + (("session", False),)), 1))
        two = block(f"def {name}(session: Session | None = None) -> None:", self.stmts(nctx, 1))
        held = self.held(ctx, False)
        call = f"{name}()" if held is None or self.chance(0.4) else f"{name}({held})"
        return block("if db.FLAG:", one) + block("else:", two) + [call], ctx

    def s_begin(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        s = self.held(ctx, False)
        if s is None:
            return self.s_with_scope(ctx, inner)
        method = self.pick(["begin()", "begin_nested()", "begin_nested() as sp", "no_autoflush"])
        return block(f"with {s}.{method}:", self.stmts(inner, self.num(1, 2))), ctx

    def s_exit_stack(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("st")
        s = self.fresh("s")
        body = [f"{s} = {name}.enter_context({self.opener_expr(ctx)})"]
        body += self.stmts(inner.but(sessions=inner.sessions + ((s, False),)), 1)
        return block(f"with ExitStack() as {name}:", body), ctx

    def s_comprehension(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("c")
        call = self.call(ctx, allow_await=False)
        form = self.pick([
            f"{name} = [{call} for _i in range(2)]",
            f"{name} = {{_i: {call} for _i in range(2)}}",
            f"{name} = {{{call} for _i in range(2) if _i}}",
            f"{name} = sum(1 for _i in range(2) if {call})",
            f"{name} = list({call} for _j in [1] for _k in [2])",
            f"{name} = [[{call} for _a in range(1)] for _b in range(1)]",
            f"{name} = [_s for _s in [db.SessionLocal()] if {call}]",
        ])
        if ctx.is_async and self.chance(0.3):
            gens = [s for s in self.services if s.generator == "async" and s.owner is None]
            if gens:
                svc = self.pick(gens)
                form = f"{name} = [_x async for _x in {self.ref(svc, ctx)}({self.args(svc, ctx)})]"
            else:
                form = f"{name} = [await {self.call(ctx.but(is_async=False), allow_await=False)} for _i in range(1)]"
        return [form], ctx

    def s_lambda(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("fn")
        lctx = ctx.but(is_async=False)
        form = self.pick(["plain", "param", "default", "immediate", "key"])
        if form == "plain":
            return [f"{name} = lambda: {self.call(lctx, allow_await=False)}", f"{name}()"], ctx
        if form == "param":
            pctx = lctx.but(sessions=lctx.sessions + (("session", False),))
            return [f"{name} = lambda session: {self.call(pctx, allow_await=False)}", f"{name}(None)"], ctx
        if form == "default":
            s = self.held(ctx) or "None"
            pctx = lctx.but(sessions=lctx.sessions + (("s", False),))
            return [f"{name} = lambda s={s}: {self.call(pctx, allow_await=False)}"], ctx
        if form == "immediate":
            return [f"(lambda: {self.call(lctx, allow_await=False)})()"], ctx
        return [f"{name} = sorted([1, 2], key=lambda k: {self.call(lctx, allow_await=False)})"], ctx

    def s_partial(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        svc = self.pick_service(ctx)
        if svc is None:
            return ["pass"], ctx
        name = self.fresh("p")
        s = self.held(ctx)
        kw = f", {svc.param}={s}" if s and svc.param and self.chance(0.5) else ""
        ref = self.callee_ref(svc, ctx)
        call = f"{name}(1)"
        if svc.is_async and ctx.is_async:
            call = f"await {call}"
        return [f"{name} = functools.partial({ref}{kw})", call], ctx

    def s_splat(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        svc = self.pick_service(ctx)
        if svc is None:
            return ["pass"], ctx
        s = self.held(ctx) or "None"
        a, k = self.fresh("args"), self.fresh("kw")
        ref = self.callee_ref(svc, ctx)
        form = self.pick([
            ([f"{a} = (1, {s})"], f"{ref}(*{a})"),
            ([f"{k}: dict[str, Any] = {{'{svc.param or 'session'}': {s}}}"], f"{ref}(1, **{k})"),
            ([], f"{ref}(*[1], **{{}})"),
            ([f"{a}: list[Any] = []"], f"{ref}(1, *{a})"),
            ([], f"{ref}(**{{'key': 1}})"),
        ])
        call = form[1]
        if svc.is_async and not svc.generator and ctx.is_async:
            call = f"await {call}"
        return form[0] + [call], ctx

    def s_lambda_nest(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("ln")
        call = self.call(ctx.but(is_async=False), allow_await=False)
        form = self.pick([
            f"{name} = [lambda: {call} for _ in range(2)]",
            f"{name} = (lambda: (lambda: {call})())()",
            f"{name} = lambda: ({name}_w := {call})",
            f"{name} = lambda *a, **k: {call}",
            f"{name} = {{k: (lambda s=k: {call}) for k in [db.SessionLocal()]}}",
            f"{name} = lambda session=None: [{call} for _ in [session]]",
        ])
        return [form], ctx

    def s_augassign(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("acc")
        form = self.pick([
            [f"{name} = 0", f"{name} += {self.call(ctx)}  # type: ignore[operator]"],
            [f"{name}: dict[Any, Any] = {{}}", f"{name}[{self.call(ctx)}] = {self.call(ctx)}"],
            [f"{name}: list[Any] = []", f"{name}[0:0] = [{self.call(ctx)}]", f"del {name}[0]"],
            [f"{name} = db.Item()", f"{name}.id += 1", f"{name}.id = {self.call(ctx)}  # type: ignore[assignment]"],
        ])
        return form, ctx

    def s_raise(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        form = self.pick([
            f"raise ValueError({self.call(ctx)}) from None",
            f"raise RuntimeError(str({self.call(ctx)}))",
            f"assert db.FLAG, {self.call(ctx)}",
        ])
        if form.startswith("assert"):
            return [form], ctx
        return block("if not db.FLAG:", [form]), ctx

    def s_callable_var(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        svc = self.pick_service(ctx, functions_only=True)
        if svc is None:
            return ["pass"], ctx
        name = self.fresh("cv")
        ann = self.pick(["Callable[[int, Session | None], int]", "db.Loader", "Callable[..., Any]", "Any"])
        held = self.held(ctx, False)
        call = f"{name}(1)" if held is None or self.chance(0.5) else f"{name}(1, session={held})"
        return [f"{name}: {ann} = {self.ref(svc, ctx)}  # type: ignore[assignment]", call], ctx

    def s_namedtuple(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("job")
        held = self.held(ctx, False)
        form = self.pick([f'db.Job("x")', f'db.Job("x", {held or "None"})', f'db.Job(name="x", session={held or "None"})'])
        lines = [f"{name} = {form}"]
        if self.chance(0.5):
            lines.append(f"_n, *_r = {name}")
        if self.chance(0.5):
            lines.append(f"{name} = {name}._replace(session=None)")
        return lines, ctx

    def s_marker_call(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        svc = self.pick_service(ctx, functions_only=True)
        if svc is None:
            return ["pass"], ctx
        name = self.fresh("mk")
        marker = self.pick(["ReadOnly", "MultiStep", "OwnTransaction", "ScopeOpener", "ms.SingleStep"])
        form = self.pick([
            [f"{name} = {marker}({self.ref(svc, ctx)})", f"{name}(1)"],
            [f"{name} = {marker}(lambda session=None: 1)", f"{name}()"],
            [f"{name} = {marker}", f"{name}({self.ref(svc, ctx)})(1)"],
        ])
        return form, ctx

    def s_odd_with(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.pick(["session", "s", self.fresh("o")])
        body = self.stmts(inner.but(sessions=inner.sessions + ((name, False),)), 1)
        head = self.pick([
            f"with {self.call(ctx, allow_await=False)} as {name}:  # type: ignore[attr-defined]",
            f"with open('/dev/null') as {name}:",
            f"with nullcontext() as {name}:",
            f"with nullcontext({self.held(ctx) or 'None'}) as {name}:",
            f"with db.Scoped() as {name}:",
            f"with db.SessionId(db.SessionLocal()) as {name}:",
            f"with cast(Any, None) as {name}:",
        ])
        if ctx.is_async and self.chance(0.3):
            head = f"async with asyncio.TaskGroup() as {name}:"
            body = [f"{name}.create_task(asyncio.sleep(0))"] + body
        return block(head, body), ctx

    def s_reveal(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        s = self.held(ctx) or (ctx.optional[0][0] if ctx.optional else None)
        return [f"reveal_type({s})" if s and self.chance(0.7) else "reveal_locals()"], ctx

    def s_nonlocal_session(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        names = [p for p, a in ctx.optional + ctx.sessions if "." not in p and not a]
        if not names:
            return self.s_nested_def(ctx, inner)
        target = self.pick(names)
        name = self.fresh("_rebind")
        nctx = inner.but(loop=False, ret="", is_async=False, generator=None)
        body = [f"nonlocal {target}", f"{target} = {self.opener_expr(ctx)}"] + self.stmts(
            nctx.but(sessions=nctx.sessions + ((target, False),)), 1)
        return block(f"def {name}() -> None:", body) + [f"{name}()"], ctx

    def s_yield(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        call = self.call(ctx)
        forms = [f"yield {call}  # type: ignore[misc]", f"_sent = yield 1", "yield 1"]
        if ctx.generator == "sync":
            forms.append(f"yield from [{call}]  # type: ignore[misc]")
        return [self.pick(forms)], ctx

    def s_star_assign(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        a, b = self.fresh("a"), self.fresh("b")
        s = self.held(ctx) or "db.SessionLocal()"
        form = self.pick([
            f"{a}, *{b} = [{s}, {s}]",
            f"*{a}, {b} = ({self.call(ctx)}, {self.call(ctx)})",
            f"{a}, ({b}, *_rest) = 1, (2, 3)",
            f"[{a}, *{b}] = [{self.opener_expr(ctx)}]",
            f"{a} = {b} = {s}",
        ])
        return [form], ctx

    def s_del(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("d")
        return [f"{name} = {self.call(ctx)}", f"del {name}"], ctx

    def s_global(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if not ctx.in_function:
            return ["pass"], ctx
        g = self.fresh("_G")
        self.module_globals[ctx.module].append(f"{g}: Any = None")
        return [f"global {g}", f"{g} = {self.held(ctx) or self.call(ctx)}"], ctx

    def s_local_opener(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("ls")
        opener = self.pick(["db.SessionLocal()", "Session()", "sessionmaker()()", "db.MySession()",
                            "db.UnitOfWork().session", "Session(bind=None)"])
        return [f"{name} = {opener}"], ctx.but(sessions=ctx.sessions + ((name, False),))

    def s_rebind(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if ctx.optional:
            p, is_async = self.pick(ctx.optional)
            rest = tuple(o for o in ctx.optional if o[0] != p)
            value = self.pick([f"{p} or db.SessionLocal()", "db.SessionLocal()", f"db.SessionLocal() if {p} is None else {p}"])
            return [f"{p} = {value}"], ctx.but(optional=rest, sessions=ctx.sessions + ((p, is_async),))
        s = self.held(ctx)
        if s is None or s.startswith("self."):
            return ["pass"], ctx
        return [f"{s} = {self.opener_expr(ctx)}"], ctx

    def s_detached(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        loaders = [s for s in self.services if s.returns == "item" and s.owner is None and not s.generator and not s.is_async]
        if not loaders:
            return ["pass"], ctx
        svc = self.pick(loaders)
        obj, s = self.fresh("obj"), self.fresh("s")
        body = [self.pick([f"print({obj}.id)", f"{obj}.id = 2", f"{s}.merge({obj})", f"{s}.add({obj})"])]
        return [f"{obj} = {self.ref(svc, ctx)}(1)"] + block(f"with {self.opener_expr(ctx)} as {s}:", body), ctx

    def s_assert(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        if not ctx.optional:
            return ["assert db.FLAG"], ctx
        p, is_async = self.pick(ctx.optional)
        rest = tuple(o for o in ctx.optional if o[0] != p)
        cond = self.pick([f"{p} is not None", p, f"{p} and db.FLAG", f"isinstance({p}, Session)"])
        return [f"assert {cond}"], ctx.but(optional=rest, sessions=ctx.sessions + ((p, is_async),))

    def s_local_import(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        svcs = [s for s in self.services if s.owner is None and s.module != ctx.module]
        if not svcs:
            return ["pass"], ctx
        svc = self.pick(svcs)
        alias = self.fresh("_f")
        rel = self.chance(0.3)
        src = f".m{svc.module}" if rel else f"{PKG}.m{svc.module}"
        line = f"from {src} import {svc.name} as {alias}"
        call = f"{alias}({self.args(svc, ctx)})"
        if svc.is_async and ctx.is_async and not svc.generator:
            call = f"await {call}"
        return [line, call], ctx

    def s_typed_local(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("t")
        s = self.held(ctx) or "db.SessionLocal()"
        ann = self.pick(["Session", "Any", '"Session"', "Session | None", "SessionLike"])
        return [f"{name}: {ann} = {s}"], ctx.but(sessions=ctx.sessions + ((name, False),))

    def s_fstring(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        return [f'print(f"{{ ({self.call(ctx, multiline=False)})!r}} {{1:>{{2}}}}")'], ctx

    def s_conditional_expr(self, ctx: Ctx, inner: Ctx) -> tuple[list[str], Ctx]:
        name = self.fresh("ce")
        s = self.held(ctx) or (ctx.optional[0][0] if ctx.optional else "None")
        form = self.pick([
            f"{name} = {self.call(ctx)} if {s} else None",
            f"{name} = {s} or {self.opener_expr(ctx)}",
            f"{name} = {s} and {self.call(ctx)}",
            f"{name} = ({self.call(ctx)}, {self.call(ctx)})[0]",
        ])
        return [form], ctx

    # -- expressions ------------------------------------------------------------------------

    def opener_expr(self, ctx: Ctx) -> str:
        if self.config == "custom" and self.chance(0.1):
            return "fixedsupport.open_conn()"
        options = ["db.session_scope()", "db.session_scope()", "db.SessionLocal()", "db.SessionLocal.begin()",
                   "sessionmaker()()", "db.open_db()", "db.create_session()", "db.UnitOfWork()", "Session()"]
        s = self.held(ctx, False)
        if s is not None:
            options.append(f"db.session_scope({s})")  # an opener handed the held session
        return self.pick(options)

    def pick_service(self, ctx: Ctx, functions_only: bool = False) -> Service | None:
        options = [s for s in self.services if not s.generator and (s.owner is None or not functions_only)]
        return self.pick(options) if options else None

    def ref(self, svc: Service, ctx: Ctx) -> str:
        """How the current module refers to a module-level service (adding the import)."""
        if svc.module == ctx.module:
            return svc.name
        style = self.pick(["from", "from", "module", "alias", "checking", "relative"])
        m = svc.module
        if style == "from":
            self.imports[ctx.module].add(f"from {PKG}.m{m} import {svc.name}")
            return svc.name
        if style == "relative":
            self.imports[ctx.module].add(f"from .m{m} import {svc.name}")
            return svc.name
        if style == "module":
            self.imports[ctx.module].add(f"from {PKG} import m{m}")
            return f"m{m}.{svc.name}"
        if style == "checking":
            self.imports[ctx.module].add(f"!import {PKG}.m{m}")
            return f"{PKG}.m{m}.{svc.name}"
        self.imports[ctx.module].add(f"import {PKG}.m{m} as mod{m}")
        return f"mod{m}.{svc.name}"

    def owner_ref(self, svc: Service, ctx: Ctx) -> str:
        assert svc.owner is not None
        fake = Service(svc.module, svc.owner)
        return self.ref(fake, ctx)

    def callee_ref(self, svc: Service, ctx: Ctx) -> str:
        if svc.owner is None:
            return self.ref(svc, ctx)
        cls = self.owner_ref(svc, ctx)
        if svc.method_kind in ("static", "class") and self.chance(0.5):
            return f"{cls}.{svc.name}"
        ctor = ""
        s = self.held(ctx, False)
        if svc.ctor_session and s is not None and self.chance(0.5):
            ctor = self.pick([s, f"session={s}"])
        return f"{cls}({ctor}).{svc.name}"

    def args(self, svc: Service, ctx: Ctx) -> str:
        """The arguments of a call of `svc`: key, and maybe the session, in some form."""
        held = self.held(ctx, svc.is_async) if svc.param else None
        optional = [p for p, a in ctx.optional if a == svc.is_async]
        form = self.pick(["none", "kw", "kw", "pos", "none_literal", "fresh", "optional", "splat", "cast"])
        key = "1"
        if svc.param is None:
            return self.pick([key, f"key={key}", f"*[{key}]"])
        idx = svc.session_index
        if form == "none" or (held is None and form in ("kw", "pos", "splat", "cast")):
            return key if svc.layout != "first" else ""
        if form == "optional" and optional:
            value = self.pick(optional)
        elif form == "none_literal":
            value = "None"
        elif form == "fresh":
            value = "db.SessionLocal()" if not svc.is_async else "db.AsyncSessionLocal()"
        elif form == "cast":
            value = f"cast(Any, {held})"
        else:
            value = held or "None"
        if form == "splat":
            return f"{key}, **{{'{svc.param}': {value}}}"
        if form == "pos" and idx is not None:
            return f"{value}, {key}" if idx == 0 else f"{key}, {value}"
        return f"{key}, {svc.param}={value}"

    def call(self, ctx: Ctx, allow_await: bool = True, multiline: bool = True) -> str:
        svc = self.pick_service(ctx)
        if svc is None:
            return "print()"
        ref = self.callee_ref(svc, ctx)
        receivers = [ctx.self_name] if ctx.self_name else []
        if ctx.cls_name:
            receivers.append(ctx.cls_name)
        if ctx.siblings and receivers and self.chance(0.4):
            svc = self.pick(ctx.siblings)
            receiver = self.pick(receivers)
            if receiver == "cls" and svc.method_kind == "instance":
                receiver = "self" if ctx.self_name else "cls"
            ref = f"{receiver}.{svc.name}"
        elif self.chance(0.08):
            other = self.pick_service(ctx, functions_only=True)
            if other is not None:
                ref = self.pick([
                    f"({ref} if db.FLAG else {self.ref(other, ctx)})",
                    f"[{ref}][0]",
                    f"{{'k': {ref}}}['k']",
                    f"cast(Any, {ref})",
                    f"getattr({ref}, '__call__')",
                ])
        args = self.args(svc, ctx)
        if multiline and self.multiline and args and "," in args:
            args = "\n" + args.replace(", ", ",\n  ") + ",\n"
        text = f"{ref}({args})"
        if svc.is_async and ctx.is_async and allow_await:
            text = f"await {text}"
        return text


@st.composite
def programs(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Program:
    return Generator(draw).program()


# -- mutated test cases ------------------------------------------------------------------------
#
# A second source of programs: the YAML cases of tests/typecheck (real idioms, each a small
# multi-module program), moved into the generated package and mutated at the syntax-tree
# level: statements wrapped in nested functions, lambdas, comprehensions, classes, loops,
# `try`, `match`, `with` over a new session; functions made async or decorated;
# annotations dropped or turned into strings; arguments dropped, set to None or splatted;
# parameters renamed; statements deleted or duplicated. A mutation that does not compile
# is undone.

TYPECHECK_DIR = Path(__file__).parent / "typecheck"
_HELPERS = "import functools as _m_functools\nimport sqlalchemy.orm as _m_orm\n"
MUTATIONS = (
    "wrap_if", "wrap_for", "wrap_try", "wrap_with", "wrap_def", "wrap_async_def", "wrap_class", "wrap_match",
    "wrap_lambda", "wrap_comprehension", "asyncify", "decorate", "delete", "duplicate", "drop_annotations",
    "stringify_annotations", "mutate_call", "rename_param", "walrus", "star_assign", "globalize", "del_after",
)


def _fill(text: str, params: dict[str, Any]) -> str:
    """pytest-mypy-plugins' `{{ name }}` placeholders of a parametrized case, filled in."""
    return re.sub(r"\{\{\s*(\w+)\s*\}\}", lambda m: str(params.get(m[1], m[0])), text)


def load_seeds() -> list[tuple[str, dict[str, str]]]:
    """(case id, {path: source}) for every case of the YAML tests."""
    import yaml

    seeds = []
    for path in sorted(TYPECHECK_DIR.rglob("test-*.yml")):
        for case in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            # A parametrized case is one seed per parameter set, its `{{ name }}` filled in.
            for number, params in enumerate(case.get("parametrized") or [{}]):
                files = {"main.py": case.get("main") or ""}
                for item in case.get("files") or []:
                    files[item["path"]] = item.get("content") or ""
                files = {
                    _fill(name, params): _fill(text, params)
                    for name, text in files.items()
                    if _fill(name, params).endswith(".py")
                }
                seeds.append((f"{path.parent.name}/{case['case']}[{number}]", files))
    return seeds


class _Imports(ast.NodeTransformer):
    """Imports of the case's own modules, made absolute imports from the package."""

    def __init__(self, tops: set[str]) -> None:
        self.tops = tops

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level == 0 and node.module and node.module.split(".")[0] in self.tops:
            node.module = f"{PKG}.{node.module}"
        return node

    def visit_Import(self, node: ast.Import) -> Any:
        out: list[ast.stmt] = []
        for alias in node.names:
            top = alias.name.split(".")[0]
            if top not in self.tops:
                out.append(ast.Import(names=[alias]))
            elif alias.asname:
                out.append(ast.Import(names=[ast.alias(f"{PKG}.{alias.name}", alias.asname)]))
            else:
                out.append(ast.Import(names=[ast.alias(f"{PKG}.{alias.name}")]))
                out.append(ast.ImportFrom(module=PKG, names=[ast.alias(top)], level=0))
        return out


def _bodies(tree: ast.AST) -> list[list[ast.stmt]]:
    found = []
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            value = getattr(node, name, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                found.append(value)
    return found


def _stmt(text: str) -> ast.stmt:
    return ast.parse(text).body[0]


class Mutator:
    def __init__(self, draw: Callable[[st.SearchStrategy[Any]], Any]) -> None:
        self._draw = draw
        self.counter = 0

    def index(self, n: int) -> int:
        return self._draw(st.integers(0, 1000)) % n

    def fresh(self) -> str:
        self.counter += 1
        return f"_m{self.counter}"

    def mutate(self, tree: ast.Module, kind: str) -> None:
        bodies = _bodies(tree)
        body = bodies[self.index(len(bodies))]
        i = self.index(len(body))
        stmt = body[i]
        if isinstance(stmt, (ast.ImportFrom, ast.Import)) and kind not in ("duplicate",):
            return
        getattr(self, f"m_{kind}")(tree, body, i, stmt)

    def _wrap(self, body: list[ast.stmt], i: int, template: str, inner: list[ast.stmt] | None = None) -> ast.stmt:
        node = _stmt(template)
        target = node
        while not (hasattr(target, "body") and any(isinstance(s, ast.Pass) for s in target.body)):
            target = target.body[0] if hasattr(target, "body") else getattr(target, "cases")[0]
        target.body = inner if inner is not None else [body[i]]
        body[i] = node
        return node

    def m_wrap_if(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        self._wrap(body, i, "if len(__name__):\n    pass")

    def m_wrap_for(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        self._wrap(body, i, f"for {self.fresh()} in range(1):\n    pass")

    def m_wrap_try(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        self._wrap(body, i, "try:\n    pass\nexcept Exception:\n    raise\nfinally:\n    len('')")

    def m_wrap_with(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        opener = ["_m_orm.sessionmaker()()", "_m_orm.Session()", "_m_orm.sessionmaker().begin()"][self.index(3)]
        name = ["session", "s", "db", "sess", self.fresh()][self.index(5)]
        self._wrap(body, i, f"with {opener} as {name}:\n    pass")

    def m_wrap_def(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        name = self.fresh()
        params = ["", "session=None", "session: _m_orm.Session", "*args, **kwargs", "sess: '_m_orm.Session | None' = None"][self.index(5)]
        self._wrap(body, i, f"def {name}({params}):\n    pass")
        body.insert(i + 1, _stmt(f"{name}()"))

    def m_wrap_async_def(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        self._wrap(body, i, f"async def {self.fresh()}(session=None):\n    pass")

    def m_wrap_class(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        name = self.fresh()
        self._wrap(body, i, f"class {name}:\n    pass")

    def m_wrap_match(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        node = _stmt("match __name__:\n    case 'x':\n        pass\n    case _:\n        pass")
        assert isinstance(node, ast.Match)
        node.cases[self.index(2)].body = [stmt]
        body[i] = node

    def m_wrap_lambda(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.Expr, ast.Return)) and stmt.value is not None:
            stmt.value = ast.Call(ast.Lambda(ast.arguments([], [], None, [], [], None, []), stmt.value), [], [])

    def m_wrap_comprehension(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.Expr, ast.Return, ast.Assign)) and stmt.value is not None:
            comp = ast.parse(f"[X for {self.fresh()} in range(1)]", mode="eval").body
            assert isinstance(comp, ast.ListComp)
            comp.elt = stmt.value
            stmt.value = comp if self.index(2) else ast.Call(ast.Name("list", ast.Load()), [ast.GeneratorExp(comp.elt, comp.generators)], [])

    def _functions(self, tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]

    def m_asyncify(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.FunctionDef):
            body[i] = ast.AsyncFunctionDef(**{f: getattr(stmt, f) for f in stmt._fields})

    def m_decorate(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            deco = ["(lambda f: f)", "_m_functools.lru_cache()", "_m_functools.wraps(len)", "staticmethod",
                    "_m_functools.cache", "__import__('mypy_session').ReadOnly", "type"][self.index(7)]
            stmt.decorator_list.insert(self.index(len(stmt.decorator_list) + 1), ast.parse(deco, mode="eval").body)

    def m_delete(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        body[i] = ast.Pass()

    def m_duplicate(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        body.insert(i, copy.deepcopy(stmt))

    def m_drop_annotations(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        funcs = self._functions(tree)
        if funcs:
            func = funcs[self.index(len(funcs))]
            func.returns = None
            for arg in func.args.args + func.args.kwonlyargs + func.args.posonlyargs:
                arg.annotation = None

    def m_stringify_annotations(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        funcs = self._functions(tree)
        if funcs:
            func = funcs[self.index(len(funcs))]
            for arg in func.args.args + func.args.kwonlyargs:
                if arg.annotation is not None and not isinstance(arg.annotation, ast.Constant):
                    arg.annotation = ast.Constant(ast.unparse(arg.annotation))

    def m_mutate_call(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        if not calls:
            return
        call = calls[self.index(len(calls))]
        how = self.index(5)
        if how == 0 and call.keywords:
            call.keywords.pop(self.index(len(call.keywords)))
        elif how == 1 and call.keywords:
            call.keywords[self.index(len(call.keywords))].value = ast.Constant(None)
        elif how == 2 and call.keywords:
            kw = call.keywords.pop(self.index(len(call.keywords)))
            if kw.arg is not None:
                call.args.append(kw.value)
        elif how == 3:
            call.keywords.append(ast.keyword(None, ast.Dict([], [])))
        else:
            call.args = [ast.Starred(ast.List(call.args, ast.Load()), ast.Load())] if call.args else []

    def m_rename_param(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        funcs = self._functions(tree)
        if not funcs:
            return
        func = funcs[self.index(len(funcs))]
        params = [a for a in func.args.args + func.args.kwonlyargs if a.arg not in ("self", "cls")]
        if not params:
            return
        param = params[self.index(len(params))]
        new = ["session", "db", "sess", "dbs"][self.index(4)]
        old = param.arg
        for node in ast.walk(func):
            if isinstance(node, ast.Name) and node.id == old:
                node.id = new
            elif isinstance(node, ast.arg) and node.arg == old:
                node.arg = new

    def m_walrus(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            body[i] = ast.Expr(ast.NamedExpr(ast.Name(stmt.targets[0].id, ast.Store()), stmt.value))

    def m_star_assign(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            target = ast.Tuple([stmt.targets[0], ast.Starred(ast.Name(self.fresh(), ast.Store()), ast.Store())], ast.Store())
            stmt.targets = [target]
            stmt.value = ast.Tuple([stmt.value, ast.Constant(0)], ast.Load())

    def m_globalize(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        funcs = self._functions(tree)
        if not funcs:
            return
        func = funcs[self.index(len(funcs))]
        names = sorted({n.id for n in ast.walk(func) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)})
        if names:
            func.body.insert(0, ast.Global([names[self.index(len(names))]]))

    def m_del_after(self, tree: ast.Module, body: list[ast.stmt], i: int, stmt: ast.stmt) -> None:
        if isinstance(stmt, ast.Assign) and isinstance(stmt.targets[0], ast.Name):
            body.insert(i + 1, ast.Delete([ast.Name(stmt.targets[0].id, ast.Del())]))
        elif isinstance(stmt, ast.With) and isinstance(stmt.items[0].optional_vars, ast.Name):
            stmt.body.append(ast.Delete([ast.Name(stmt.items[0].optional_vars.id, ast.Del())]))


def _compiles(text: str) -> bool:
    try:
        compile(text, "<mutant>", "exec")
    except (SyntaxError, ValueError):
        return False
    return True


def _with_helpers(tree: ast.Module) -> None:
    at = 0
    while at < len(tree.body) and (
        (isinstance(tree.body[at], ast.ImportFrom) and tree.body[at].module == "__future__")  # type: ignore[attr-defined]
        or (isinstance(tree.body[at], ast.Expr) and isinstance(tree.body[at].value, ast.Constant))  # type: ignore[attr-defined]
    ):
        at += 1
    tree.body[at:at] = ast.parse(_HELPERS).body


_SEEDS: list[tuple[str, dict[str, str]]] | None = None


@st.composite
def mutated_cases(draw: Callable[[st.SearchStrategy[Any]], Any]) -> Program:
    """A YAML test case, moved into the package and mutated."""
    global _SEEDS
    if _SEEDS is None:
        _SEEDS = load_seeds()
    name, files = _SEEDS[draw(st.integers(0, len(_SEEDS) - 1))]
    tops = {path.split("/")[0].removesuffix(".py") for path in files}
    mutator = Mutator(draw)
    trees: dict[str, ast.Module] = {}
    for path, text in files.items():
        tree = _Imports(tops).visit(ast.parse(text))
        _with_helpers(tree)
        trees[path] = ast.fix_missing_locations(tree)
    paths = sorted(trees)
    for _ in range(draw(st.integers(0, 8))):
        path = paths[mutator.index(len(paths))]
        kind = draw(st.sampled_from(MUTATIONS))
        before = copy.deepcopy(trees[path])
        mutator.mutate(trees[path], kind)
        ast.fix_missing_locations(trees[path])
        if not _compiles(ast.unparse(trees[path])):
            trees[path] = before
    sources = {path: f"# case: {name}\n" + ast.unparse(tree) + "\n" for path, tree in trees.items()}
    for path in list(sources):  # packages of the case's own (app/services.py)
        parts = path.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            sources.setdefault("/".join(parts[:depth]) + "/__init__.py", "")
    config = draw(st.sampled_from(sorted(CONFIGS)))
    return Program(sources, config, {}, "")
