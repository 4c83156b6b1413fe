"""The `mypy-session` command line (SPEC section 7).

`check [mypy args...]` runs mypy itself with the plugin on: the same output and exit status
as mypy. `dmypy [dmypy args...]` runs mypy's daemon client with the plugin's error codes
registered first (plain `dmypy` gets them from the installed `mypy_session_codes.pth`;
this is for environments that skip `.pth` files, see docs/known-problems.md). mypy takes plugins only from its config file, so where the project's config does
not list the plugin, `check` runs mypy on a copy of that config with the plugin added,
written to a temporary directory outside the project (paths in it keep meaning what they
meant), and removes the copy after.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final, TextIO

import tomlkit
from mypy import defaults as mypy_defaults
from mypy.main import main as mypy_main
from mypy.main import process_options

from mypy_session.config import ORIGINAL_CONFIG_ENV
from mypy_session.version import __version__

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

PLUGIN: Final = "mypy_session.plugin"


COMMANDS: Final = {
    "check": "run mypy with the plugin on (further arguments go to mypy); --select, --output-format",
    "audit": "the transaction-boundary audit of PATHS: Markdown, or --output-format json, sarif...",
    "callers": "every call of a function or method and every write to an attribute NAME",
    "baseline": "record today's findings; --update drops fixed ones; the plugin hides the rest",
    "fix": "fix the findings of PATHS (--diff, --unsafe-fixes, --select CODES)",
    "dmypy": "run mypy's daemon client (dmypy) with the plugin's error codes known",
    "init": "propose the [tool.mypy_session] section for a project, as a diff; --write writes it",
}


def main(argv: Sequence[str] | None = None) -> None:
    """`mypy-session`: run a command and exit with its status."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="mypy-session",
        description="SQLAlchemy transaction-boundary checks for mypy.",
    )
    parser.add_argument("--version", action="version", version=f"mypy-session {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, text in COMMANDS.items():
        commands.add_parser(name, help=text, add_help=False)
    if not args or args[0] not in COMMANDS:
        parser.parse_args(args)
        parser.print_help()
        sys.exit(2)
    command, rest = args[0], args[1:]
    if command == "dmypy":
        sys.exit(dmypy(rest))
    if command == "check":
        sys.exit(check(rest))
    if command == "fix":
        from mypy_session.commands.fix import fix

        sys.exit(fix(rest))
    if command == "init":
        from mypy_session.commands import init

        sys.exit(init.main(rest))
    from mypy_session.commands import entry

    sys.exit(getattr(entry, command)(rest))


def dmypy(dmypy_args: list[str]) -> int:
    """Run `dmypy` with this plugin's error codes registered in this process.

    The daemon compares the configured options before it loads plugins, and an unknown
    code in a global `disable_error_code` / `enable_error_code` is a KeyError there. On
    POSIX the daemon is forked from this process, so importing the codes first is enough.
    """
    import mypy_session.errorcodes  # noqa: F401 - registers the codes with mypy
    from mypy.dmypy.client import main as dmypy_main

    problem = _unreadable_daemon_config(dmypy_args)
    if problem is not None:  # before a daemon starts on it (and crashes on every request)
        print(f"mypy-session: error: {problem}", file=sys.stderr)
        return 2

    try:
        dmypy_main(dmypy_args)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0


_DAEMON_STARTS: Final = ("run", "start", "restart", "daemon")


def _unreadable_daemon_config(dmypy_args: list[str]) -> str | None:
    """`unreadable_config` for the mypy flags of a dmypy command that starts a daemon
    (the flags follow `--`)."""
    if not any(arg in _DAEMON_STARTS for arg in dmypy_args):
        return None
    flags = dmypy_args[dmypy_args.index("--") + 1 :] if "--" in dmypy_args else []
    return unreadable_config(flags)


def check(args: list[str]) -> int:
    """Run mypy on `args` with the plugin enabled; return mypy's exit status.

    `--select` / `--ignore` and `--output-format` (`--format`) change what is shown and,
    with a selection, the exit status: see `commands/check_output.py`."""
    from mypy_session.commands.check_output import check as check_with_options

    return check_with_options(args, _check)


def _check(mypy_args: list[str], stdout: TextIO | None) -> int:
    problem = unreadable_config(mypy_args)
    if problem is not None:
        print(f"mypy-session: error: {problem}", file=sys.stderr)
        return 2
    config_file, plugins = _mypy_config(mypy_args)
    if any(_is_our_plugin(p) for p in plugins):
        return _run_mypy(mypy_args, stdout)
    try:
        _stand_in_text(config_file)  # a config mypy reads but the copy cannot be made of
    except (OSError, ValueError, configparser.Error) as exc:
        print(f"mypy-session: error: {config_file}: cannot read the config file: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    with _config_with_plugin(config_file) as stand_in:
        return _run_mypy([*_without_config_flag(mypy_args), "--config-file", stand_in], stdout)


def _run_mypy(args: list[str], stdout: TextIO | None = None) -> int:
    try:
        # stderr passed explicitly: mypy's default is the stream at its import time
        mypy_main(args=args, clean_exit=True, stdout=stdout or sys.stdout, stderr=sys.stderr)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 2)
    return 0


def _mypy_config(args: list[str]) -> tuple[str | None, list[str]]:
    """The config file mypy would use for these arguments, and the plugins it lists."""
    with open(os.devnull, "w") as devnull:
        try:
            _, options = process_options(args, stdout=devnull, stderr=devnull, require_targets=False)
        except SystemExit:
            return None, []  # mypy itself will report the bad arguments
    return options.config_file, list(options.plugins)


# Where mypy looks for its config, in its order; pyproject.toml and setup.cfg count only with
# a mypy section. mypy 1.15+ (which has SHARED_CONFIG_NAMES) also searches parent
# directories, up to a repository root.
_LOCAL_CONFIGS: Final = ("mypy.ini", ".mypy.ini", "pyproject.toml", "setup.cfg")
_SHARED_CONFIGS: Final = ("pyproject.toml", "setup.cfg")
_SEARCHES_UPWARDS: Final = hasattr(mypy_defaults, "SHARED_CONFIG_NAMES")


def unreadable_config(args: list[str]) -> str | None:
    """Why the config file mypy would use cannot be read, in one line naming it; or None.

    mypy reports a config it cannot parse and goes on without it (one it cannot decode or
    open is a traceback); `check` would then run the plugin on a stand-in with the
    defaults, and the settings the user wrote would be ignored without a word. A missing
    `--config-file` is named here too: `check` replaces the flag with its copy's, and mypy's
    own message for it is a usage text."""
    explicit = _config_flag(args)
    if explicit is not None and not os.path.isfile(explicit):
        kind = "is a directory" if os.path.isdir(explicit) else "no such file"
        return f"{explicit}: cannot read the config file: {kind}"
    for path in _config_candidates(args):
        try:
            if path.lower().endswith(".toml"):
                with open(path, "rb") as f:
                    tool = tomllib.load(f).get("tool", {})
                if not isinstance(tool, dict):  # mypy itself would stop with a traceback
                    return f"{path}: [tool] must be a table, got {type(tool).__name__}"
                if "mypy" in tool and not isinstance(tool["mypy"], dict):
                    return f"{path}: [tool.mypy] must be a table, got {type(tool['mypy']).__name__}"
                is_mypy_config = "mypy" in tool
            else:
                parser = configparser.RawConfigParser()
                with open(path, encoding="utf-8") as f:
                    parser.read_file(f, source=path)
                is_mypy_config = parser.has_section("mypy")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, configparser.Error) as exc:
            return f"{path}: cannot read the config file: {' '.join(str(exc).split())}"
        if is_mypy_config or os.path.basename(path) not in _SHARED_CONFIGS:
            return None  # the one mypy uses, and it reads
    return None


def _config_candidates(args: list[str]) -> Iterator[str]:
    explicit = _config_flag(args)
    if explicit is not None:
        if os.path.isfile(explicit):  # a missing one is reported by unreadable_config
            yield explicit
        return
    here = os.getcwd()
    while True:
        for name in _LOCAL_CONFIGS:
            if os.path.exists(os.path.join(here, name)):
                yield os.path.relpath(os.path.join(here, name))
        parent = os.path.dirname(here)
        if not _SEARCHES_UPWARDS or parent == here or any(
            os.path.exists(os.path.join(here, vcs)) for vcs in (".git", ".hg")
        ):
            break
        here = parent
    for user_config in mypy_defaults.USER_CONFIG_FILES:
        if os.path.exists(os.path.expanduser(user_config)):
            yield os.path.expanduser(user_config)


def _config_flag(args: list[str]) -> str | None:
    for i, arg in enumerate(args):
        if arg == "--config-file" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config-file="):
            return arg.split("=", 1)[1]
    return None


def _is_our_plugin(entry: str) -> bool:
    return entry == PLUGIN or entry.replace("\\", "/").endswith("mypy_session/plugin.py")


def _without_config_flag(args: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--config-file":
            skip = True
        elif not arg.startswith("--config-file="):
            out.append(arg)
    return out


@contextlib.contextmanager
def _config_with_plugin(config_file: str | None) -> Iterator[str]:
    """A copy of the config with the plugin added, in a temporary directory outside the
    project: nothing is ever written into the project, so a `check` that is killed, or
    run in a read-only checkout, leaves nothing behind there. What mypy resolves against
    the config file's directory is rewritten to keep its meaning: plugin paths, and
    `$MYPY_CONFIG_FILE_DIR` in any value."""
    import tempfile

    text, suffix = _stand_in_text(config_file)
    previous = os.environ.get(ORIGINAL_CONFIG_ENV)
    if config_file is not None:
        os.environ[ORIGINAL_CONFIG_ENV] = config_file
    try:
        with tempfile.TemporaryDirectory(prefix="mypy-session-check-") as directory:
            stand_in = Path(directory) / f"mypy-session-check{suffix}"
            stand_in.write_text(text, encoding="utf-8")
            yield str(stand_in)
    finally:
        if previous is None:
            os.environ.pop(ORIGINAL_CONFIG_ENV, None)
        else:
            os.environ[ORIGINAL_CONFIG_ENV] = previous


def _stand_in_text(config_file: str | None) -> tuple[str, str]:
    """(the copy's text, its suffix); raises what reading the original raises."""
    if config_file is None:
        return f"[mypy]\nplugins = {PLUGIN}\n", ".ini"
    origin = Path(config_file).resolve().parent
    if config_file.endswith(".toml"):
        text, suffix = _toml_with_plugin(config_file, origin), ".toml"
    else:
        text, suffix = _ini_with_plugin(config_file, origin), ".ini"
    for name in ("${MYPY_CONFIG_FILE_DIR}", "$MYPY_CONFIG_FILE_DIR"):
        text = text.replace(name, origin.as_posix())
    return text, suffix


def _absolute_plugins(plugins: list[str], origin: Path) -> list[str]:
    """mypy resolves a plugin given as a `.py` path against the config file's directory."""
    out = []
    for entry in plugins:
        path, colon, function = entry.rpartition(":") if ":" in os.path.basename(entry) else (entry, "", "")
        if path.endswith(".py") and not os.path.isabs(path):
            entry = (origin / path).as_posix() + colon + function
        out.append(entry)
    return out


def _toml_with_plugin(path: str, origin: Path) -> str:
    document = tomlkit.parse(Path(path).read_text(encoding="utf-8"))
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    mypy = tool.setdefault("mypy", tomlkit.table())
    plugins = mypy.get("plugins", [])
    if isinstance(plugins, str):
        plugins = [p.strip() for p in plugins.split(",") if p.strip()]
    mypy["plugins"] = [*_absolute_plugins([str(p) for p in plugins], origin), PLUGIN]
    return tomlkit.dumps(document)


def _ini_with_plugin(path: str, origin: Path) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path, encoding="utf-8")
    if not parser.has_section("mypy"):
        parser.add_section("mypy")
    plugins = [p.strip() for p in parser.get("mypy", "plugins", fallback="").split(",") if p.strip()]
    parser.set("mypy", "plugins", ", ".join([*_absolute_plugins(plugins, origin), PLUGIN]))
    buffer = _StringWriter()
    parser.write(buffer)
    return buffer.text


class _StringWriter:
    def __init__(self) -> None:
        self.text = ""

    def write(self, chunk: str) -> None:
        self.text += chunk
