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
import zlib
from collections.abc import Iterator
from pathlib import Path

from mypy_session import fullnames
from mypy_session.config import ConfigError


def shipped_stub_dir() -> Path | None:
    """The marker stubs that come with mypy-session (SQLAlchemy, SQLModel, Airflow)."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_stubs", here.parent / "stubs"):
        if candidate.is_dir():
            return candidate
    return None


def stub_directories(configured: tuple[str, ...]) -> tuple[str, ...]:
    """The shipped marker stubs first, then the configured directories."""
    shipped = shipped_stub_dir()
    return ((str(shipped),) if shipped else ()) + configured


def stub_files(directories: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    """(module, file) for every `.pyi` under the directories, mirroring module paths."""
    for directory in directories:
        root = Path(directory)
        for path in sorted(root.rglob("*.pyi")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts:
                yield ".".join(parts), path


def stub_fingerprints(configured: tuple[str, ...]) -> dict[str, str]:
    """{module: fingerprint of its marker stub files}: part of mypy's cache key for that
    module, so editing a stub invalidates the module and, through its interface hash,
    its dependents. Reads bytes only: a run with nothing to check parses no stub."""
    found: dict[str, int] = {}
    for module, path in stub_files(stub_directories(configured)):
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"marker stub {path}: cannot read it: {exc}") from None
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


def _markers_in(path: Path, module: str) -> dict[str, str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"marker stub {path}: cannot read it: {exc}") from None
    except SyntaxError as exc:
        raise ConfigError(f"marker stub {path}:{exc.lineno}: does not parse: {exc.msg}") from None
    markers: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            _mark(node, f"{module}.{node.name}", markers)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    _mark(item, f"{module}.{node.name}.{item.name}", markers)
    return markers


def _mark(node: ast.FunctionDef | ast.AsyncFunctionDef, fullname: str, out: dict[str, str]) -> None:
    for decorator in node.decorator_list:
        name = decorator.attr if isinstance(decorator, ast.Attribute) else getattr(decorator, "id", "")
        kind = fullnames.MARKER_NAMES.get(name)
        if kind is not None:
            out[fullname] = kind
