"""Apply the edits of one file with libcst: only the nodes an edit names change, so the
rest of the file (formatting, comments, trailing commas, line wrapping) is kept as it is.

Edits name positions from the analysis (mypy's line and 0-based column of a call, a
function's qualified name). An edit whose position names nothing of the expected shape
is not applied, and `Rewrite.applied` says which were: the command counts a fix as done
only when all its edits applied.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, Union

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from mypy_session.fixes import (
    AddParam,
    Edit,
    ExtendScope,
    Import,
    MoveIntoScope,
    PassSession,
    RenameMethod,
    ReuseHeld,
)

# Decorators that keep a function's signature as written (adding a parameter is safe).
_KEEPING_DECORATORS = frozenset(
    ("ReadOnly", "SingleStep", "MultiStep", "staticmethod", "classmethod", "override")
)


@dataclass
class Rewrite:
    code: str  # the new text (the old one where nothing applied)
    applied: set[Edit] = field(default_factory=set)


def render(node: cst.CSTNode) -> str:
    """How an argument reads in the analysis' words (`vocabulary.render`): `session`,
    `self.session`, `SessionLocal()`."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{render(node.value)}.{node.attr.value}"
    if isinstance(node, cst.Call):
        return f"{render(node.func)}()"
    if isinstance(node, cst.Await):
        return f"await {render(node.expression)}"
    return "an expression"


def rewrite(source: str, edits: Sequence[Edit]) -> Rewrite:
    """Apply `edits` to `source`; raises `cst.ParserSyntaxError` where it does not parse."""
    module = cst.parse_module(source)
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    transformer = _Transformer(edits)
    changed = wrapper.visit(transformer)
    applied = transformer.applied
    imports = [edit for edit in edits if isinstance(edit, Import)]
    if imports and applied:
        context = CodemodContext()
        for edit in imports:
            AddImportsVisitor.add_needed_import(context, edit.module, edit.name)
        changed = AddImportsVisitor(context).transform_module(changed)
        applied |= set(imports)
    return Rewrite(changed.code if applied else source, applied)


_Item = TypeVar("_Item", cst.Arg, cst.Param)


class _Transformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, edits: Sequence[Edit]) -> None:
        super().__init__()
        self.applied: set[Edit] = set()
        self.at: dict[tuple[int, int], list[Edit]] = {}
        self.params: dict[str, list[AddParam]] = {}
        self.moves: list[MoveIntoScope] = []
        self.extends: list[ExtendScope] = []
        for edit in edits:
            if isinstance(edit, (PassSession, RenameMethod, ReuseHeld)):
                self.at.setdefault((edit.line, edit.column), []).append(edit)
            elif isinstance(edit, AddParam):
                self.params.setdefault(edit.qualname, []).append(edit)
            elif isinstance(edit, MoveIntoScope):
                self.moves.append(edit)
            elif isinstance(edit, ExtendScope):
                self.extends.append(edit)
        self._names: list[str] = []  # the enclosing classes and functions
        self._unwrap: set[int] = set()  # ids of `with` statements to replace by their body

    # -- positions -----------------------------------------------------------------------

    def _start(self, node: cst.CSTNode) -> tuple[int, int]:
        where = self.get_metadata(PositionProvider, node)
        assert isinstance(where, CodeRange)
        return where.start.line, where.start.column

    def _edits(self, node: cst.CSTNode, kind: type[Any]) -> list[Any]:
        return [edit for edit in self.at.get(self._start(node), []) if isinstance(edit, kind)]

    # -- calls ---------------------------------------------------------------------------

    def leave_Call(self, original: cst.Call, updated: cst.Call) -> cst.BaseExpression:
        for edit in self._edits(original, RenameMethod):
            func = updated.func
            if isinstance(func, cst.Attribute) and func.attr.value == edit.old:
                updated = updated.with_changes(func=func.with_changes(attr=cst.Name(edit.new)))
                self.applied.add(edit)
        for edit in self._edits(original, PassSession):
            result = _pass_session(updated, edit)
            if result is not None:
                updated = result
                self.applied.add(edit)
        return updated

    # -- with statements -----------------------------------------------------------------

    def leave_With(self, original: cst.With, updated: cst.With) -> cst.With:
        items = list(updated.items)
        for index, item in enumerate(original.items):
            call = item.item
            if not isinstance(call, cst.Call):
                continue
            for edit in self._edits(call, ReuseHeld):
                target = item.asname.name if item.asname is not None else None
                target_text = render(target) if target is not None else None
                if (
                    not edit.optional
                    and len(items) == 1
                    and target_text in (None, edit.held)
                    and isinstance(updated.body, cst.IndentedBlock)
                ):
                    self.applied.add(edit)
                    self._unwrap.add(id(updated))
                    return updated
                held = cst.parse_expression(edit.held)
                if edit.optional:
                    replacement: cst.BaseExpression = cst.IfExp(
                        test=cst.Comparison(
                            left=held,
                            comparisons=[cst.ComparisonTarget(cst.IsNot(), cst.Name("None"))],
                        ),
                        body=_nullcontext(held),
                        orelse=items[index].item,
                        lpar=[cst.LeftParen()],
                        rpar=[cst.RightParen()],
                    )
                else:
                    replacement = _nullcontext(held)
                items[index] = items[index].with_changes(item=replacement)
                self.applied.add(edit)
                break  # one change per item; another edit here is not applied
        return updated.with_changes(items=items)

    # -- blocks: unwrapping a `with`, moving a load into a scope ---------------------------

    def leave_IndentedBlock(
        self, original: cst.IndentedBlock, updated: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        return updated.with_changes(body=self._block(original.body, updated.body))

    def leave_Module(self, original: cst.Module, updated: cst.Module) -> cst.Module:
        return updated.with_changes(body=self._block(original.body, updated.body))

    def _block(
        self, original: Sequence[cst.BaseStatement], updated: Sequence[cst.BaseStatement]
    ) -> list[Any]:
        body: list[Any] = list(updated)
        if len(original) == len(updated):
            for edit in self.moves:
                moved = _move_into_scope(edit, original, body, self._start)
                if moved is not None:
                    body = moved
                    self.applied.add(edit)
            for extend in self.extends:
                extended = _extend_scope(extend, original, body, self._start)
                if extended is not None:
                    body = extended
                    self.applied.add(extend)
        out: list[Any] = []
        for stmt in body:
            if id(stmt) in self._unwrap and isinstance(stmt, cst.With):
                inner: list[Any] = list(stmt.body.body) if isinstance(stmt.body, cst.IndentedBlock) else []
                if inner:
                    header = stmt.body.header if isinstance(stmt.body, cst.IndentedBlock) else None
                    kept = [cst.EmptyLine(comment=header.comment)] if header is not None and header.comment else []
                    inner[0] = inner[0].with_changes(
                        leading_lines=[*stmt.leading_lines, *kept, *inner[0].leading_lines]
                    )
                out.extend(inner)
            else:
                out.append(stmt)
        return out

    # -- definitions ---------------------------------------------------------------------

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._names.append(node.name.value)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._names.pop()
        return updated

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._names.append(node.name.value)

    def leave_FunctionDef(
        self, original: cst.FunctionDef, updated: cst.FunctionDef
    ) -> cst.FunctionDef:
        qualname = ".".join(self._names)
        self._names.pop()
        for edit in self.params.get(qualname, []):
            if not all(_keeps_signature(d) for d in updated.decorators):
                continue
            params = _add_param(updated.params, edit, updated.whitespace_before_params)
            if params is not None:
                updated = updated.with_changes(params=params)
                self.applied.add(edit)
        return updated


def _nullcontext(held: cst.BaseExpression) -> cst.Call:
    return cst.Call(func=cst.Name("nullcontext"), args=[cst.Arg(held)])


def _keeps_signature(decorator: cst.Decorator) -> bool:
    node = decorator.decorator
    if isinstance(node, cst.Attribute):
        return node.attr.value in _KEEPING_DECORATORS
    return isinstance(node, cst.Name) and node.value in _KEEPING_DECORATORS


def _pass_session(call: cst.Call, edit: PassSession) -> cst.Call | None:
    """The call passing `edit.param=edit.value`, or None if its shape does not allow it."""
    value = cst.parse_expression(edit.value)
    args = list(call.args)
    for index, arg in enumerate(args):
        if arg.keyword is not None and arg.keyword.value == edit.param:
            if render(arg.value) == edit.value:
                return call  # already passed (a second run)
            if edit.replace is None or render(arg.value) != edit.replace:
                return None
            args[index] = arg.with_changes(value=value)
            return call.with_changes(args=args)
    if any(arg.star for arg in args):
        return None  # passed through a splat: not ours to touch
    if edit.replace is not None:
        matching = [
            i for i, arg in enumerate(args) if arg.keyword is None and render(arg.value) == edit.replace
        ]
        if len(matching) != 1:
            return None
        args[matching[0]] = args[matching[0]].with_changes(value=value)
        return call.with_changes(args=args)
    new = cst.Arg(
        value=value,
        keyword=cst.Name(edit.param),
        equal=cst.AssignEqual(
            whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
        ),
    )
    return call.with_changes(args=_appended(args, new, call.whitespace_before_args, "whitespace_after_arg"))


def _add_param(
    params: cst.Parameters, edit: AddParam, opening: cst.BaseParenthesizableWhitespace
) -> cst.Parameters | None:
    everything = [*params.posonly_params, *params.params, *params.kwonly_params]
    if any(p.name.value == edit.name for p in everything):
        return None
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param) and star.name.value == edit.name:
            return None
    if edit.annotation is not None:
        new = cst.Param(
            name=cst.Name(edit.name),
            annotation=cst.Annotation(cst.parse_expression(edit.annotation)),
            equal=cst.AssignEqual(),
            default=cst.Name("None"),
        )
    else:
        new = cst.Param(
            name=cst.Name(edit.name),
            equal=cst.AssignEqual(
                whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
            ),
            default=cst.Name("None"),
        )
    star_kwarg = params.star_kwarg if isinstance(params.star_kwarg, cst.Param) else None
    if isinstance(params.star_arg, cst.Param) and not params.kwonly_params:
        # def f(a, *args) -> def f(a, *args, session=None): the star argument is the
        # element before the new one.
        items = _appended([params.star_arg], new, opening, "whitespace_after_param", star_kwarg is not None)
        return params.with_changes(star_arg=items[0], kwonly_params=items[1:])
    if params.kwonly_params or isinstance(params.star_arg, cst.ParamStar):
        if not params.kwonly_params:
            return None
        kwonly = _appended(list(params.kwonly_params), new, opening, "whitespace_after_param", star_kwarg is not None)
        return params.with_changes(kwonly_params=kwonly)
    if not params.params and params.posonly_params:
        return None  # after a `/`: rare, left alone
    plain = _appended(list(params.params), new, opening, "whitespace_after_param", star_kwarg is not None)
    return params.with_changes(params=plain)


def _appended(
    items: list[_Item],
    new: _Item,
    opening: cst.BaseParenthesizableWhitespace,
    after_attr: str,
    more_follow: bool = False,
) -> list[_Item]:
    """`items` with `new` after the last one, laid out as the others are: the separator of
    a wrapped list puts it on its own line; a trailing comma stays trailing; a comment after
    the last item stays with that item."""
    if not items:
        comma: Any = cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")) if more_follow else cst.MaybeSentinel.DEFAULT
        return [new.with_changes(comma=comma)]
    last = items[-1]
    separator = _separator(items, opening)
    last_comma = last.comma
    if isinstance(last_comma, cst.Comma):
        after = last_comma.whitespace_after
        if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(separator, cst.ParenthesizedWhitespace):
            # A wrapped list: the last item keeps its comment and moves the closing
            # indentation to the new item, which gets the trailing comma.
            kept = after.with_changes(last_line=separator.last_line)
            closing = cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(),
                empty_lines=[],
                indent=after.indent,
                last_line=after.last_line,
            )
            last = last.with_changes(comma=last_comma.with_changes(whitespace_after=kept))
            new = new.with_changes(comma=cst.Comma(whitespace_after=closing))
        else:
            # `f(a, b, )` or an item followed by more (`*args`, `**kwargs`): the new one
            # takes the last one's comma, the last one gets a plain separator.
            new = new.with_changes(comma=last_comma)
            last = last.with_changes(comma=cst.Comma(whitespace_after=separator))
    else:
        trailing = getattr(last, after_attr)
        if isinstance(trailing, cst.ParenthesizedWhitespace) and isinstance(separator, cst.ParenthesizedWhitespace):
            # A wrapped list without a trailing comma: a comment after the last item
            # stays with it; the new item ends the list where it ended.
            kept = trailing.with_changes(last_line=separator.last_line)
            closing = cst.ParenthesizedWhitespace(
                first_line=cst.TrailingWhitespace(), empty_lines=[], indent=trailing.indent, last_line=trailing.last_line
            )
            last = last.with_changes(comma=cst.Comma(whitespace_after=kept), **{after_attr: cst.SimpleWhitespace("")})
            new = new.with_changes(**{after_attr: closing})
        else:
            last = last.with_changes(comma=cst.Comma(whitespace_after=separator), **{after_attr: cst.SimpleWhitespace("")})
            new = new.with_changes(**{after_attr: trailing})
    return [*items[:-1], last, new]  # type: ignore[list-item]  # libcst's with_changes is untyped


def _separator(items: Sequence[Union[cst.Arg, cst.Param]], opening: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    """The whitespace after a comma between two items, without any comment: that of the
    first inner comma, else the whitespace after the opening parenthesis if the list is
    wrapped, else one space."""
    for item in items[:-1]:
        comma = item.comma
        if isinstance(comma, cst.Comma):
            return _without_comment(comma.whitespace_after)
    last = items[-1]
    after = last.comma.whitespace_after if isinstance(last.comma, cst.Comma) else (
        last.whitespace_after_arg if isinstance(last, cst.Arg) else last.whitespace_after_param
    )
    if isinstance(after, cst.ParenthesizedWhitespace) and isinstance(opening, cst.ParenthesizedWhitespace):
        return _without_comment(opening)  # one item on its own line
    return cst.SimpleWhitespace(" ")


def _without_comment(ws: cst.BaseParenthesizableWhitespace) -> cst.BaseParenthesizableWhitespace:
    if isinstance(ws, cst.ParenthesizedWhitespace):
        return ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    return ws


def _move_into_scope(
    edit: MoveIntoScope,
    original: Sequence[cst.BaseStatement],
    body: list[Any],
    start: Any,
) -> list[Any] | None:
    """`body` with the load statement (and those between it and the scope) moved to the
    front of the scope's body; None where the shape is not the one the edit expects or
    moving could change what the code means."""
    load = scope = None
    for index, stmt in enumerate(original):
        if load is None and _loads_at(stmt, edit, start):
            load = index
        elif load is not None and isinstance(stmt, cst.With) and start(stmt)[0] == edit.scope_line:
            scope = index
            break
    if load is None or scope is None:
        return None
    with_stmt = original[scope]
    assert isinstance(with_stmt, cst.With)
    if not isinstance(with_stmt.body, cst.IndentedBlock):
        return None
    moved = original[load:scope]
    targets = {
        item.asname.name.value
        for item in with_stmt.items
        if item.asname is not None and isinstance(item.asname.name, cst.Name)
    }
    assigned = set().union(*(_assigned(stmt) for stmt in moved))
    in_items = set().union(*(_names(item) for item in with_stmt.items))
    if targets & set().union(*(_names(stmt) for stmt in moved)) or assigned & in_items:
        return None  # the scope's session is used before it exists / items need the moved code
    if any(_has(stmt, (cst.With, cst.FunctionDef, cst.ClassDef, cst.Yield)) for stmt in moved):
        return None
    new_with = body[scope]
    assert isinstance(new_with, cst.With) and isinstance(new_with.body, cst.IndentedBlock)
    moving = list(body[load:scope])
    first_inner: list[Any] = list(new_with.body.body)
    if first_inner and any(line.comment is not None for line in new_with.leading_lines):
        first_inner[0] = first_inner[0].with_changes(
            leading_lines=[*new_with.leading_lines, *first_inner[0].leading_lines]
        )
    lead = moving[0].leading_lines
    moving[0] = moving[0].with_changes(leading_lines=[])
    new_with = new_with.with_changes(
        leading_lines=lead, body=new_with.body.with_changes(body=[*moving, *first_inner])
    )
    return [*body[:load], new_with, *body[scope + 1 :]]


def _extend_scope(
    edit: ExtendScope, original: Sequence[cst.BaseStatement], body: list[Any], start: Any
) -> list[Any] | None:
    """`body` with every statement after the `with` whose opener is at the edit's
    position moved to the end of that `with`'s body."""
    for index, stmt in enumerate(original):
        if not isinstance(stmt, cst.With) or not isinstance(stmt.body, cst.IndentedBlock):
            continue
        if not any(start(item.item) == (edit.line, edit.column) for item in stmt.items):
            continue
        new_with = body[index]
        if not isinstance(new_with, cst.With) or not isinstance(new_with.body, cst.IndentedBlock):
            return None
        following = body[index + 1 :]
        if not following:
            return None
        inner = [*new_with.body.body, *following]
        return [*body[:index], new_with.with_changes(body=new_with.body.with_changes(body=inner))]
    return None


def _loads_at(stmt: cst.BaseStatement, edit: MoveIntoScope, start: Any) -> bool:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    value = small.value if isinstance(small, (cst.Assign, cst.AnnAssign)) else None
    if isinstance(value, cst.Await):
        value = value.expression
    return isinstance(value, cst.Call) and start(value) == (edit.line, edit.column)


class _NameCollector(cst.CSTVisitor):
    def __init__(self) -> None:
        self.names: set[str] = set()
        self.assigned: set[str] = set()
        self.kinds: set[type[cst.CSTNode]] = set()

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.kinds.add(type(node))
        if isinstance(node, cst.Name):
            self.names.add(node.value)
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name):
            self.assigned.add(node.target.value)
        if isinstance(node, (cst.AnnAssign, cst.AugAssign)) and isinstance(node.target, cst.Name):
            self.assigned.add(node.target.value)
        if isinstance(node, cst.For) and isinstance(node.target, cst.Name):
            self.assigned.add(node.target.value)
        return True


def _collect(node: cst.CSTNode) -> _NameCollector:
    collector = _NameCollector()
    node.visit(collector)
    return collector


def _names(node: cst.CSTNode) -> set[str]:
    return _collect(node).names


def _assigned(node: cst.CSTNode) -> set[str]:
    return _collect(node).assigned


def _has(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    return any(issubclass(kind, kinds) for kind in _collect(node).kinds)
