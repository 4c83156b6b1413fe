"""A fullname setting's entry that names nothing: one note per entry, on line 1 of the
module it points into, when mypy has checked that module (`settings_resolution`).

A note, not an error: the entry changes no finding by itself, so the exit status stays
what the code gives; the note says why findings may be missing. Reported through the
module's own errors, it is replayed from mypy's cache with them, and a changed setting
invalidates that cache (the settings are part of its key). Under dmypy the notes are kept
as the end-of-module walk's findings are (`kept_findings`).
"""

from __future__ import annotations

import os

from mypy.nodes import Context, MypyFile

from mypy_session import errorcodes
from mypy_session.kept_findings import keep
from mypy_session.knowledge import Knowledge
from mypy_session.settings_resolution import SettingsResolution
from mypy_session.untyped_sessions import reporting_checker


def report_unresolved(file: MypyFile, settings: SettingsResolution, knowledge: Knowledge) -> None:
    """Note every configured entry that names nothing in `file`."""
    found = settings.unresolved_in(file)
    if not found:
        return
    checker = reporting_checker(file)
    if checker is None:
        return
    errors = checker.errors
    before = len(errors.error_info_map.get(file.path, ()))
    config_file = knowledge.config.config_file
    shown = os.path.basename(config_file) if config_file else "configuration"
    for item in found:
        message = errorcodes.unresolved_setting(
            shown, item.setting, item.entry, item.module, item.missing
        )
        checker.note(message, Context(1, 0))
    if knowledge.daemon:  # kept for the updates that do not check this module again
        keep(file, errors.error_info_map.get(file.path, [])[before:])
