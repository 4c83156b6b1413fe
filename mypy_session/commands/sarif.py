"""SARIF 2.1.0 output, for code-scanning upload (`audit --format sarif`,
`check --format sarif`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from mypy.errorcodes import error_codes

from mypy_session.version import __version__

SCHEMA: Final = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS: Final = {"error": "error", "warning": "warning", "note": "note"}
_DOCS: Final = "docs/error_codes"


@dataclass(frozen=True, slots=True)
class Result:
    code: str | None
    path: str
    line: int  # 1-based
    column: int  # 1-based, 0 when unknown
    message: str
    severity: str = "error"
    fingerprint: str | None = None


def log(results: Iterable[Result], *, extra_rules: dict[str, str] | None = None) -> dict[str, Any]:
    """A SARIF log with one run; a rule for every code that occurs, with help text."""
    results = list(results)
    root = Path(os.getcwd()).as_uri() + "/"
    codes = sorted({r.code or "misc" for r in results})
    index = {code: i for i, code in enumerate(codes)}
    rules = [_rule(code, (extra_rules or {}).get(code)) for code in codes]
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mypy-session",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/mypy-session/",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"SRCROOT": {"uri": root}},
                "results": [_result(r, index[r.code or "misc"]) for r in results],
            }
        ],
    }


def _rule(code: str, description: str | None) -> dict[str, Any]:
    known = error_codes.get(code)
    text = description or (known.description if known is not None else code)
    rule: dict[str, Any] = {
        "id": code,
        "name": "".join(part.capitalize() for part in code.split("-")),
        "shortDescription": {"text": text},
        "fullDescription": {"text": text},
        "defaultConfiguration": {"level": "error"},
    }
    if code.startswith("session-") or code == "service-boundary":
        page = f"{_DOCS}/{code}.md"
        rule["help"] = {
            "text": f"{text}. See {page} in the mypy-session documentation.",
            "markdown": f"{text}. See [`{page}`]({page}).",
        }
    else:
        rule["help"] = {
            "text": f"{text} (a mypy check; see mypy's list of error codes).",
        }
    return rule


def _result(result: Result, rule_index: int) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": max(1, result.line)}
    if result.column > 0:
        region["startColumn"] = result.column
    item: dict[str, Any] = {
        "ruleId": result.code or "misc",
        "ruleIndex": rule_index,
        "level": _LEVELS.get(result.severity, "error"),
        "message": {"text": result.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": _uri(result.path), "uriBaseId": "SRCROOT"},
                    "region": region,
                }
            }
        ],
    }
    if result.fingerprint is not None:
        item["partialFingerprints"] = {"mypySession/v1": result.fingerprint}
    return item


def _uri(path: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path))
    except ValueError:
        return Path(os.path.abspath(path)).as_uri()
    return Path(rel).as_posix()
