"""A census of dropped sessions on real code: remove each forwarded session in turn and
count the sites the plugin reports at their line.

For a source tree (a copy of a public project, e.g. made by ``realcode.py`` or by copying
an installed package out of ``site-packages``) and a mypy config that loads the plugin as
a user would, the script

1. copies the tree to a work directory, so the original is never edited;
2. runs mypy once on the unmodified code (the findings a user sees on day one; written
   out for review by hand);
3. finds every *forwarding site*: a call passing a keyword argument named like a session
   parameter (``session_param_names``, default ``session``) whose value is a name or an
   attribute (``session=session``, ``session=self.session``);
4. removes those keyword arguments in batches of independent removals (never two on one
   line, so nested calls are apart; with ``--per-function``, at most one site of a
   function per batch) and runs mypy once per batch, with the cache of the previous run,
   restoring the files after each batch;
5. classifies each site: *required* when mypy itself reports the call without it
   (``call-arg``, or ``call-overload`` when no overload item is left: the callee's
   session parameter has no default and mypy sees it), *ambiguous* when the unmodified
   code already has a finding of the plugin on that line, *splat* when the call also
   passes ``*args`` or ``**kwargs`` (SPEC section 4: forwarding through a splat is never
   flagged, so the keyword is not removed), else *optional*; and *reported* when the
   modified run has a new finding of the plugin on that line.

Recall is reported / optional. Every site is written out with its verdict, so that the
misses can be read. Usage::

    python benchmarks/census.py --src /tmp/rucio-src --config rucio.ini \\
        --paths rucio/core rucio/gateway --out benchmarks/results/census-rucio

Exit status 0 when the runs completed, 2 when the set-up fails (one line saying why).
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path

ERROR = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): error: (?P<message>.*?)  \[(?P<code>[a-z-]+)\]$")
PLUGIN_CODE = re.compile(r"^(session-[a-z-]+|service-boundary)$")
# mypy's own errors for a call that lacks a required argument.
REQUIRED_CODES = frozenset(("call-arg", "call-overload"))


@dataclass
class Site:
    path: str  # relative to the source tree
    line: int  # the call's first line, where mypy reports it
    function: str
    callee: str
    keyword: str
    text: str  # the keyword argument as written
    start: tuple[int, int] = (0, 0)  # (line, column) of the text to remove
    end: tuple[int, int] = (0, 0)
    batch: int = -1
    verdict: str = ""  # reported, missed, required, ambiguous, splat
    splat: bool = False  # the call passes *args or **kwargs too
    finding: str = ""


@dataclass
class Census:
    src: str
    paths: list[str]
    sites: list[Site] = field(default_factory=list)
    baseline: list[str] = field(default_factory=list)
    seconds: float = 0.0
    batches: int = 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--src", required=True, type=Path, help="the source tree (left untouched)")
    parser.add_argument("--config", required=True, type=Path, help="mypy config loading the plugin")
    parser.add_argument("--paths", required=True, nargs="+", help="what mypy checks, relative to --src")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mypy-session-census"))
    parser.add_argument("--names", nargs="+", default=["session"], help="session parameter names")
    parser.add_argument("--out", type=Path, required=True, help="output prefix (.json and .md are added)")
    parser.add_argument("--python", default=sys.executable, help="the Python whose mypy runs")
    parser.add_argument("--max-batches", type=int, default=0, help="stop after this many batches (0: all)")
    parser.add_argument("--per-function", action="store_true", help="one site per function per batch")
    args = parser.parse_args(argv)
    if not args.src.is_dir() or not args.config.is_file():
        print(f"census: error: {args.src} must be a directory and {args.config} a file", file=sys.stderr)
        return 2

    work = args.work.resolve()
    tree = work / "src"
    if tree.exists():
        shutil.rmtree(tree)
    shutil.copytree(args.src, tree, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    config = args.config.resolve()
    cache = work / "cache"
    if cache.exists():
        shutil.rmtree(cache)
    census = Census(src=str(args.src), paths=list(args.paths))
    started = time.monotonic()

    def mypy() -> list[dict[str, str]]:
        proc = subprocess.run(
            [args.python, "-m", "mypy", "--config-file", str(config), "--cache-dir", str(cache),
             "--no-pretty", "--show-error-codes", "--no-error-summary", *args.paths],
            cwd=tree, capture_output=True, text=True,
        )
        if proc.returncode >= 2 or "INTERNAL ERROR" in proc.stdout + proc.stderr:
            raise SystemExit(f"census: error: mypy crashed:\n{proc.stderr[-2000:]}{proc.stdout[-2000:]}")
        found = []
        for line in proc.stdout.splitlines():
            match = ERROR.match(line)
            if match:
                found.append(match.groupdict())
        return found

    baseline = mypy()
    census.baseline = [f"{e['path']}:{e['line']}: {e['message']}  [{e['code']}]" for e in baseline if PLUGIN_CODE.match(e["code"])]
    flagged = {(e["path"], int(e["line"])) for e in baseline if PLUGIN_CODE.match(e["code"])}
    before_call_arg = {(e["path"], int(e["line"])) for e in baseline if e["code"] in REQUIRED_CODES}

    for path in _python_files(tree, args.paths):
        census.sites.extend(_sites(tree, path, frozenset(args.names)))
    _plan(census.sites, per_function=args.per_function)
    originals: dict[str, str] = {}
    by_batch: dict[int, list[Site]] = defaultdict(list)
    for site in census.sites:
        if (site.path, site.line) in flagged:
            site.verdict = "ambiguous"
        elif site.splat:
            site.verdict = "splat"
        else:
            by_batch[site.batch].append(site)
    for number in sorted(by_batch):
        if args.max_batches and number >= args.max_batches:
            for site in by_batch[number]:
                site.verdict = "not run"
            continue
        sites = by_batch[number]
        for path, edits in _group(sites).items():
            file = tree / path
            originals.setdefault(path, file.read_text(encoding="utf-8"))
            file.write_text(_remove(originals[path], edits), encoding="utf-8")
        try:
            errors = mypy()
        finally:
            for path in _group(sites):
                (tree / path).write_text(originals[path], encoding="utf-8")
        census.batches += 1
        at: dict[tuple[str, int], list[dict[str, str]]] = defaultdict(list)
        for e in errors:
            at[(e["path"], int(e["line"]))].append(e)
        for site in sites:
            here = at.get((site.path, site.line), [])
            plugin = [e for e in here if PLUGIN_CODE.match(e["code"])]
            if any(e["code"] in REQUIRED_CODES for e in here) and (site.path, site.line) not in before_call_arg:
                site.verdict = "required"
            elif plugin:
                site.verdict = "reported"
                site.finding = f"{plugin[0]['message']}  [{plugin[0]['code']}]"
            else:
                site.verdict = "missed"
        print(f"batch {number}: {len(sites)} sites, {sum(s.verdict == 'reported' for s in sites)} reported", file=sys.stderr)
    census.seconds = round(time.monotonic() - started, 1)
    _write(census, args.out)
    return 0


def _python_files(tree: Path, paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for item in paths:
        target = tree / item
        found.extend(sorted(target.rglob("*.py")) if target.is_dir() else [target])
    return found


def _sites(tree: Path, path: Path, names: frozenset[str]) -> list[Site]:
    source = path.read_text(encoding="utf-8")
    try:
        module = ast.parse(source)
    except SyntaxError:
        return []
    relative = str(path.relative_to(tree))
    found: list[Site] = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(child, f"{function}.{child.name}" if function else child.name)
                continue
            if isinstance(child, ast.ClassDef):
                visit(child, f"{function}.{child.name}" if function else child.name)
                continue
            if isinstance(child, ast.Call) and function:
                for keyword in child.keywords:
                    if keyword.arg in names and isinstance(keyword.value, (ast.Name, ast.Attribute)):
                        found.append(
                            Site(
                                path=relative,
                                line=child.lineno,
                                function=function,
                                callee=ast.unparse(child.func),
                                keyword=keyword.arg,
                                text=ast.get_source_segment(source, keyword) or "",
                                start=(keyword.lineno, keyword.col_offset),
                                end=(keyword.end_lineno or keyword.lineno, keyword.end_col_offset or 0),
                                splat=any(isinstance(a, ast.Starred) for a in child.args)
                                or any(k.arg is None for k in child.keywords),
                            )
                        )
            visit(child, function)

    visit(module, "")
    return found


def _plan(sites: list[Site], *, per_function: bool = False) -> None:
    """Batch numbers. By default two sites on one line never share a batch (nested calls),
    and otherwise every site is removed at once: a dropped session is reported at its own
    call whatever the other calls of the function pass. `per_function` (slower, one mypy
    run per site of the busiest function) puts at most one site of a function in a batch."""
    per_key: dict[tuple[str, str], int] = defaultdict(int)
    lines: dict[tuple[int, str, int], bool] = {}
    for site in sites:
        key = (site.path, site.function if per_function else "")
        number = per_key[key] if per_function else 0
        while (number, site.path, site.line) in lines:
            number += 1
        lines[(number, site.path, site.line)] = True
        if per_function:
            per_key[key] = number + 1
        site.batch = number


def _group(sites: list[Site]) -> dict[str, list[Site]]:
    grouped: dict[str, list[Site]] = defaultdict(list)
    for site in sites:
        grouped[site.path].append(site)
    return grouped


def _remove(source: str, sites: list[Site]) -> str:
    """The source without each site's keyword argument and one comma next to it, on the
    keyword's own lines: no line break is removed, so every later site keeps its line
    number (mypy reports at the call's line, and the verdict is read there). A keyword
    alone on its line after `a,` leaves `f(a,\\n)`, which is valid Python."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))

    def offset(pos: tuple[int, int]) -> int:
        # ast columns are UTF-8 byte offsets
        line = lines[pos[0] - 1]
        return offsets[pos[0] - 1] + len(line.encode("utf-8")[: pos[1]].decode("utf-8", "replace"))

    text = source
    for site in sorted(sites, key=lambda s: s.start, reverse=True):
        start, end = offset(site.start), offset(site.end)
        before = start - 1
        while before >= 0 and text[before] in " \t":
            before -= 1
        if before >= 0 and text[before] == ",":
            start = before
        else:
            after = end
            while after < len(text) and text[after] in " \t":
                after += 1
            if after < len(text) and text[after] == ",":
                end = after + 1
                while end < len(text) and text[end] in " \t":
                    end += 1
        text = text[:start] + text[end:]
    return text


def _write(census: Census, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = defaultdict(int)
    for site in census.sites:
        counts[site.verdict] += 1
    optional = counts["reported"] + counts["missed"]
    recall = counts["reported"] / optional if optional else 0.0
    data = {
        "src": census.src,
        "paths": census.paths,
        "sites": len(census.sites),
        "counts": dict(counts),
        "optional": optional,
        "recall": round(recall, 4),
        "batches": census.batches,
        "seconds": census.seconds,
        "baseline_findings": census.baseline,
        "all_sites": [asdict(site) for site in census.sites],
    }
    out.with_suffix(".json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    lines = [
        f"# Census: {census.src} ({' '.join(census.paths)})",
        "",
        f"- forwarding sites: {len(census.sites)}; batches: {census.batches}; {census.seconds} s",
        f"- required (mypy's own call-arg / call-overload without it): {counts['required']}",
        f"- splat (the call passes *args / **kwargs too: forwarded, SPEC section 4): {counts['splat']}",
        f"- ambiguous (a finding on the line before any removal): {counts['ambiguous']}",
        f"- optional: {optional}; reported: {counts['reported']}; missed: {counts['missed']}",
        f"- **recall: {recall:.1%}**",
        "",
        "## Missed sites",
        "",
    ]
    lines += [f"- `{s.path}:{s.line}` `{s.callee}(... {s.text})` in `{s.function}`" for s in census.sites if s.verdict == "missed"]
    lines += ["", f"## Findings on the unmodified code ({len(census.baseline)})", ""]
    lines += [f"- `{finding}`" for finding in census.baseline]
    out.with_suffix(".md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{optional} optional sites, {counts['reported']} reported: recall {recall:.1%}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
