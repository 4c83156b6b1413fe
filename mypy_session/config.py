"""The plugin's settings: `[tool.mypy_session]` in pyproject.toml or `[mypy_session]` in an
INI file (mypy.ini, .mypy.ini, setup.cfg), read from whichever file mypy itself uses.

Every key is validated up front. A bad key or value raises `ConfigError` with one line that
names the key and what is expected; the plugin turns it into exit status 2, as mypy does
for its own configuration errors. Paths are relative to the config file.
"""

from __future__ import annotations

import configparser
import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, final

from mypy_session import fullnames

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TOML_SECTION: Final = "tool.mypy_session"
INI_SECTION: Final = "mypy_session"
INI_GUARDED_SECTION: Final = "mypy_session.guarded"
# INI has no inline tables: the service to call instead of a guarded attribute, by key.
INI_GUARDED_USE_SECTION: Final = "mypy_session.guarded.use"
# `mypy-session check` may run mypy on a stand-in copy of the user's config; it names the
# original here, so that relative paths and messages refer to the file the user wrote.
ORIGINAL_CONFIG_ENV: Final = "MYPY_SESSION_CONFIG_FILE"


def _is_dotted(text: str) -> bool:
    """A dotted name: identifiers joined by dots (no regex: compiling one at import costs
    a warm run more than the rest of this module)."""
    return all(part.isidentifier() for part in text.split("."))


class ConfigError(Exception):
    """A setting the plugin cannot use; the message is one line naming the key."""


@final
class SessionConfig:
    """Validated settings, defaults merged in."""

    __slots__ = (
        "baseline",
        "commit_methods",
        "config_file",
        "configured_names",
        "guarded",
        "guarded_use",
        "legacy_model_typing",
        "any_receiver_calls",
        "marker_stubs",
        "scope_factories",
        "scope_factory_names",
        "session_classes",
        "session_param_names",
        "session_owners",
        "session_providers",
        "session_types",
    )

    def __init__(
        self,
        *,
        config_file: str | None = None,
        session_types: tuple[str, ...] = (),
        session_param_names: tuple[str, ...] = fullnames.DEFAULT_SESSION_PARAM_NAMES,
        scope_factories: tuple[str, ...] = (),
        commit_methods: tuple[str, ...] = fullnames.DEFAULT_COMMIT_METHODS,
        marker_stubs: tuple[str, ...] = (),
        guarded: Mapping[str, tuple[str, ...]] | None = None,
        guarded_use: Mapping[str, str] | None = None,
        baseline: str | None = None,
        session_providers: tuple[str, ...] = (),
        session_owners: tuple[str, ...] = (),
        legacy_model_typing: bool = True,
        any_receiver_calls: bool = True,
    ) -> None:
        self.config_file = config_file
        # Configured session types and scope factories extend the defaults; the name and
        # method lists replace theirs (SPEC section 6 lists "session" among "db").
        self.session_types: frozenset[str] = frozenset(
            fullnames.DEFAULT_SESSION_TYPES + session_types
        )
        self.session_param_names: frozenset[str] = frozenset(session_param_names)
        factories = fullnames.DEFAULT_SCOPE_FACTORIES + scope_factories
        self.scope_factories: frozenset[str] = frozenset(f for f in factories if "." in f)
        # Undotted factory names match any callable with that short name.
        self.scope_factory_names: frozenset[str] = frozenset(
            f for f in factories if "." not in f
        )
        self.commit_methods: frozenset[str] = frozenset(commit_methods)
        self.marker_stubs = marker_stubs
        self.guarded: dict[str, tuple[str, ...]] = dict(guarded or {})
        # The service to call instead, for the `guarded` entries that name one.
        self.guarded_use: dict[str, str] = dict(guarded_use or {})
        self.baseline = baseline
        # Decorators that pass a session when the caller gives none (fullnames, or short
        # names without a dot), besides those found from their own body (`decorators`).
        self.session_providers: frozenset[str] = frozenset(session_providers)
        # Decorators that make a function an entry point that owns its session (a task,
        # a queue worker, a CLI command): fullnames, or short names without a dot.
        self.session_owners: frozenset[str] = frozenset(session_owners)
        # Class access to a legacy `Column` of a mapped class typed as under SQLAlchemy 2.0
        # (`legacy_models`, docs/legacy-models.md).
        self.legacy_model_typing = legacy_model_typing
        # Calls on receivers mypy types as `Any` checked by the method's name
        # (`any_receivers`, docs/held-sessions.md).
        self.any_receiver_calls = any_receiver_calls
        # Which classes are session types, by class object (a new object after a dmypy
        # reload is a new key), filled in as classes are met.
        self.session_classes: dict[object, bool] = {}
        # The dotted entries the user wrote in the fullname settings, (setting, entry):
        # resolved through re-exports and aliases by `settings_resolution`.
        self.configured_names: tuple[tuple[str, str], ...] = (
            tuple(("session_types", name) for name in session_types)
            + tuple(("scope_factories", name) for name in scope_factories if "." in name)
            + tuple(("session_providers", name) for name in session_providers if "." in name)
        )

    def to_json(self) -> dict[str, Any]:
        """What goes into mypy's cache key via `report_config_data`."""
        return {
            "session_types": sorted(self.session_types),
            "session_param_names": sorted(self.session_param_names),
            "scope_factories": sorted(self.scope_factories | self.scope_factory_names),
            "commit_methods": sorted(self.commit_methods),
            "marker_stubs": list(self.marker_stubs),
            "guarded": {k: list(v) for k, v in sorted(self.guarded.items())},
            "guarded_use": dict(sorted(self.guarded_use.items())),
            "baseline": self.baseline,
            "session_providers": sorted(self.session_providers),
            "session_owners": sorted(self.session_owners),
            "legacy_model_typing": self.legacy_model_typing,
            "any_receiver_calls": self.any_receiver_calls,
        }


def load_config(config_file: str | None) -> SessionConfig:
    """Read and validate the plugin's section of the config file mypy is using."""
    if config_file is None or not os.path.exists(config_file):
        return SessionConfig(config_file=config_file)
    shown = os.environ.get(ORIGINAL_CONFIG_ENV) or config_file
    if config_file.lower().endswith(".toml"):  # as mypy tells TOML from INI
        return _from_mapping(_read_toml(config_file, shown), shown, f"[{TOML_SECTION}]")
    return _from_mapping(_read_ini(config_file, shown), shown, f"[{INI_SECTION}]")


def _read_toml(path: str, shown: str) -> Mapping[str, object]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{shown}: cannot read the file: {' '.join(str(exc).split())}") from None
    tool = data.get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{shown}: [tool] must be a table, got {type(tool).__name__}")
    section = tool.get("mypy_session", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{shown}: [{TOML_SECTION}] must be a table")
    return section


def _read_ini(path: str, shown: str) -> Mapping[str, object]:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keep class names' case
    try:
        # Not parser.read(), which skips a file it cannot open.
        with open(path, encoding="utf-8") as f:
            parser.read_file(f, source=path)
    except (OSError, configparser.Error, UnicodeDecodeError) as exc:
        detail = " ".join(str(exc).split())
        raise ConfigError(f"{shown}: cannot read the file: {detail}") from None
    section: dict[str, object] = {}
    if parser.has_section(INI_SECTION):
        section.update({k: _ini_list(v) for k, v in parser.items(INI_SECTION)})
        for key in _INI_SCALARS:
            if key in section:
                section[key] = parser.get(INI_SECTION, key).strip()
    if parser.has_section(INI_GUARDED_SECTION):
        section["guarded"] = {k: _ini_list(v) for k, v in parser.items(INI_GUARDED_SECTION)}
    if parser.has_section(INI_GUARDED_USE_SECTION):
        # Merged into the TOML shape, { allowed = [...], use = "..." }, and validated alike.
        guarded = section.get("guarded")
        table = dict(guarded) if isinstance(guarded, dict) else {}
        for key, use in parser.items(INI_GUARDED_USE_SECTION):
            if key not in table:
                raise ConfigError(
                    f"{shown}: [{INI_GUARDED_USE_SECTION}] {key!r}: expected a key of "
                    f"[{INI_GUARDED_SECTION}]"
                )
            table[key] = {"allowed": table[key], "use": use.strip()}
        section["guarded"] = table
    return section


# Keys of the INI section read as one value, not as a list.
_INI_SCALARS: Final = ("baseline", "legacy_model_typing", "any_receiver_calls")
# How an INI file spells a switch (configparser's words); TOML has its own booleans.
_INI_BOOLEANS: Final = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}


def _ini_list(value: str) -> list[str]:
    return [item.strip() for item in re.split(r"[,\n]", value) if item.strip()]


def _from_mapping(section: Mapping[str, object], path: str, where: str) -> SessionConfig:
    base = Path(path).resolve().parent

    def fail(key: str, expected: str) -> ConfigError:
        return ConfigError(f"{path}: {where} {key!r}: expected {expected}")

    def names(key: str, valid: Callable[[str], bool], what: str) -> tuple[str, ...]:
        value = section[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail(key, f"a list of {what}")
        for item in value:
            if not valid(item):
                raise fail(key, f"a list of {what}, got {item!r}")
        return tuple(value)

    def paths(key: str) -> tuple[str, ...]:
        value = section[key]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise fail(key, "a list of directory paths")
        resolved = []
        for item in value:
            directory = base / item
            if not directory.is_dir():
                raise fail(key, f"an existing directory, {item!r} is not one")
            resolved.append(str(directory))
        return tuple(resolved)

    def guarded(key: str) -> dict[str, tuple[str, ...]]:
        value = section[key]
        if not isinstance(value, dict):
            raise fail(key, 'a table of "module.Class.attribute" = ["allowed.module", ...]')
        result = {}
        for target, allowed in value.items():
            if not _is_dotted(target) or target.count(".") < 2:
                raise fail(key, f'keys of the form "module.Class.attribute", got {target!r}')
            if isinstance(allowed, dict):
                # { allowed = [...], use = "service" }: the service goes to `guarded_use`.
                unknown = sorted(set(allowed) - {"allowed", "use"})
                if unknown or "allowed" not in allowed:
                    raise fail(
                        key,
                        f'for {target!r} a list of module names or a table '
                        f'{{ allowed = [...], use = "service" }}'
                        + (f", got key {unknown[0]!r}" if unknown else ", without 'allowed'"),
                    )
                use = allowed.get("use")
                if use is not None:
                    if not isinstance(use, str) or not _is_dotted(use):
                        raise fail(key, f"for {target!r} 'use' a function name, got {use!r}")
                    uses[target] = use
                allowed = allowed["allowed"]
            if not isinstance(allowed, list) or not all(
                isinstance(m, str) and _is_dotted(m) for m in allowed
            ):
                raise fail(key, f"for {target!r} a list of module names")
            result[target] = tuple(allowed)
        return result

    uses: dict[str, str] = {}

    def baseline(key: str) -> str:
        value = section[key]
        if not isinstance(value, str) or not value:
            raise fail(key, "a file path")
        return str(base / value)

    def switch(key: str) -> bool:
        value = section[key]
        if isinstance(value, str) and where == f"[{INI_SECTION}]":  # TOML has booleans
            value = _INI_BOOLEANS.get(value.lower(), value)
        if not isinstance(value, bool):
            raise fail(key, f"true or false, got {value!r}")
        return value

    readers: dict[str, Callable[[str], Any]] = {
        "session_types": lambda k: names(k, _is_dotted, "fully qualified class names"),
        "session_param_names": lambda k: names(k, str.isidentifier, "parameter names"),
        "scope_factories": lambda k: names(k, _is_dotted, "function names"),
        "session_providers": lambda k: names(k, _is_dotted, "decorator names"),
        "session_owners": lambda k: names(k, _is_dotted, "decorator names"),
        "commit_methods": lambda k: names(k, str.isidentifier, "method names"),
        "marker_stubs": paths,
        "guarded": guarded,
        "baseline": baseline,
        "legacy_model_typing": switch,
        "any_receiver_calls": switch,
    }
    values: dict[str, Any] = {}
    for key in section:
        reader = readers.get(key)
        if reader is None:
            raise ConfigError(
                f"{path}: {where} unknown key {key!r}; expected one of: "
                + ", ".join(sorted(readers))
            )
        values[key] = reader(key)
    if "session_param_names" in values and not values["session_param_names"]:
        raise fail("session_param_names", "at least one parameter name")
    if uses:
        values["guarded_use"] = uses
    return SessionConfig(config_file=path, **values)
