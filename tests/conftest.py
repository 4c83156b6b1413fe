"""Shared test set-up: the plugin re-raises instead of skipping what it cannot handle, so
a bug shows up as a failing test rather than as a silently missing finding."""

import os

os.environ.setdefault("MYPY_SESSION_DEBUG", "1")

# pytest-mypy-plugins runs each YAML case in this process and then puts back a copy of
# `sys.modules` taken before it (`utils.temp_sys_modules`, which rebinds the name): a
# module of the plugin first imported during a case is then missing from the copy, and
# a later `import mypy_session...` in a plain test fails with `KeyError: 'mypy_session'`
# (seen when a worker's first test was a YAML case). Import every module of the plugin
# up front, so that no case is the first to.
import importlib  # noqa: E402
import pkgutil  # noqa: E402

import mypy_session  # noqa: E402

for _module in pkgutil.walk_packages(mypy_session.__path__, "mypy_session."):
    if _module.name.startswith("mypy_session._stubs") or _module.name.endswith("__main__"):
        continue
    importlib.import_module(_module.name)

# pytest-mypy-plugins joins a case's `mypy_config` to tests/mypy.ini with a ConfigParser
# that lowercases keys; the plugin reads its INI keys with their case (the `guarded`
# section is keyed by "module.Class.attribute", as users write it), so keep it here too.
import configparser  # noqa: E402

from pytest_mypy_plugins import configs as _configs  # noqa: E402


class _CaseKeepingParser(configparser.ConfigParser):
    def optionxform(self, optionstr: str) -> str:
        return optionstr


_configs.ConfigParser = _CaseKeepingParser  # type: ignore[attr-defined,misc]
