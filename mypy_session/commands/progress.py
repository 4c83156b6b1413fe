"""A progress line per batch of modules on a terminal; quiet in CI and in pipes."""

from __future__ import annotations

import os
import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, *, enabled: bool | None = None, stream: TextIO | None = None):
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() and not os.environ.get("CI")
        self.enabled = enabled
        self.total = total
        self.done = 0
        self._batch = max(1, total // 20) if total else 25
        self._start = time.monotonic()

    def step(self, module: str) -> None:
        self.done += 1
        if not self.enabled or (self.done % self._batch and self.done != self.total):
            return
        elapsed = time.monotonic() - self._start
        of = f"/{self.total}" if self.total else ""
        print(
            f"mypy-session: checked {self.done}{of} modules ({elapsed:.0f} s), last {module}",
            file=self.stream,
            flush=True,
        )
