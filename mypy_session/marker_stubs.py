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
import hashlib
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


def load_markers(directories: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """{module: {fullname: marker}} from every `.pyi` under the directories."""
    found: dict[str, dict[str, str]] = {}
    for directory in directories:
        root = Path(directory)
        for path in sorted(root.rglob("*.pyi")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if not parts:
                continue
            module = ".".join(parts)
            found.setdefault(module, {}).update(_markers_in(path, module))
    return found


def digest(markers: dict[str, str]) -> str:
    """A short fingerprint of one module's stub markers, for mypy's cache key."""
    text = "\n".join(f"{name}={kind}" for name, kind in sorted(markers.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


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
