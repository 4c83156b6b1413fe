"""The baseline: findings accepted today, identified by fingerprints that survive line
shifts and unrelated edits (SPEC section 7).

A fingerprint hashes what a finding *is*, not where it happens to be: its code, the file
(relative to the baseline file), the enclosing function and the message, with line numbers
in the message masked. Moving the function, or editing code around it, keeps it; renaming
the function or the callee, or changing what is held, makes it a new finding.

    {"version": 1, "findings": [{"fingerprint": "…", "code": "…", "path": "…",
                                  "function": "…", "message": "…", "context": "…"}, …]}

Identical findings in one function (the same service called twice without the session)
are told apart by their order in the function: the second one's fingerprint ends in `-1`.
So a baselined finding hides only itself, and a new identical call is still reported.
`context` (optional; hashes of the line and its neighbours) says which of them an entry
is when a copy lands above the original (`baseline_lines`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mypy_session import atomic_write
from mypy_session.config import ConfigError

FORMAT_VERSION: Final = 1
_LINE_NUMBER: Final = re.compile(r"\bline \d+")


@dataclass(frozen=True, slots=True, order=True)
class Entry:
    """One accepted finding, as the baseline file lists it."""

    path: str
    function: str
    code: str
    message: str
    fingerprint: str
    context: str = ""  # where it is among identical findings (baseline_lines)

    def to_json(self) -> dict[str, str]:
        data = {
            "fingerprint": self.fingerprint,
            "code": self.code,
            "path": self.path,
            "function": self.function,
            "message": self.message,
        }
        if self.context:
            data["context"] = self.context
        return data


def relative_path(path: str, root: str) -> str:
    """`path` relative to `root`, with forward slashes (the same on every machine)."""
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:  # another drive (Windows)
        rel = os.path.abspath(path)
    return Path(rel).as_posix()


def fingerprint(code: str, path: str, function: str, message: str) -> str:
    """A stable identity of a finding; `path` is already relative to the baseline's root."""
    text = "\0".join((code, path, function, _LINE_NUMBER.sub("line N", message)))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def nth(base: str, occurrence: int) -> str:
    """The fingerprint of the n-th identical finding in one function (n counts from 0)."""
    return base if occurrence == 0 else f"{base}-{occurrence}"


def file_crc(path: str) -> str:
    """A cheap fingerprint of the file's bytes (part of mypy's cache key)."""
    try:
        with open(path, "rb") as stream:
            return f"{zlib.crc32(stream.read()):08x}"
    except OSError:
        return "none"


def read(path: str) -> list[Entry]:
    """The entries of a baseline file; a missing file is an empty baseline."""
    try:
        with open(path, encoding="utf-8") as stream:
            raw = json.load(stream)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as exc:  # a directory, no permission, not UTF-8, not JSON
        raise ConfigError(f"{path}: cannot read the baseline ({_reason(exc)})") from None
    except RecursionError:  # JSON nested too deeply for the parser
        raise ConfigError(f"{path}: cannot read the baseline (nested too deeply)") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("findings"), list):
        raise ConfigError(f'{path}: not a mypy-session baseline (no "findings" list)')
    version = raw.get("version", FORMAT_VERSION)
    if version != FORMAT_VERSION:
        raise ConfigError(
            f"{path}: baseline format version {version!r}; this mypy-session reads {FORMAT_VERSION}"
        )
    entries = []
    for item in raw["findings"]:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(key), str)
            for key in ("fingerprint", "code", "path", "function", "message")
        ):
            shown = json.dumps(item, ensure_ascii=False)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise ConfigError(f"{path}: malformed baseline entry {shown}")
        context = item.get("context", "")
        if not isinstance(context, str):
            shown = json.dumps(item, ensure_ascii=False)
            shown = shown if len(shown) <= 80 else shown[:77] + "..."
            raise ConfigError(f"{path}: malformed baseline entry {shown}")
        entries.append(
            Entry(item["path"], item["function"], item["code"], item["message"], item["fingerprint"], context)
        )
    return entries


class Watch:
    """Under dmypy, which outlives any one read: the baseline's accepted fingerprints,
    read again when the file has changed since (a ratchet, an edit by hand)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._stamp = _stamp(path)

    def changed(self) -> list[Entry] | None:
        """The entries if the file changed since the last look, else None. A file that
        cannot be read now (being replaced, broken) keeps what was read."""
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return None
        self._stamp = stamp
        try:
            return read(self.path)
        except ConfigError:
            return None


def _stamp(path: str) -> tuple[int, int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_mtime_ns, info.st_size, info.st_ino)


def write(path: str, entries: Iterable[Entry]) -> None:
    """Write the baseline, sorted so that diffs of it are readable; atomically (a reader
    never sees a partial file, concurrent writers never a shared temporary file)."""
    data: dict[str, Any] = {
        "version": FORMAT_VERSION,
        "tool": "mypy-session",
        "findings": [item.to_json() for item in sorted(set(entries))],
    }
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    atomic_write.write_text(path, text)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return exc.strerror or type(exc).__name__
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
