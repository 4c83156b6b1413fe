"""SPEC section 2 in code: session types, session parameters, scope openers.

Everything here reads only what mypy serializes (types, argument names and kinds), so the
answers are the same whether a module was just checked or loaded from the cache.
"""

from __future__ import annotations

from typing import Final

from mypy.nodes import (
    AwaitExpr,
    CallExpr,
    MemberExpr,
    NameExpr,
    Node,
    ARG_OPT,
    ARG_STAR,
    ARG_STAR2,
    FUNC_NO_INFO,
    Decorator,
    FuncDef,
    OverloadedFuncDef,
    SymbolNode,
    TypeInfo,
    Var,
)
from mypy.types import (
    AnyType,
    CallableType,
    Instance,
    NoneType,
    Overloaded,
    ProperType,
    Type,
    TypeVarType,
    UnboundType,
    UnionType,
    get_proper_type,
)

from mypy_session import fullnames
from mypy_session.config import SessionConfig

SESSION: Final = "session"
OPTIONAL: Final = "optional"


def is_session_instance(typ: Type | None, config: SessionConfig) -> bool:
    """Is `typ` (after narrowing) a session: a session class, a subclass, a protocol?"""
    proper = get_proper_type(typ)
    if isinstance(proper, Instance):
        return is_session_class(proper.type, config)
    return False


def is_session_class(info: TypeInfo, config: SessionConfig) -> bool:
    """Is the class (or one of its bases) a session type? Memoized per class object."""
    known = config.session_classes.get(info)
    if known is None:
        known = any(base.fullname in config.session_types for base in info.mro)
        config.session_classes[info] = known
    return known


def session_kind(typ: Type | None, config: SessionConfig) -> str | None:
    """`SESSION` for a session type, `OPTIONAL` for `S | None`, else None. A `TypeVar`
    counts by its bound (or its values, all sessions); a `NewType` is a subclass and
    `Annotated[...]` is erased by mypy, so both are plain instances here."""
    proper = _through_typevar(get_proper_type(typ))
    if isinstance(proper, Instance):
        return SESSION if is_session_class(proper.type, config) else None
    if isinstance(proper, UnionType):
        sessions = nones = 0
        for member in proper.items:
            item = _through_typevar(get_proper_type(member))
            if isinstance(item, Instance) and is_session_class(item.type, config):
                sessions += 1
            elif isinstance(item, NoneType):
                nones += 1
            else:
                return None
        if sessions:
            return OPTIONAL if nones else SESSION
    return None


def _through_typevar(proper: ProperType | None) -> ProperType | None:
    """`S = TypeVar("S", bound=Session)`: the bound; `TypeVar("S", Session, AsyncSession)`:
    one of the values when every value is a session type (checked by the caller through
    the first; the others are alike or the function is not about sessions)."""
    if isinstance(proper, TypeVarType):
        if proper.values:
            return get_proper_type(proper.values[0])
        return get_proper_type(proper.upper_bound)
    return proper


def session_param_kind(name: str | None, typ: Type | None, config: SessionConfig) -> str | None:
    """Is a parameter (or attribute) named `name` and declared `typ` a session parameter
    (SPEC section 2)? `SESSION` / `OPTIONAL` by its type; by its name (`session_param_names`)
    where the declaration says nothing mypy can use: unannotated, `Any`, or an annotation
    mypy rejects (`session: SessionLocal` with `SessionLocal = sessionmaker()`). The one
    rule for both sides: callees (`session_params_of`) and held sessions (`held`)."""
    kind = session_kind(typ, config)
    if kind is not None:
        return kind
    if name is not None and name in config.session_param_names and is_any(typ):
        return SESSION
    return None


def is_none(typ: Type | None) -> bool:
    return isinstance(get_proper_type(typ), NoneType)


def is_any(typ: Type | None) -> bool:
    """No usable type: none declared, `Any`, or an annotation mypy could not analyse (an
    invalid one stays an `UnboundType` in the signature; mypy reports `valid-type`)."""
    return typ is None or isinstance(get_proper_type(typ), (AnyType, UnboundType))


class Callee:
    """What the gate learned about a callable the plugin cares about, bound into its hook.
    (A plain class, not a dataclass: compiled by mypyc, a dataclass's constructor runs an
    interpreted `__init__`; see the note in `scopes`.)"""

    __slots__ = (
        "display", "params", "optional", "marker", "opener", "opens", "deferred", "fullname",
        "behind", "by_overload", "when",
    )

    def __init__(
        self,
        display: str,
        params: frozenset[str] = frozenset(),
        optional: frozenset[str] = frozenset(),
        marker: str | None = None,
        opener: bool = False,
        opens: tuple[str, ...] | None = None,
        deferred: bool = False,
        fullname: str = "",
        behind: tuple[tuple[str, int], ...] | None = None,
        by_overload: bool = False,
        when: tuple[tuple[tuple[str, int, str], ...], ...] | None = None,
    ) -> None:
        self.display = display  # "get_ingredient", "IngredientRepo.get", "Purchase"
        self.params = params  # names of its session parameters
        self.optional = optional  # those that have a default
        self.marker = marker  # READ, SINGLE, MULTI, OWN or OPENER
        self.opener = opener  # calling it opens a new session
        self.opens = opens  # without a session parameter, opens one inside
        self.deferred = deferred  # a generator: calling it runs nothing until it is iterated
        self.fullname = fullname  # where it is defined
        # Behind a decorator that hides its signature: (name, position) of each session
        # parameter of the function under it, to match the call's own arguments against.
        self.behind = behind
        # An overload with items without the session parameter: a call matched to one of
        # them passes nothing for it (`session_optional_by_overload`).
        self.by_overload = by_overload
        # `opens` only on these branches of its parameters (`conditional_openers`).
        self.when = when

    def changed(self, *, opener: bool, opens: tuple[str, ...] | None) -> Callee:
        """A copy with `opener` and `opens` replaced (the call site knows better)."""
        return Callee(
            self.display, self.params, self.optional, self.marker, opener, opens, self.deferred,
            self.fullname, self.behind, self.by_overload, self.when,
        )


def display_name(fullname: str, node: SymbolNode | None) -> str:
    """How a callee is named in messages: "f", "Class.method", "Class"."""
    if isinstance(node, TypeInfo):
        return node.name
    info = _info_of(node)
    name = fullname.rsplit(".", 1)[-1]
    return f"{info.name}.{name}" if info is not None else name


def session_params_of(node: SymbolNode | None, config: SessionConfig) -> list[tuple[str, bool, int]]:
    """(name, has a default, position) of each session parameter of a callable (for a
    class: of its constructor); positions count from the first argument after self/cls."""
    if isinstance(node, TypeInfo):
        init = _constructor(node)
        return _params_of_node(init, config, skip_first=True) if init is not None else []
    return _params_of_node(node, config, skip_first=_is_method(node))


def session_optional_by_overload(node: SymbolNode | None, config: SessionConfig) -> bool:
    """An overload some of whose items take a session parameter and some do not (rucio's
    `get_rse_attribute(rse_id, key)` beside `get_rse_attribute(rse_id, key, *,
    session)`): the overload makes the session optional, whatever each item declares."""
    if not isinstance(node, OverloadedFuncDef) or len(node.items) < 2:
        return False
    skip_first = _is_method(node)
    having = [bool(_params_of_node(item, config, skip_first=skip_first)) for item in node.items]
    return any(having) and not all(having)


def hides_signature(typ: Type | None) -> bool:
    """Does a decorated function's type hide the parameters of the function under the
    decorator: `Callable[..., X]`, or `def (*Any, **Any)` (what the plugin gives a
    transparent untyped decorator's application, see `decorators`)?"""
    proper = get_proper_type(typ)
    if not isinstance(proper, CallableType):
        return False
    if proper.is_ellipsis_args:
        return True
    return proper.arg_kinds == [ARG_STAR, ARG_STAR2] and all(is_any(t) for t in proper.arg_types)


def behind_decorator(node: SymbolNode | None) -> bool:
    """Is `node` a function whose decorator hides its signature (so a call's arguments
    must be matched against the function under it, not against what mypy sees)? For a
    class, its constructor (rucio's `@read_session def __init__(self, ..., *, session)`)."""
    if isinstance(node, TypeInfo):
        node = _constructor(node)
    return isinstance(node, Decorator) and hides_signature(node.var.type)


def _constructor(info: TypeInfo) -> SymbolNode | None:
    for base in info.mro:
        if base.fullname == "builtins.object":
            return None
        sym = base.names.get("__init__")
        if sym is not None and sym.node is not None:
            return sym.node
    return None


def _info_of(node: SymbolNode | None) -> TypeInfo | None:
    if isinstance(node, Decorator):
        node = node.func
    if isinstance(node, OverloadedFuncDef) and node.items:
        return _info_of(node.items[0])
    if isinstance(node, FuncDef) and node.info is not FUNC_NO_INFO:
        return node.info
    return None


def _is_method(node: SymbolNode | None) -> bool:
    func = node.func if isinstance(node, Decorator) else node
    if isinstance(func, OverloadedFuncDef):
        return bool(func.items) and _is_method(func.items[0])
    if isinstance(func, FuncDef):
        return _info_of(func) is not None and not func.is_static
    return False


def _params_of_node(
    node: SymbolNode | None, config: SessionConfig, *, skip_first: bool
) -> list[tuple[str, bool, int]]:
    if isinstance(node, Decorator):
        var_type = get_proper_type(node.var.type)
        if (
            isinstance(var_type, (CallableType, Overloaded))
            and not node.var.is_staticmethod
            and not hides_signature(var_type)
        ):
            return _params_of_type(var_type, config, skip_first=skip_first)
        return _params_of_node(node.func, config, skip_first=skip_first)
    if isinstance(node, OverloadedFuncDef):
        found: list[tuple[str, bool, int]] = []
        for item in node.items:
            found.extend(_params_of_node(item, config, skip_first=skip_first))
        return found
    if isinstance(node, FuncDef):
        if node.type is not None:
            return _params_of_type(node.type, config, skip_first=skip_first)
        # Unannotated: the session parameter is known by its name only.
        start = 1 if skip_first else 0
        return [
            (name, kind == ARG_OPT, index)
            for index, (name, kind) in enumerate(zip(node.arg_names[start:], node.arg_kinds[start:]))
            if name in config.session_param_names and kind not in (ARG_STAR, ARG_STAR2)
        ]
    if isinstance(node, Var) and node.type is not None:
        typ = get_proper_type(node.type)
        if isinstance(typ, (CallableType, Overloaded)):
            return _params_of_type(typ, config, skip_first=False)
    return []


def _params_of_type(
    typ: Type, config: SessionConfig, *, skip_first: bool
) -> list[tuple[str, bool, int]]:
    proper = get_proper_type(typ)
    if isinstance(proper, Overloaded):
        found: list[tuple[str, bool, int]] = []
        for item in proper.items:
            found.extend(_params_of_type(item, config, skip_first=skip_first))
        return found
    if not isinstance(proper, CallableType):
        return []
    if proper.unpack_kwargs:
        proper = proper.with_unpacked_kwargs()
    start = 1 if skip_first else 0
    found = []
    for index, (name, kind, arg_type) in enumerate(
        zip(proper.arg_names[start:], proper.arg_kinds[start:], proper.arg_types[start:])
    ):
        if name is None or kind in (ARG_STAR, ARG_STAR2):
            continue
        if session_param_kind(name, arg_type, config) is not None:
            found.append((name, kind.is_optional(), index))
    return found


def is_mapped_instance(typ: Type | None) -> bool:
    """Is `typ` an ORM object: an instance, optional or list/sequence of a mapped class?"""
    proper = get_proper_type(typ)
    if isinstance(proper, UnionType):
        items = [get_proper_type(t) for t in proper.items]
        return any(is_mapped_instance(t) for t in items) and all(
            isinstance(t, NoneType) or is_mapped_instance(t) for t in items
        )
    if not isinstance(proper, Instance):
        return False
    if proper.type.fullname in _CONTAINERS and len(proper.args) == 1:
        return is_mapped_instance(proper.args[0])
    return is_mapped_class(proper.type)


def is_mapped_class(info: TypeInfo) -> bool:
    """An ORM-mapped class: a declarative base in its MRO, or a class of it with a table."""
    # Asked for every class of every module at each cache write (`relationships`): plain
    # loops, no generator per base.
    bases = fullnames.MAPPED_BASES
    for base in info.mro:
        fullname = base.fullname
        if fullname in bases:
            return True
        if fullname == "builtins.object":
            continue
        names = base.names
        for name in fullnames.MAPPED_ATTRIBUTES:
            if name in names:
                return True
    return False


_CONTAINERS: Final = frozenset(
    (
        "builtins.list",
        "builtins.tuple",
        "typing.Sequence",
        "typing.Iterable",
        "typing.Iterator",
        "collections.abc.Sequence",
        "sqlalchemy.engine.result.ScalarResult",
        "sqlalchemy.util._collections.Sequence",
    )
)


def render(expr: Node | None, fallback: str = "an expression") -> str:
    """How an expression reads in a message: `session`, `self.session`, `SessionLocal()`."""
    if isinstance(expr, NameExpr):
        # mypy renames a name bound again in a later block (`session'`): show it as written.
        return expr.name.rstrip("'")
    if isinstance(expr, MemberExpr):
        return f"{render(expr.expr, fallback)}.{expr.name}"
    if isinstance(expr, CallExpr):
        return f"{render(expr.callee, fallback)}()"
    if isinstance(expr, AwaitExpr):
        return f"await {render(expr.expr, fallback)}"
    return fallback
