"""Marker stubs: `.pyi` files that mark functions of code the user does not edit.

    stubs/airflow/utils/session.pyi
        from mypy_session import ScopeOpener
        @ScopeOpener
        def create_session(scoped: bool = True): ...

Files mirror module paths (`pkg/mod.pyi` or `pkg/mod/__init__.pyi`). The plugin reads them
itself with Python's `ast` module: mypy's own view of those modules is unchanged. Only
decorators naming a marker (`@ReadOnly`, `@mypy_session.ReadOnly`...) on module-level
functions and on methods of module-level classes count.
"""

from __future__ import annotations

import ast
import os
import zlib
from collections.abc import Iterator

from mypy_session import fullnames
from mypy_session.config import ConfigError


def shipped_stub_dir() -> str | None:
    """The marker stubs that come with mypy-session (SQLAlchemy, SQLModel, Airflow)."""
    here = os.path.dirname(os.path.abspath(__file__))
    for candidate in (os.path.join(here, "_stubs"), os.path.join(os.path.dirname(here), "stubs")):
        if os.path.isdir(candidate):
            return candidate
    return None


def stub_directories(configured: tuple[str, ...]) -> tuple[str, ...]:
    """The shipped marker stubs first, then the configured directories."""
    shipped = shipped_stub_dir()
    return ((shipped,) if shipped else ()) + configured


def stub_files(directories: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    """(module, file) for every `.pyi` under the directories, mirroring module paths, in a
    stable order. `os.scandir` rather than `Path.rglob`: every run, warm ones too, walks
    these directories, and pathlib's globbing costs more than the rest of a warm run's
    plugin start. A directory named `x.pyi` is yielded too (reading it then fails with a
    clear message) and walked into, as `rglob` would."""
    for directory in directories:
        yield from _walk(directory, ())


def _walk(directory: str, package: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda entry: entry.name)
    except OSError as exc:
        raise ConfigError(f"marker stub directory {directory}: cannot read it: {exc.strerror or exc}") from None
    for entry in entries:
        name = entry.name
        if name.endswith(".pyi"):
            stem = name[:-4]
            parts = package if stem == "__init__" else (*package, stem)
            if parts:
                yield ".".join(parts), entry.path
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(entry.path, (*package, name))


def stub_fingerprints(configured: tuple[str, ...]) -> dict[str, str]:
    """{module: fingerprint of its marker stub files}: part of mypy's cache key for that
    module, so editing a stub invalidates the module and, through its interface hash,
    its dependents. Reads bytes only: a run with nothing to check parses no stub."""
    found: dict[str, int] = {}
    for module, path in stub_files(stub_directories(configured)):
        try:
            with open(path, "rb") as file:
                data = file.read()
        except OSError as exc:
            raise ConfigError(f"marker stub {path}: cannot read it: {exc.strerror or exc}") from None
        found[module] = zlib.crc32(data, found.get(module, 0))
    return {module: f"{value:08x}" for module, value in found.items()}


def check_configured_stubs(configured: tuple[str, ...]) -> None:
    """Parse the project's own marker stubs (the shipped ones are known good): one that
    does not parse raises `ConfigError` at plugin load, whether or not a hook runs."""
    for module, path in stub_files(configured):
        _markers_in(path, module)


def load_markers(configured: tuple[str, ...]) -> dict[str, str]:
    """{fullname: marker} from every marker stub, shipped and configured."""
    markers: dict[str, str] = {}
    for module, path in stub_files(stub_directories(configured)):
        markers.update(_markers_in(path, module))
    return markers


def _markers_in(path: str, module: str) -> dict[str, str]:
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read(), filename=path)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"marker stub {path}: cannot read it: {_one_line(exc)}") from None
    except SyntaxError as exc:
        where = f"{path}:{exc.lineno}" if exc.lineno else path  # a NUL byte has no line
        raise ConfigError(f"marker stub {where}: does not parse: {exc.msg}") from None
    except ValueError as exc:  # a NUL byte, on Python versions that say so this way
        raise ConfigError(f"marker stub {path}: does not parse: {_one_line(exc)}") from None
    except (RecursionError, MemoryError):  # nested too deeply for Python's parser
        raise ConfigError(f"marker stub {path}: does not parse: nested too deeply") from None
    markers: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _mark(node, f"{module}.{node.name}", markers)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    _mark(item, f"{module}.{node.name}.{item.name}", markers)
    return markers


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _mark(node: ast.FunctionDef | ast.AsyncFunctionDef, fullname: str, out: dict[str, str]) -> None:
    for decorator in node.decorator_list:
        name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", "")
        kind = fullnames.MARKER_NAMES.get(name)
        if kind is not None:
            out[fullname] = kind
