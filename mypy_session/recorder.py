"""What a recording run (the `audit` and `baseline` commands) learns from the plugin's
own hooks: every call site the gate let through and every finding, with the function it
is in. A normal mypy run has no recorder and pays nothing for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_session.not_analysed import NotAnalysed


@dataclass(frozen=True, slots=True)
class Finding:
    """A report the plugin made (before `# type: ignore` and disabled codes are applied:
    the command keeps only those mypy kept)."""

    code: str
    path: str
    line: int
    column: int
    message: str
    function: str  # the enclosing top-level function or method, "" at module level
    fingerprint: str
    context: str = ""  # baseline_lines.line_context of its line


@dataclass(frozen=True, slots=True)
class CallRecord:
    """A call the gate hooked: to a session-accepting callable, a scope opener, or a
    function that opens a scope inside."""

    path: str
    line: int
    column: int
    function: str  # the enclosing top-level function or method, "" at module level
    callee: str  # as messages name it: "get_ingredient", "Repo.get"
    callee_fullname: str
    accepts_session: bool
    marker: str | None
    opener: bool
    opens: tuple[str, ...] | None
    param: str | None  # the callee's session parameter
    passed: str  # facts.NOTHING, PASSED, LITERAL_NONE, FRESH or OTHER
    passed_text: str
    held: str | None  # how the held session reads, None where none is held
    # What `fix` needs beyond the audit: how the held session is held (held.WITH, LOCAL,
    # PARAMETER or ATTRIBUTE) and whether its declared type admits None (an optional
    # parameter: reusing it must keep the `is not None` test); for session-detached-use,
    # the name the loaded object is bound to and the later scope (its line, its session).
    held_kind: str | None = None
    held_optional: bool = False
    detached_name: str | None = None
    detached_scope_line: int | None = None
    detached_scope_held: str | None = None


@dataclass(slots=True)
class Recorder:
    findings: list[Finding] = field(default_factory=list)
    calls: list[CallRecord] = field(default_factory=list)
    not_analysed: list[NotAnalysed] = field(default_factory=list)  # untyped_sessions
