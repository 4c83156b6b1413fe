"""Make mypy-session's error codes known to mypy's daemon before it reads the options.

`dmypy run` compares the options it is given with the daemon's (`Options.compare_stable`),
which looks every name in `enable_error_code` / `disable_error_code` up in mypy's registry
of codes. A plugin's codes are registered when the plugin is imported, and the daemon
imports plugins only when a build starts, after that comparison: a plugin code in the
global config crashed `dmypy run` ("Daemon crashed!", `KeyError`), on every save in an
editor that runs plain dmypy.

`mypy_session_codes.pth` (installed beside this module in site-packages) loads this
module when Python starts. It costs one finder at the front of `sys.meta_path` that
compares a module name and finds nothing: no import of mypy or of the plugin in other
processes. When a process first imports `mypy.dmypy` (dmypy's client, before it starts or
forks the daemon), the finder leaves `sys.meta_path` and
imports `mypy_session.errorcodes`, which registers the codes; then the import goes on as
usual. A failure there is ignored: the daemon then behaves as without this module.
"""

import sys

# dmypy's client (`dmypy`, `python -m mypy.dmypy`, the daemon it starts on Windows) starts
# with this import; mypy's compiled modules import each other past `sys.meta_path`, so
# `mypy.dmypy_server` itself is never seen here.
_TRIGGER = "mypy.dmypy"


class _RegisterCodes:
    """A meta path finder that never finds a module (see the module docstring)."""

    @classmethod
    def find_spec(cls, fullname, path=None, target=None):  # noqa: ANN001, ANN206
        if fullname != _TRIGGER:
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        try:
            import mypy_session.errorcodes  # noqa: F401  (registers the codes)
        except Exception:  # noqa: BLE001  (never in the way of dmypy itself)
            pass
        return None


def install():
    """Put the finder first in `sys.meta_path` once (the .pth file calls this)."""
    if _RegisterCodes not in sys.meta_path and _TRIGGER not in sys.modules:
        sys.meta_path.insert(0, _RegisterCodes)
