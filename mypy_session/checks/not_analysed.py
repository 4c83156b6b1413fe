"""`session-not-analysed` (off by default): session code that no check looked at."""

from __future__ import annotations

from mypy.checker import TypeChecker
from mypy.nodes import Context

from mypy_session import errorcodes
from mypy_session.knowledge import Knowledge
from mypy_session.not_analysed import NotAnalysed


def report_not_analysed(checker: TypeChecker, fact: NotAnalysed, knowledge: Knowledge) -> None:
    """Report the fact at the skipped code (an untyped function: at its definition)."""
    code = errorcodes.SESSION_NOT_ANALYSED
    if not checker.errors.is_error_code_enabled(code):
        return
    context = Context(fact.context_line, fact.context_column)
    message = errorcodes.not_analysed(fact.function.rsplit(".", 1)[-1], fact.text)
    knowledge.reporter.fail(checker, message, context, code, function=fact.function, path=fact.path)
