"""Writing a file so that no reader ever sees part of it and no writer loses another's work.

Every file a command writes (the baseline, a report given with `--output-file`) goes
through `write_text`: the text goes to a temporary file with a unique name in the same
directory (so the final rename stays on one file system and is atomic), is flushed and
fsynced, gets the mode of the file it replaces (or the mode a new file would get under the
umask), and is renamed over the target. A reader sees the old file or the new one, never a
truncated one; two writers at once each rename a complete file (the last one wins); a
process killed in the middle leaves at most its own temporary file, never a damaged
target. A failure is an `OSError` with the target's name, and the temporary file is
removed.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile


def write_text(path: str, text: str) -> None:
    """Replace `path` with `text` (UTF-8), atomically."""
    directory = os.path.dirname(os.path.abspath(path))
    mode = _mode_for(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_directory(directory)


def _mode_for(path: str) -> int:
    """The permission bits of the file being replaced; for a new file, what `open` would
    give it (0o666 less the umask), not mkstemp's 0o600."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX); a platform without it is not an error."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
