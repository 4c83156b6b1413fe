"""`mypy-session fix`: what a finding's fix changes in the source, and how it is applied.

The command (`commands/fix.py`) runs the same recording build as `audit`. Each finding is
planned by the module of its code (one module per code, each with a `plan` function):
from the recorded facts (what is held, the callee's session parameter, positions) it
makes a `Fix`, a list of position-based edits, or None where the shape cannot be fixed
without risk. `rewrite.py` applies the edits of one file with libcst, so formatting,
comments and trailing commas are kept; `thread_session.py` gives a function a session
parameter (the unsafe fixes that change signatures share it).

Nothing here is imported by the plugin: libcst is loaded by the `fix` command only.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class PassSession:
    """At the call starting at (line, column): pass `param=value`. With `replace`, the
    argument that reads `replace` (the keyword `param`, or the one positional argument
    that reads so) is replaced instead of adding a keyword."""

    path: str
    line: int
    column: int
    param: str
    value: str
    replace: str | None = None


@dataclass(frozen=True, slots=True)
class RenameMethod:
    """At the call starting at (line, column), `<receiver>.old(...)` becomes `.new(...)`."""

    path: str
    line: int
    column: int
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class ReuseHeld:
    """The scope opener called at (line, column), the expression of a `with` item, uses
    `held` instead: `nullcontext(held) if held is not None else <opener>` where `held`
    may be None (an optional parameter); otherwise the `with` is unwrapped when its
    target is `held` itself (or it has none), else `nullcontext(held)`."""

    path: str
    line: int
    column: int
    held: str
    optional: bool


@dataclass(frozen=True, slots=True)
class AddParam:
    """Function `qualname` (relative to its module: `f`, `Class.method`) gets the parameter
    `name` with the default None, annotated `annotation` (None: left unannotated, for a
    function without annotations)."""

    path: str
    qualname: str
    name: str
    annotation: str | None


@dataclass(frozen=True, slots=True)
class MoveIntoScope:
    """The statement `name = <call at (line, column)>` moves into the `with` statement at
    `scope_line` of the same block (the statements between move in with it), and the
    call passes `param=value`."""

    path: str
    line: int
    column: int
    scope_line: int
    param: str
    value: str


@dataclass(frozen=True, slots=True)
class ExtendScope:
    """The `with` statement whose opener is called at (line, column) takes in every
    statement after it in its block: the scope then lasts to the end of the function."""

    path: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class Import:
    """`from module import name`, added where the file does not bind it yet."""

    path: str
    module: str
    name: str


Edit = PassSession | RenameMethod | ReuseHeld | AddParam | MoveIntoScope | ExtendScope | Import


@dataclass
class Fix:
    """The edits that fix one finding (possibly in several files: a chain across
    modules); it counts as fixed only if every edit applies."""

    safe: bool
    edits: list[Edit] = field(default_factory=list)

    @property
    def paths(self) -> set[str]:
        return {edit.path for edit in self.edits}
