"""Generate a synthetic SQLAlchemy 2.x service-layer code base for benchmarks.

The corpus imitates the code that mypy-session is written for (SPEC.md, section 1):

* ``corpus_app/models.py``: about twenty mapped classes (``DeclarativeBase``, ``Mapped``,
  ``mapped_column``, ``relationship`` with ``back_populates``);
* ``corpus_app/database.py``: ``session_scope()`` (``@contextmanager``,
  ``-> Iterator[Session]``) and its async twin ``async_session_scope()``;
* ``corpus_app/common.py``: shared plain helpers and dataclasses;
* ``corpus_app/services/svc_NNNN.py``: ``modules`` service modules with ``functions`` units
  each, mixing pattern A (``session: Session | None = None`` dispatching to an ``_impl``),
  pattern B (``nullcontext``), ``def _impl(sess)`` closures, functions that require a
  session, repository classes holding ``self.session``, async functions on
  ``AsyncSession``, request handlers that open a scope, dataclasses, and plain helpers
  doing ordinary string / arithmetic / list / dict work, so that most calls are not
  session calls.  Service modules import earlier service modules only (no cycles) and
  call into them.

About 2 % of the calls that hand a session to a service (``drop_rate``) deliberately pass
nothing: a real mistake that mypy-session reports as ``session-not-forwarded``.  Each such
line ends with the comment ``# bench: session dropped`` and is listed in
``corpus_manifest.json`` together with counts of functions, lines and calls.

Plain mypy (``--strict``, no plugin) reports zero errors on the corpus.  Output is a
deterministic function of the arguments.

Usage: ``python benchmarks/corpus.py DEST [--modules N] [--functions F] [--seed S]``.
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

PACKAGE = "corpus_app"
MANIFEST = "corpus_manifest.json"
DROP_MARKER = "# bench: session dropped"

# Mapped classes: (class name, parent class or None).  A child gets a foreign key and a
# many-to-one relationship to its parent; the parent gets the one-to-many side.
MODELS: list[tuple[str, str | None]] = [
    ("Customer", None),
    ("Address", "Customer"),
    ("Supplier", None),
    ("Category", None),
    ("Product", "Category"),
    ("Warehouse", None),
    ("StockItem", "Product"),
    ("Order", "Customer"),
    ("OrderLine", "Order"),
    ("Shipment", "Order"),
    ("Invoice", "Order"),
    ("Payment", "Invoice"),
    ("Ingredient", "Supplier"),
    ("Recipe", "Product"),
    ("RecipeStep", "Recipe"),
    ("ProductionRun", "Recipe"),
    ("FinishedUnit", "ProductionRun"),
    ("Department", None),
    ("Employee", "Department"),
    ("AuditEntry", "Employee"),
]

VERBS_WRITE = ["update", "adjust", "record", "restock", "archive", "assign", "rename", "sync"]
VERBS_READ = ["count", "list", "find", "load", "summarize", "total", "lookup", "check"]
WORDS = ["alpha", "north", "batch", "spring", "flour", "crate", "amber", "delta", "oak"]

# Value types the body generator knows how to produce and consume.
VALUE_TYPES = ["int", "str", "float", "bool", "list[str]", "list[float]", "dict[str, int]"]
RETURN_TYPES = ["int", "str", "float", "bool", "list[str]", "None"]
PARAM_SHAPES: list[list[tuple[str, str]]] = [
    [("item_id", "int")],
    [("item_id", "int"), ("label", "str")],
    [("code", "str"), ("qty", "float")],
    [("limit", "int")],
    [("item_id", "int"), ("qty", "float"), ("note", "str")],
    [("codes", "list[str]")],
]

# (kind, weight): one "unit" of a service module per draw.
UNIT_KINDS: list[tuple[str, int]] = [
    ("helper", 34),
    ("dataclass", 4),
    ("pattern_a", 14),
    ("pattern_b", 9),
    ("closure", 3),
    ("reader", 10),
    ("repo", 7),
    ("async_a", 7),
    ("async_reader", 3),
    ("handler", 5),
]


def snake(name: str) -> str:
    """``StockItem`` -> ``stock_item``."""
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


def plural(word: str) -> str:
    """Naive English plural of a snake_case noun."""
    if word.endswith("y"):
        return word[:-1] + "ies"
    if word.endswith("s"):
        return word + "es"
    return word + "s"


def children_of(model: str) -> list[str]:
    return [child for child, parent in MODELS if parent == model]


# --------------------------------------------------------------------------------------
# Callable registries


@dataclass(frozen=True)
class Helper:
    """A plain function (no session parameter) that bodies can call."""

    qualname: str  # how to spell it at the call site (after imports are set up)
    params: tuple[tuple[str, str], ...]
    returns: str


@dataclass(frozen=True)
class Api:
    """A session-accepting service function."""

    module: str  # e.g. "svc_0003"
    name: str
    params: tuple[tuple[str, str], ...]
    returns: str
    optional: bool  # session: Session | None = None (may be omitted by callers)
    is_async: bool


@dataclass(frozen=True)
class Repo:
    """A repository class: ``Repo(session)`` plus query and business methods."""

    module: str
    name: str
    model: str
    methods: tuple[tuple[str, tuple[tuple[str, str], ...], str], ...]


@dataclass(frozen=True)
class DataClass:
    module: str
    name: str


@dataclass
class ModuleInfo:
    name: str
    helpers: list[Helper] = field(default_factory=list)
    apis: list[Api] = field(default_factory=list)
    repos: list[Repo] = field(default_factory=list)
    dataclasses: list[DataClass] = field(default_factory=list)


@dataclass
class Stats:
    session_calls: int = 0
    dropped: int = 0
    owed: int = 0  # drops decided where no callee could take one; made up later
    units: dict[str, int] = field(default_factory=dict)


# --------------------------------------------------------------------------------------
# Function bodies


class Body:
    """Generates the statements of one function body, tracking typed local names."""

    def __init__(
        self,
        gen: ModuleGen,
        params: tuple[tuple[str, str], ...],
        indent: int,
        session: str | None = None,
        is_async: bool = False,
    ) -> None:
        self.gen = gen
        self.rng = gen.rng
        self.indent = indent
        self.session = session  # expression of the held session, if any
        self.is_async = is_async
        self.lines: list[str] = []
        self.vars: dict[str, list[str]] = {t: [] for t in VALUE_TYPES}
        self.taken: set[str] = set()
        for name, typ in params:
            self.vars[typ].append(name)
            self.taken.add(name)

    # -- helpers -----------------------------------------------------------------------
    def emit(self, line: str, extra_indent: int = 0) -> None:
        self.lines.append("    " * (self.indent + extra_indent) + line)

    def fresh(self, stem: str) -> str:
        i = 1
        while f"{stem}_{i}" in self.taken:
            i += 1
        name = f"{stem}_{i}"
        self.taken.add(name)
        return name

    def bind(self, stem: str, typ: str) -> str:
        name = self.fresh(stem)
        self.vars[typ].append(name)
        return name

    def local(self, typ: str) -> str | None:
        names = self.vars[typ]
        return self.rng.choice(names) if names else None

    def expr(self, typ: str) -> str:
        """An expression of type ``typ`` from locals and literals."""
        rng = self.rng
        loc = self.local(typ)
        if loc is not None and rng.random() < 0.65:
            return loc
        word = rng.choice(WORDS)
        if typ == "int":
            lst = self.local("list[str]") or self.local("list[float]")
            if lst is not None and rng.random() < 0.3:
                return f"len({lst})"
            ints = self.local("int")
            if ints is not None and rng.random() < 0.5:
                return f"{ints} + {rng.randint(1, 9)}"
            return str(rng.randint(1, 500))
        if typ == "str":
            s = self.local("str")
            if s is not None and rng.random() < 0.5:
                return f'f"{{{s}}}-{word}"'
            return f'"{word}"'
        if typ == "float":
            i = self.local("int")
            if i is not None and rng.random() < 0.3:
                return f"float({i})"
            f = self.local("float")
            if f is not None and rng.random() < 0.5:
                return f"{f} * {rng.choice(['1.5', '0.25', '2.0'])}"
            return f"{rng.randint(1, 99)}.{rng.randint(0, 9)}"
        if typ == "bool":
            i = self.local("int")
            if i is not None and rng.random() < 0.6:
                return f"{i} > {rng.randint(0, 50)}"
            return rng.choice(["True", "False"])
        if typ == "list[str]":
            s = self.local("str")
            if s is not None and rng.random() < 0.5:
                return f'{s}.split(",")'
            return f'["{word}", "{rng.choice(WORDS)}"]'
        if typ == "list[float]":
            f = self.local("float")
            if f is not None:
                return f"[{f}, {rng.randint(1, 9)}.5]"
            return f"[{rng.randint(1, 9)}.0, {rng.randint(1, 9)}.5]"
        if typ == "dict[str, int]":
            return f"{{{self.expr('str')}: {self.expr('int')}}}"
        raise ValueError(typ)

    def args(self, params: tuple[tuple[str, str], ...]) -> list[str]:
        return [self.expr(typ) for _, typ in params]

    # -- statements --------------------------------------------------------------------
    def stmt_helper_call(self) -> None:
        helper = self.gen.pick_helper()
        call = f"{helper.qualname}({', '.join(self.args(helper.params))})"
        self.emit(f"{self.bind('value', helper.returns)} = {call}")

    def stmt_compute(self) -> None:
        rng = self.rng
        choice = rng.randrange(7)
        if choice == 0:
            xs = self.expr("list[float]")
            self.emit(f"{self.bind('avg', 'float')} = sum({xs}) / max(len({xs}), 1)")
        elif choice == 1:
            names = self.expr("list[str]")
            self.emit(f'{self.bind("joined", "str")} = ", ".join(sorted({names}))')
        elif choice == 2:
            counts = self.bind("counts", "dict[str, int]")
            self.emit(f"{counts}: dict[str, int] = {{}}")
            self.emit(f"for word in {self.expr('list[str]')}:")
            self.emit(f"{counts}[word[:1] or '_'] = {counts}.get(word[:1] or '_', 0) + 1", 1)
        elif choice == 3:
            s = self.expr("str")
            self.emit(f"{self.bind('text', 'str')} = {s}.strip().title().replace(' ', '_')")
        elif choice == 4:
            a, b = self.expr("int"), self.expr("int")
            self.emit(f"{self.bind('total', 'int')} = ({a} * 3 + {b}) % 97")
        elif choice == 5:
            d = self.expr("dict[str, int]")
            self.emit(f"{self.bind('keys', 'list[str]')} = [k for k, v in {d}.items() if v > 1]")
        else:
            f = self.expr("float")
            self.emit(f"{self.bind('rounded', 'float')} = round(max({f}, 0.0) * 1.07, 2)")

    def stmt_dataclass(self) -> None:
        dc = self.gen.pick_dataclass()
        obj = self.fresh("summary")
        self.emit(
            f"{obj} = {dc}(label={self.expr('str')}, total={self.expr('float')}, "
            f"count={self.expr('int')})"
        )
        if self.rng.random() < 0.5:
            self.emit(f"{self.bind('described', 'str')} = {obj}.describe()")
        else:
            self.emit(f"{self.bind('mean', 'float')} = {obj}.average()")

    def stmt_orm(self) -> None:
        assert self.session is not None
        gen, rng, s = self.gen, self.rng, self.session
        aw = "await " if self.is_async else ""
        model = rng.choice(MODELS)[0]
        gen.use_model(model)
        choice = rng.randrange(6)
        if choice == 0:
            obj = self.fresh(snake(model))
            self.emit(f"{obj} = {aw}{s}.get({model}, {self.expr('int')})")
            self.emit(f"if {obj} is not None:")
            self.emit(f"{obj}.quantity += {self.expr('float')}", 1)
            self.emit(f'{obj}.note = {obj}.name + ": " + {self.expr("str")}', 1)
            kids = children_of(model)
            if kids and not self.is_async and rng.random() < 0.5:
                kid = rng.choice(kids)
                child = self.fresh(snake(kid))
                self.emit(f"for {child} in {obj}.{plural(snake(kid))}:", 1)
                self.emit(f"{child}.active = {child}.quantity > 0", 2)
        elif choice == 1:
            gen.use_sa("select")
            rows = self.fresh("rows")
            stmt = (
                f"select({model}).where({model}.active.is_(True))"
                f".order_by({model}.name).limit({self.expr('int')})"
            )
            if self.is_async:
                self.emit(f"{rows} = (await {s}.scalars({stmt})).all()")
            else:
                self.emit(f"{rows} = {s}.scalars({stmt}).all()")
            if rng.random() < 0.5:
                self.emit(f"{self.bind('names', 'list[str]')} = [row.name for row in {rows}]")
            else:
                self.emit(
                    f"{self.bind('stock', 'float')} = sum((row.quantity for row in {rows}), 0.0)"
                )
        elif choice == 2:
            self.emit(
                f"{s}.add({model}(code={self.expr('str')}, name={self.expr('str')}, "
                f"quantity={self.expr('float')}))"
            )
            if rng.random() < 0.5:
                self.emit(f"{aw}{s}.flush()")
        elif choice == 3:
            gen.use_sa("select")
            gen.use_sa("func")
            limit = self.expr("float")
            self.emit(
                f"{self.bind('count', 'int')} = ({aw}{s}.scalar(select(func.count())"
                f".select_from({model}).where({model}.quantity > {limit}))) or 0"
            )
        elif choice == 4:
            gen.use_sa("update")
            self.emit(
                f"{aw}{s}.execute(update({model}).where({model}.id == {self.expr('int')})"
                f".values(active={self.expr('bool')}))"
            )
        else:
            gen.use_sa("select")
            code = self.expr("str")
            self.emit(
                f"{self.bind('exists', 'bool')} = ({aw}{s}.scalar(select({model}.id)"
                f".where({model}.code == {code}))) is not None"
            )

    def stmt_api_call(self) -> None:
        assert self.session is not None
        gen, rng = self.gen, self.rng
        gen.roll_drop()
        # Only a callee whose session parameter is optional can be called without it (a
        # required one would be a plain mypy error); a drop owed from a call site without
        # such a callee is made up at the next one that has one.
        api = gen.pick_api(self.is_async, optional_only=True) if gen.stats.owed else None
        drop = api is not None
        if api is None:
            api = gen.pick_api(self.is_async, optional_only=False)
        if api is None:
            self.stmt_orm()
            return
        args = self.args(api.params)
        if drop:
            tail = f"  {DROP_MARKER}"
            gen.stats.dropped += 1
            gen.stats.owed -= 1
        else:
            if rng.random() < 0.2:
                args.append(self.session)
            else:
                args.append(f"session={self.session}")
            tail = ""
        gen.stats.session_calls += 1
        call = f"{'await ' if api.is_async else ''}{gen.api_ref(api)}({', '.join(args)})"
        if api.returns == "None":
            self.emit(call + tail)
        else:
            self.emit(f"{self.bind('result', api.returns)} = {call}{tail}")

    def stmt_repo(self) -> None:
        assert self.session is not None
        gen, rng = self.gen, self.rng
        repo = gen.pick_repo()
        if repo is None:
            self.stmt_orm()
            return
        var = self.fresh("repo")
        gen.roll_drop()
        gen.stats.session_calls += 1
        self.emit(f"{var} = {gen.repo_ref(repo)}({self.session})")
        name, params, returns = rng.choice(repo.methods)
        call = f"{var}.{name}({', '.join(self.args(params))})"
        if returns == f"list[{repo.model}]":
            rows = self.fresh("found")
            self.emit(f"{rows} = {call}")
            self.emit(f"{self.bind('labels', 'list[str]')} = [row.code for row in {rows}]")
        elif returns.endswith("| None"):
            obj = self.fresh("found")
            self.emit(f"{obj} = {call}")
            self.emit(f"{self.bind('found_name', 'str')} = {obj}.name if {obj} else \"\"")
        elif returns == "None":
            self.emit(call)
        else:
            self.emit(f"{self.bind('result', returns)} = {call}")

    def fill(self, count: int) -> None:
        """Append ``count`` statements of a kind mix suited to the body."""
        stmts: list[Callable[[], None]] = [
            self.stmt_helper_call,
            self.stmt_compute,
            self.stmt_dataclass,
            self.stmt_orm,
            self.stmt_api_call,
            self.stmt_repo,
        ]
        if self.session is None:
            weights = [5, 4, 1, 0, 0, 0]
        elif self.is_async:
            weights = [30, 20, 7, 25, 18, 0]  # no async repositories
        else:
            weights = [30, 20, 7, 23, 15, 5]
        for _ in range(count):
            self.rng.choices(stmts, weights)[0]()

    def ret(self, typ: str) -> None:
        if typ != "None":
            self.emit(f"return {self.expr(typ)}")


# --------------------------------------------------------------------------------------
# Modules


class ModuleGen:
    """Builds one service module."""

    def __init__(
        self,
        index: int,
        rng: random.Random,
        deps: list[ModuleInfo],
        common: ModuleInfo,
        drop_rate: float,
        stats: Stats,
    ) -> None:
        self.index = index
        self.rng = rng
        self.info = ModuleInfo(name=f"svc_{index:04d}")
        self.deps = deps
        self.common = common
        self.drop_rate = drop_rate
        self.stats = stats
        self.lines: list[str] = []
        self.models: set[str] = set()
        self.sa_names: set[str] = set()
        self.typing: set[str] = set()  # "Session", "AsyncSession", "nullcontext", ...
        self.module_imports: set[str] = set()
        self.from_imports: dict[str, set[str]] = {}
        self.counter = 0

    # -- references to other modules ---------------------------------------------------
    def use_model(self, model: str) -> None:
        self.models.add(model)

    def use_sa(self, name: str) -> None:
        self.sa_names.add(name)

    def _ref(self, module: str, name: str) -> str:
        """Spell ``module.name`` at a call site, recording the needed import."""
        if module == self.info.name:
            return name
        if module == "common":
            self.from_imports.setdefault(f"{PACKAGE}.common", set()).add(name)
            return name
        # A mix of `from pkg.services import svc_0003` and `from pkg.services.svc_0003 import f`.
        if (hash_of(module) + self.index) % 2:
            self.module_imports.add(module)
            return f"{module}.{name}"
        self.from_imports.setdefault(f"{PACKAGE}.services.{module}", set()).add(name)
        return name

    def api_ref(self, api: Api) -> str:
        return self._ref(api.module, api.name)

    def repo_ref(self, repo: Repo) -> str:
        return self._ref(repo.module, repo.name)

    def pick_helper(self) -> Helper:
        rng = self.rng
        pools = [self.info.helpers, self.common.helpers]
        pools += [d.helpers for d in self.deps]
        pool = rng.choices(pools, [4, 2] + [1] * len(self.deps))[0] or self.common.helpers
        helper = rng.choice(pool)
        if pool is self.common.helpers:
            self._ref("common", helper.qualname)
        elif pool is not self.info.helpers:
            dep = next(d for d in self.deps if helper in d.helpers)
            return Helper(self._ref(dep.name, helper.qualname), helper.params, helper.returns)
        return helper

    def pick_dataclass(self) -> str:
        if self.info.dataclasses and self.rng.random() < 0.7:
            return self.rng.choice(self.info.dataclasses).name
        dc = self.rng.choice(self.common.dataclasses)
        return self._ref("common", dc.name)

    def roll_drop(self) -> None:
        """Decide, for one session call, whether the corpus owes a dropped session."""
        if self.rng.random() < self.drop_rate:
            self.stats.owed += 1

    def pick_api(self, is_async: bool, optional_only: bool) -> Api | None:
        candidates = [
            a
            for m in [self.info, *self.deps]
            for a in m.apis
            if a.is_async == is_async and (a.optional or not optional_only)
        ]
        return self.rng.choice(candidates) if candidates else None

    def pick_repo(self) -> Repo | None:
        candidates = [r for m in [self.info, *self.deps] for r in m.repos]
        return self.rng.choice(candidates) if candidates else None

    # -- naming ------------------------------------------------------------------------
    def new_name(self, verb_pool: list[str], model: str) -> str:
        self.counter += 1
        return f"{self.rng.choice(verb_pool)}_{snake(model)}_{self.index}_{self.counter}"

    def signature(self, params: tuple[tuple[str, str], ...], extra: list[str]) -> str:
        return ", ".join([f"{n}: {t}" for n, t in params] + extra)

    def out(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self.lines.append("")
        self.lines.append("")

    # -- units -------------------------------------------------------------------------
    def unit_helper(self) -> None:
        rng = self.rng
        self.counter += 1
        params = tuple(rng.choice(PARAM_SHAPES))
        returns = rng.choice([t for t in RETURN_TYPES if t != "None"])
        name = f"{rng.choice(['format', 'compute', 'merge', 'score', 'normalize', 'bucket'])}"
        name += f"_{rng.choice(WORDS)}_{self.index}_{self.counter}"
        body = Body(self, params, 1)
        body.fill(rng.randint(2, 5))
        body.ret(returns)
        self.out([f"def {name}({self.signature(params, [])}) -> {returns}:", *body.lines])
        self.info.helpers.append(Helper(name, params, returns))

    def unit_dataclass(self) -> None:
        self.counter += 1
        name = f"{self.rng.choice(MODELS)[0]}Summary{self.index}x{self.counter}"
        self.typing.add("dataclass")
        self.out(
            [
                "@dataclass",
                f"class {name}:",
                "    label: str",
                "    total: float",
                "    count: int",
                "",
                "    def describe(self) -> str:",
                '        return f"{self.label}: {self.count} x {self.total:.2f}"',
                "",
                "    def average(self) -> float:",
                "        return self.total / self.count if self.count else 0.0",
            ]
        )
        self.info.dataclasses.append(DataClass(self.info.name, name))

    def _api_shape(self, verbs: list[str]) -> tuple[str, str, tuple[tuple[str, str], ...], str]:
        model = self.rng.choice(MODELS)[0]
        params = tuple(self.rng.choice(PARAM_SHAPES))
        return model, self.new_name(verbs, model), params, self.rng.choice(RETURN_TYPES)

    def _impl(
        self, name: str, params: tuple[tuple[str, str], ...], returns: str, is_async: bool
    ) -> list[str]:
        st = "AsyncSession" if is_async else "Session"
        body = Body(self, params, 1, session="session", is_async=is_async)
        body.fill(self.rng.randint(3, 7))
        body.ret(returns)
        kw = "async def" if is_async else "def"
        sig = self.signature(params, [f"session: {st}"])
        return [f"{kw} {name}({sig}) -> {returns}:", *body.lines]

    @staticmethod
    def _dispatch(call: str, returns: str, then_return: bool) -> list[str]:
        """Lines (at 8 spaces) that hand over to ``call`` and return its value."""
        if returns != "None":
            return [f"        return {call}"]
        return [f"        {call}", "        return"] if then_return else [f"        {call}"]

    def unit_pattern_a(self, is_async: bool = False) -> None:
        verbs = VERBS_WRITE if self.rng.random() < 0.6 else VERBS_READ
        _, name, params, returns = self._api_shape(verbs)
        st = "AsyncSession" if is_async else "Session"
        self.typing.add(st)
        self.typing.add("async_session_scope" if is_async else "session_scope")
        impl = f"_{name}_impl"
        aw = "await " if is_async else ""
        call = f"{aw}{impl}({', '.join([n for n, _ in params] + ['session'])})"
        kw = "async def" if is_async else "def"
        opener = "async with async_session_scope()" if is_async else "with session_scope()"
        sig = self.signature(params, [f"session: {st} | None = None"])
        lines = [
            f"{kw} {name}({sig}) -> {returns}:",
            "    if session is not None:",
            *self._dispatch(call, returns, then_return=True),
            f"    {opener} as session:",
            *self._dispatch(call, returns, then_return=False),
        ]
        self.out(lines)
        self.out(self._impl(impl, params, returns, is_async))
        self.info.apis.append(Api(self.info.name, name, params, returns, True, is_async))

    def unit_async_a(self) -> None:
        self.unit_pattern_a(is_async=True)

    def unit_pattern_b(self) -> None:
        _, name, params, returns = self._api_shape(VERBS_WRITE)
        self.typing.update({"Session", "session_scope", "nullcontext"})
        body = Body(self, params, 2, session="session")
        body.fill(self.rng.randint(3, 7))
        body.ret(returns)
        sig = self.signature(params, ["session: Session | None = None"])
        self.out(
            [
                f"def {name}({sig}) -> {returns}:",
                "    cm = nullcontext(session) if session is not None else session_scope()",
                "    with cm as session:",
                *body.lines,
            ]
        )
        self.info.apis.append(Api(self.info.name, name, params, returns, True, False))

    def unit_closure(self) -> None:
        _, name, params, returns = self._api_shape(VERBS_WRITE)
        self.typing.update({"Session", "session_scope"})
        body = Body(self, params, 2, session="sess")
        body.fill(self.rng.randint(3, 6))
        body.ret(returns)
        sig = self.signature(params, ["session: Session | None = None"])
        lines = [
            f"def {name}({sig}) -> {returns}:",
            f"    def _impl(sess: Session) -> {returns}:",
            *body.lines,
            "",
            "    if session is not None:",
            *self._dispatch("_impl(session)", returns, then_return=True),
            "    with session_scope() as session:",
            *self._dispatch("_impl(session)", returns, then_return=False),
        ]
        self.out(lines)
        self.info.apis.append(Api(self.info.name, name, params, returns, True, False))

    def unit_reader(self, is_async: bool = False) -> None:
        _, name, params, returns = self._api_shape(VERBS_READ)
        self.typing.add("AsyncSession" if is_async else "Session")
        self.out(self._impl(name, params, returns, is_async))
        self.info.apis.append(Api(self.info.name, name, params, returns, False, is_async))

    def unit_async_reader(self) -> None:
        self.unit_reader(is_async=True)

    def unit_repo(self) -> None:
        rng = self.rng
        model = rng.choice(MODELS)[0]
        self.counter += 1
        name = f"{model}Repository{self.index}x{self.counter}"
        self.typing.add("Session")
        self.use_model(model)
        self.use_sa("select")
        lines = [
            f"class {name}:",
            f'    """Queries and updates for {model}."""',
            "",
            "    def __init__(self, session: Session) -> None:",
            "        self.session = session",
            "",
            f"    def get(self, item_id: int) -> {model} | None:",
            f"        return self.session.get({model}, item_id)",
            "",
            f"    def active(self, limit: int) -> list[{model}]:",
            f"        stmt = select({model}).where({model}.active.is_(True)).limit(limit)",
            "        return list(self.session.scalars(stmt))",
        ]
        methods: list[tuple[str, tuple[tuple[str, str], ...], str]] = [
            ("get", (("item_id", "int"),), f"{model} | None"),
            ("active", (("limit", "int"),), f"list[{model}]"),
        ]
        for _ in range(rng.randint(1, 2)):
            self.counter += 1
            mname = f"{rng.choice(VERBS_WRITE)}_{rng.choice(WORDS)}_{self.counter}"
            params = tuple(rng.choice(PARAM_SHAPES))
            returns = rng.choice(RETURN_TYPES)
            body = Body(self, params, 2, session="self.session")
            body.fill(rng.randint(3, 6))
            body.ret(returns)
            sig = self.signature(params, [])
            lines += ["", f"    def {mname}(self{', ' if sig else ''}{sig}) -> {returns}:"]
            lines += body.lines
            methods.append((mname, params, returns))
        self.out(lines)
        # Register after the class body so methods do not call their own class.
        self.info.repos.append(Repo(self.info.name, name, model, tuple(methods)))

    def unit_handler(self) -> None:
        rng = self.rng
        model = rng.choice(MODELS)[0]
        self.counter += 1
        name = f"handle_{snake(model)}_request_{self.index}_{self.counter}"
        params: tuple[tuple[str, str], ...] = (("request_id", "int"), ("payload", "str"))
        self.typing.add("session_scope")
        outer = Body(self, params, 1)
        outer.fill(rng.randint(1, 2))
        # A call outside any scope holds no session: the callee opens its own, correctly.
        api = self.pick_api(False, optional_only=True)
        if api is not None and rng.random() < 0.5:
            args = ", ".join(outer.args(api.params))
            call = f"{self.api_ref(api)}({args})"
            if api.returns != "None":
                call = f"{outer.bind('before', api.returns)} = {call}"
            outer.emit(call)
        inner = Body(self, params, 2, session="session")
        inner.vars = {t: list(v) for t, v in outer.vars.items()}
        inner.taken = set(outer.taken)
        inner.fill(rng.randint(3, 6))
        inner.ret("str")
        self.out(
            [
                f"def {name}({self.signature(params, [])}) -> str:",
                *outer.lines,
                "    with session_scope() as session:",
                *inner.lines,
            ]
        )

    # -- assembly ----------------------------------------------------------------------
    def build(self, functions: int) -> str:
        kinds = [k for k, _ in UNIT_KINDS]
        weights = [w for _, w in UNIT_KINDS]
        for _ in range(functions):
            kind = self.rng.choices(kinds, weights)[0]
            self.stats.units[kind] = self.stats.units.get(kind, 0) + 1
            getattr(self, f"unit_{kind}")()
        return self.header() + "\n".join(self.lines).rstrip() + "\n"

    def header(self) -> str:
        lines = [f'"""Service module {self.info.name} (generated benchmark corpus)."""', ""]
        lines.append("from __future__ import annotations")
        lines.append("")
        if "nullcontext" in self.typing:
            lines.append("from contextlib import nullcontext")
        if "dataclass" in self.typing:
            lines.append("from dataclasses import dataclass")
        lines.append("")
        if self.sa_names:
            lines.append(f"from sqlalchemy import {', '.join(sorted(self.sa_names))}")
        if "AsyncSession" in self.typing:
            lines.append("from sqlalchemy.ext.asyncio import AsyncSession")
        if "Session" in self.typing:
            lines.append("from sqlalchemy.orm import Session")
        lines.append("")
        scopes = sorted(self.typing & {"session_scope", "async_session_scope"})
        if scopes:
            lines.append(f"from {PACKAGE}.database import {', '.join(scopes)}")
        if self.models:
            lines.append(f"from {PACKAGE}.models import {', '.join(sorted(self.models))}")
        for mod in sorted(self.module_imports):
            lines.append(f"from {PACKAGE}.services import {mod}")
        for mod, names in sorted(self.from_imports.items()):
            lines.append(f"from {mod} import {', '.join(sorted(names))}")
        text = "\n".join(lines)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        return text.rstrip() + "\n\n\n"


def hash_of(text: str) -> int:
    """A small deterministic string hash (``hash()`` is salted per process)."""
    value = 0
    for ch in text:
        value = (value * 31 + ord(ch)) % 1_000_003
    return value


# --------------------------------------------------------------------------------------
# Fixed files


def models_source() -> str:
    lines = [
        '"""ORM models (generated benchmark corpus)."""',
        "",
        "from __future__ import annotations",
        "",
        "from datetime import datetime",
        "",
        "from sqlalchemy import Boolean, DateTime, Float, ForeignKey, String, Text, func",
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship",
        "",
        "",
        "class Base(DeclarativeBase):",
        "    pass",
    ]
    for model, parent in MODELS:
        table = plural(snake(model))
        lines += [
            "",
            "",
            f"class {model}(Base):",
            f'    __tablename__ = "{table}"',
            "",
            "    id: Mapped[int] = mapped_column(primary_key=True)",
            "    code: Mapped[str] = mapped_column(String(32), unique=True)",
            "    name: Mapped[str] = mapped_column(String(120))",
            "    quantity: Mapped[float] = mapped_column(Float, default=0.0)",
            "    active: Mapped[bool] = mapped_column(Boolean, default=True)",
            "    note: Mapped[str | None] = mapped_column(Text)",
            "    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())",
        ]
        if parent is not None:
            p = snake(parent)
            lines += [
                f'    {p}_id: Mapped[int] = mapped_column(ForeignKey("{plural(p)}.id"))',
                f"    {p}: Mapped[{parent}] = relationship(back_populates="
                f'"{plural(snake(model))}")',
            ]
        for child in children_of(model):
            c = plural(snake(child))
            lines.append(
                f"    {c}: Mapped[list[{child}]] = relationship(back_populates=\"{snake(model)}\")"
            )
        lines += [
            "",
            "    def __repr__(self) -> str:",
            f'        return f"<{model} {{self.id}} {{self.code}}>"',
        ]
    return "\n".join(lines) + "\n"


DATABASE_SOURCE = '''"""Engine, session factories and scopes (generated benchmark corpus)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session, sessionmaker

engine = create_engine("sqlite://")
SessionLocal = sessionmaker(bind=engine, expire_on_commit=False)

async_engine = create_async_engine("sqlite+aiosqlite://")
AsyncSessionLocal = async_sessionmaker(async_engine, expire_on_commit=False)


@contextmanager
def session_scope() -> Iterator[Session]:
    """Open a session, commit on success, roll back on error."""
    session = SessionLocal()
    try:
        yield session
        session.commit()
    except Exception:
        session.rollback()
        raise
    finally:
        session.close()


@asynccontextmanager
async def async_session_scope() -> AsyncIterator[AsyncSession]:
    """The async twin of session_scope()."""
    async with AsyncSessionLocal() as session:
        try:
            yield session
            await session.commit()
        except Exception:
            await session.rollback()
            raise
'''

COMMON_HELPERS: list[tuple[str, str, tuple[tuple[str, str], ...], str]] = [
    (
        "format_label",
        "    prefix = code.strip().upper()[:8]\n    return f\"{prefix}-{int(qty):05d}\"",
        (("code", "str"), ("qty", "float")),
        "str",
    ),
    (
        "weighted_total",
        "    return round(sum(v * factor for v in values), 2)",
        (("values", "list[float]"), ("factor", "float")),
        "float",
    ),
    (
        "bucket_counts",
        "    counts: dict[str, int] = {}\n    for w in words:\n"
        "        key = w[:1].lower() or \"_\"\n        counts[key] = counts.get(key, 0) + 1\n"
        "    return counts",
        (("words", "list[str]"),),
        "dict[str, int]",
    ),
    (
        "clamp",
        "    return max(lo, min(hi, value))",
        (("value", "float"), ("lo", "float"), ("hi", "float")),
        "float",
    ),
    (
        "slugify",
        "    cleaned = \"\".join(ch if ch.isalnum() else \"-\" for ch in text.lower())\n"
        "    return \"-\".join(part for part in cleaned.split(\"-\") if part)",
        (("text", "str"),),
        "str",
    ),
    (
        "percent",
        "    return 0.0 if whole == 0 else round(100.0 * part / whole, 1)",
        (("part", "int"), ("whole", "int")),
        "float",
    ),
    (
        "merge_tags",
        "    return sorted(set(left) | set(right))",
        (("left", "list[str]"), ("right", "list[str]")),
        "list[str]",
    ),
    (
        "is_valid_code",
        "    return 3 <= len(code) <= 32 and code.replace(\"-\", \"\").isalnum()",
        (("code", "str"),),
        "bool",
    ),
    (
        "parse_quantity",
        "    try:\n        return int(text.strip() or \"0\")\n    except ValueError:\n"
        "        return 0",
        (("text", "str"),),
        "int",
    ),
]


def common_source() -> tuple[str, ModuleInfo]:
    info = ModuleInfo(name="common")
    lines = [
        '"""Shared helpers (generated benchmark corpus)."""',
        "",
        "from __future__ import annotations",
        "",
        "from dataclasses import dataclass, field",
    ]
    for name, body, params, returns in COMMON_HELPERS:
        sig = ", ".join(f"{n}: {t}" for n, t in params)
        lines += ["", "", f"def {name}({sig}) -> {returns}:", body]
        info.helpers.append(Helper(name, params, returns))
    for dc in ["LineSummary", "BatchSummary"]:
        lines += [
            "",
            "",
            "@dataclass",
            f"class {dc}:",
            "    label: str",
            "    total: float",
            "    count: int",
            "    tags: list[str] = field(default_factory=list)",
            "",
            "    def describe(self) -> str:",
            '        return f"{self.label}: {self.count} x {self.total:.2f}"',
            "",
            "    def average(self) -> float:",
            "        return self.total / self.count if self.count else 0.0",
        ]
        info.dataclasses.append(DataClass("common", dc))
    return "\n".join(lines) + "\n", info


# --------------------------------------------------------------------------------------
# Entry point


def generate(
    dest: Path,
    modules: int = 300,
    functions: int = 20,
    seed: int = 0,
    drop_rate: float = 0.02,
) -> None:
    """Write the corpus package ``corpus_app`` and ``corpus_manifest.json`` under ``dest``.

    ``dest`` is created if needed; files of an earlier corpus there are overwritten, but
    service modules beyond ``modules`` are not removed, so use an empty directory.
    """
    rng = random.Random(seed)
    pkg = dest / PACKAGE
    services = pkg / "services"
    services.mkdir(parents=True, exist_ok=True)
    files: dict[Path, str] = {
        pkg / "__init__.py": '"""Generated benchmark corpus for mypy-session."""\n',
        pkg / "py.typed": "",
        pkg / "models.py": models_source(),
        pkg / "database.py": DATABASE_SOURCE,
        services / "__init__.py": '"""Service layer."""\n',
    }
    common_text, common = common_source()
    files[pkg / "common.py"] = common_text
    stats = Stats()
    infos: list[ModuleInfo] = []
    for i in range(modules):
        ndeps = min(i, rng.randint(1, 3))
        deps = [infos[j] for j in sorted(rng.sample(range(i), ndeps))]
        gen = ModuleGen(i, rng, deps, common, drop_rate, stats)
        files[services / f"{gen.info.name}.py"] = gen.build(functions)
        infos.append(gen.info)

    dropped: list[dict[str, object]] = []
    total_lines = 0
    total_calls = 0
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
        total_lines += text.count("\n")
        if path.suffix == ".py":
            total_calls += sum(isinstance(n, ast.Call) for n in ast.walk(ast.parse(text)))
        for lineno, line in enumerate(text.splitlines(), start=1):
            if line.endswith(DROP_MARKER):
                dropped.append({"path": path.relative_to(dest).as_posix(), "line": lineno})
    manifest = {
        "package": PACKAGE,
        "modules": modules,
        "functions": functions,
        "seed": seed,
        "drop_rate": drop_rate,
        "files": sum(1 for p in files if p.suffix == ".py"),
        "lines": total_lines,
        "calls": total_calls,
        "session_calls": stats.session_calls,
        "dropped_session_calls": stats.dropped,
        "units": dict(sorted(stats.units.items())),
        "dropped": dropped,
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("dest", type=Path, help="directory to write the corpus into")
    parser.add_argument("--modules", type=int, default=300, help="service modules (300)")
    parser.add_argument("--functions", type=int, default=20, help="units per module (20)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument(
        "--drop-rate", type=float, default=0.02, help="share of session calls that drop it"
    )
    ns = parser.parse_args(argv)
    generate(ns.dest, ns.modules, ns.functions, ns.seed, ns.drop_rate)
    manifest = json.loads((ns.dest / MANIFEST).read_text(encoding="utf-8"))
    print(
        f"wrote {manifest['files']} files, {manifest['lines']} lines, {manifest['calls']} calls "
        f"({manifest['session_calls']} session calls, {manifest['dropped_session_calls']} "
        f"dropped) to {ns.dest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
