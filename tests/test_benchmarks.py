"""The instruction counts of benchmarks/overhead.py: what is counted, and what is printed.

valgrind itself is not run here (one counted run takes minutes); the counting function is
replaced by one that records what it was asked to count."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _overhead(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))  # its sibling corpus.py
    spec = importlib.util.spec_from_file_location("overhead_under_test", ROOT / "benchmarks" / "overhead.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look it up by name
    spec.loader.exec_module(module)
    return module


def _corpus(tmp_path: Path, overhead: ModuleType) -> tuple[Path, Path]:
    corpus = tmp_path / "corpus"
    (corpus / overhead.PACKAGE).mkdir(parents=True)
    (corpus / overhead.PACKAGE / "__init__.py").write_text("x: int = 1\n")
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n")
    return corpus, config


def test_a_warm_count_runs_on_a_cache_an_uncounted_run_has_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    overhead = _overhead(monkeypatch)
    corpus, config = _corpus(tmp_path, overhead)
    seen: list[bool] = []

    def callgrind(args: list[str], cwd: Path, env: dict[str, str]) -> int:
        cache_dir = Path(args[args.index("--cache-dir") + 1])
        seen.append(any(cache_dir.iterdir()))
        return 7

    monkeypatch.setattr(overhead, "callgrind_mypy", callgrind)
    cold_cache, warm_cache = tmp_path / "cold", tmp_path / "warm"
    cold_cache.mkdir()
    warm_cache.mkdir()
    assert overhead.count_instructions(corpus, config, cold_cache) == 7
    assert overhead.count_instructions(corpus, config, warm_cache, warm=True) == 7
    assert seen == [False, True]  # the cold count starts empty, the warm one on a cache


@pytest.mark.parametrize(
    ("mode", "printed"), [("cold", ["cold"]), ("warm", ["warm"]), ("both", ["cold", "warm"])]
)
def test_each_mode_asked_for_prints_its_ratio(
    mode: str, printed: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overhead = _overhead(monkeypatch)
    counts = {"plain": 1000, "plugin": 1012}
    calls: list[tuple[str, bool]] = []

    def count(corpus: Path, config: Path, cache_dir: Path, *, warm: bool = False) -> int:
        variant = config.stem
        calls.append((variant, warm))
        return counts[variant]

    monkeypatch.setattr(overhead, "count_instructions", count)
    monkeypatch.setattr(overhead.shutil, "which", lambda name: "/usr/bin/valgrind")
    monkeypatch.setattr(overhead.compileall, "compile_dir", lambda *args, **kwargs: True)
    workdir = tmp_path / "work"
    workdir.mkdir()
    configs = {variant: tmp_path / f"{variant}.ini" for variant in overhead.VARIANTS}
    bench = overhead.Bench(tmp_path, configs, workdir)
    modes = ("cold", "warm") if mode == "both" else (mode,)
    assert overhead.report_instructions(bench, configs, modes) == 0
    out = capsys.readouterr().out
    for m in printed:
        assert f"plugin/plain ({m}): 1.0120" in out
    assert sorted(calls) == sorted((v, m == "warm") for v in overhead.VARIANTS for m in printed)
