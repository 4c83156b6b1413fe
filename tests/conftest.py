"""Shared test set-up: the plugin re-raises instead of skipping what it cannot handle, so
a bug shows up as a failing test rather than as a silently missing finding."""

import os

os.environ.setdefault("MYPY_SESSION_DEBUG", "1")
