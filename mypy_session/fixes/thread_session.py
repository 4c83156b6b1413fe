"""Give a function a session parameter, and thread it through everything in its body that
would otherwise open a session of its own (shared by the fixes of
`session-missing-param` and `session-callee-opens-scope`).

The function gets `session: Session | None = None`; each scope it opens outside a held
scope becomes pattern B (`nullcontext(session) if session is not None else opener()`),
and a top-level scope whose name later calls would need lasts to the end of the function;
each session-accepting call made where it held nothing passes `session=session`; each
call of a function that opens a scope of its own is threaded in turn (across modules),
and passes `session=session`. Called without a session, the function does what it did
before; called with one, all of it joins the caller's transaction.

Planned from the recorded calls of the function (the same facts the checks reported
from): a call the build did not record is not touched.
"""

from __future__ import annotations

from mypy_session import facts
from mypy_session.fixes import AddParam, ExtendScope, Fix, Import, PassSession, ReuseHeld
from mypy_session.fixes.context import Context


def thread(fullname: str, context: Context, fix: Fix, done: set[str]) -> bool:
    """Add to `fix` what gives `fullname` a session parameter; False where it cannot be
    done (not in the checked files, the name taken, an annotation it cannot write)."""
    if fullname in done:
        return True
    done.add(fullname)
    function = context.functions.get(fullname)
    if function is None:
        return False
    name = context.param_name
    if name in function.arg_names:
        return False
    annotation = context.annotation(function)
    if annotation is None:
        return False
    text, imports = annotation
    fix.edits.append(AddParam(function.path, function.qualname, name, text))
    fix.edits.extend(Import(function.path, module, symbol) for module, symbol in imports)
    for record in context.calls_in.get(fullname, []):
        if record.held is not None:
            continue  # inside a scope of its own: already passes that session
        if record.opener:
            fix.edits.append(ReuseHeld(record.path, record.line, record.column, name, optional=True))
            fix.edits.append(Import(record.path, "contextlib", "nullcontext"))
            continue
        needs = (record.accepts_session and record.passed == facts.NOTHING) or record.opens is not None
        if needs and function.rebinds_before(name, record.line):
            # After `with scope() as session:` the name is that scope's, closed. Where
            # that scope is a top-level `with`, it is extended to the end of the function
            # (the body runs in one pattern B scope); otherwise the shape is left alone.
            scope = function.closed_scope_before(name, record.line)
            if scope is None:
                return False
            fix.edits.append(ExtendScope(record.path, *scope))
        if record.accepts_session:
            if record.passed == facts.NOTHING and record.param is not None:
                fix.edits.append(PassSession(record.path, record.line, record.column, record.param, name))
        elif record.opens is not None:
            if not thread(record.callee_fullname, context, fix, done):
                return False
            fix.edits.append(PassSession(record.path, record.line, record.column, name, name))
    return True
