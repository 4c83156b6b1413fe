"""The bundled example (examples/bakery): every planted mistake of an implemented check is
reported on its marked line with its code, and nothing else is flagged.

Planted mistakes carry an end-of-line `# planted: <code>` comment on the reported line.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import run

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "bakery"

# The codes the plugin reports (all of them).
REPORTED_AS = {
    code: code
    for code in (
        "session-not-forwarded",
        "session-read-not-forwarded",
        "session-nested-scope",
        "session-mismatch",
        "session-borrowed-commit",
        "session-detached-use",
        "session-callee-opens-scope",
        "session-detached-return",
        "session-missing-param",
        "service-boundary",
    )
}

_PLANTED = re.compile(r"#\s*planted:\s*([a-z-]+)")
_ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[a-z-]+)\]$")


def planted() -> set[tuple[str, int, str]]:
    found = set()
    for path in sorted((EXAMPLE / "bakery").rglob("*.py")):
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            match = _PLANTED.search(text)
            if match and match.group(1) in REPORTED_AS:
                relative = path.relative_to(EXAMPLE).as_posix()
                found.add((relative, number, REPORTED_AS[match.group(1)]))
    return found


def test_example_reports_exactly_the_planted_mistakes(tmp_path: Path) -> None:
    # session-detached-return is on by default since 0.3.0: no flag needed.
    result = run(
        EXAMPLE, "check", "--cache-dir", str(tmp_path / "cache"), "bakery", module="mypy_session"
    )
    reported = set()
    for line in result.stdout.splitlines():
        match = _ERROR.match(line)
        if match:
            reported.add((match["path"], int(match["line"]), match["code"]))
    assert "Traceback" not in result.stdout + result.stderr
    expected = planted()
    assert len(expected) >= 22
    # A violation of each kind of `service-boundary`: =, +=, del, setattr, a guarded
    # method, update().values(), Query.update(), bulk_update_mappings().
    assert sum(1 for item in expected if item[2] == "service-boundary") == 7
    assert reported == expected, result.stdout
    assert result.status == 1
