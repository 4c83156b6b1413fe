"""Which of several identical findings in one function a baseline entry stands for.

A fingerprint names what a finding is, not where (see `baseline`): the same service
called twice without the session in one function gives two findings with one base,
told apart by their order (`<base>`, `<base>-1`). By order alone, a copy of a baselined
call inserted *above* the original takes the original's entry, and the original is
reported as new, at its own line.

So each entry also keeps a `context`: short hashes of its line and of the nearest
non-blank lines before and after it (`p:o:n`). Where a function has entries with a
context for a base, they are placed on today's lines before any is used: each entry,
in order, on the not yet taken line of the function whose own text is the entry's and
whose neighbours match best (both, the next one, the previous one, neither; the first
such line on a tie). A finding on a line an entry was placed on is accepted; an entry
whose line text is gone from the function (the call was reformatted) is taken by the
first finding not accepted otherwise, as by order before. A copy placed directly below
the original, with nothing between, cannot be told from it: the entry stays with the
line whose next line matches, the copy.

Entries without a context (a baseline written before it existed) are matched by order.
"""

from __future__ import annotations

import hashlib
import os

_LINES: dict[str, tuple[tuple[int, int], list[str]]] = {}


def read_lines(path: str) -> list[str]:
    """The lines of `path` (cached while the file is unchanged); [] if unreadable."""
    try:
        info = os.stat(path)
    except OSError:
        return []
    stamp = (info.st_mtime_ns, info.st_size)
    hit = _LINES.get(path)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        with open(path, encoding="utf-8", errors="replace") as stream:
            lines = stream.read().splitlines()
    except OSError:
        return []
    _LINES[path] = (stamp, lines)
    return lines


def _digest(text: str) -> str:
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:8]


def _neighbour(lines: list[str], index: int, step: int) -> str:
    index += step
    while 0 <= index < len(lines):
        if lines[index].strip():
            return lines[index]
        index += step
    return ""


def line_context(lines: list[str], line: int) -> str:
    """The context of 1-based `line`: "prev:own:next" hashes ("" past the file)."""
    index = line - 1
    if not 0 <= index < len(lines):
        return ""
    return ":".join(
        (_digest(_neighbour(lines, index, -1)), _digest(lines[index]), _digest(_neighbour(lines, index, 1)))
    )


class Placement:
    """The entries of one base in one function, placed on today's lines."""

    __slots__ = ("_on_line", "_unplaced", "_decided")

    def __init__(self, entries: list[tuple[str, str]], lines: list[str], first: int, last: int) -> None:
        """`entries`: (mark, context) in mark order; `first`..`last`: the function's lines."""
        self._on_line: dict[int, str] = {}
        self._unplaced: list[str] = []
        self._decided: dict[int, str | None] = {}
        contexts = {
            number: line_context(lines, number).split(":")
            for number in range(max(first, 1), min(last, len(lines)) + 1)
        }
        for mark, context in entries:
            parts = context.split(":")
            best: tuple[int, int] | None = None  # (score, line)
            if len(parts) == 3:
                for number, here in contexts.items():
                    if number in self._on_line or len(here) != 3 or here[1] != parts[1]:
                        continue
                    score = 2 * (here[2] == parts[2]) + (here[0] == parts[0])
                    if best is None or score > best[0]:
                        best = (score, number)
            if best is None:
                self._unplaced.append(mark)
            else:
                self._on_line[best[1]] = mark
        self._unplaced.reverse()  # popped from the end: first entry first

    def accepts(self, line: int) -> bool:
        """Is the finding on `line` one the baseline accepts? (The same answer again when
        mypy checks the function a second time.)"""
        if line in self._decided:
            return self._decided[line] is not None
        mark = self._on_line.get(line)
        if mark is None and self._unplaced:
            mark = self._unplaced.pop()
        self._decided[line] = mark
        return mark is not None
