"""The instruction counts of benchmarks/overhead.py and realcode.py: what is counted, what
is printed, and bad input.

valgrind itself is not run here (one counted run takes minutes): the counting function is
replaced by one that records what it was asked to count, or `valgrind` on PATH by a script
that runs the command and writes a made-up count where callgrind writes its own."""

from __future__ import annotations

import importlib.util
import os
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

    def callgrind(
        args: list[str], cwd: Path, env: dict[str, str], out_file: Path | None = None
    ) -> int:
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

    def count(
        corpus: Path, config: Path, cache_dir: Path, *, warm: bool = False, out_file: Path | None = None
    ) -> int:
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


def _load(monkeypatch: pytest.MonkeyPatch, name: str) -> ModuleType:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec = importlib.util.spec_from_file_location(f"{name}_under_test", ROOT / "benchmarks" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


FAKE_VALGRIND = """#!/bin/sh
log=""
while [ "${1#--}" != "$1" ]; do
  case "$1" in --log-file=*) log="${1#--log-file=}";; esac
  shift
done
"$@"
status=$?
echo "==1== I   refs:      1,234,567" > "$log"
exit $status
"""


def _fake_valgrind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    valgrind = bin_dir / "valgrind"
    valgrind.write_text(FAKE_VALGRIND)
    valgrind.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")


def test_a_count_is_read_from_callgrinds_own_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    instructions = _load(monkeypatch, "instructions")
    _fake_valgrind(tmp_path, monkeypatch)
    count = instructions.callgrind_run(["--version"], tmp_path, dict(os.environ))
    assert count.instructions == 1234567
    assert count.returncode == 0
    assert "mypy" in count.stdout  # mypy's own output, valgrind's lines kept apart


def test_a_mypy_that_fails_under_callgrind_is_an_error_not_a_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instructions = _load(monkeypatch, "instructions")
    _fake_valgrind(tmp_path, monkeypatch)
    with pytest.raises(instructions.MypyFailed, match="exited with status 2"):
        instructions.callgrind_run(["--no-such-option"], tmp_path, dict(os.environ))


def test_the_compiled_module_count_is_read_from_hatch_build(monkeypatch: pytest.MonkeyPatch) -> None:
    instructions = _load(monkeypatch, "instructions")
    text = (ROOT / "hatch_build.py").read_text(encoding="utf-8")
    assert instructions.expected_compiled() == text.count('    "mypy_session/')


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "prefect", "--paths", "airflow/models"], "not inside the package 'prefect'"),
        (["--paths", "prefect/server"], "--paths needs one --target"),
        (["--target", "prefect", "--paths", " , "], "--paths: no path given"),
        (["--jobs", "2"], "--jobs only with --instructions"),
        (["--mode", "cold"], "--mode only with --instructions"),
        (["--instructions", "--jobs", "0"], "--jobs must be at least 1"),
        (["--instructions", "--callgrind-out", "/nonexistent/dir"], "is not a directory"),
        (["--compiled", "--plugin-root", "/tmp"], "leave out --plugin-root"),
        (["--plugin-root", "/nonexistent"], "no mypy_session package"),
        (["--instructions", "--variants", "plugin,other"], "--variants: plain, plugin"),
        (["--variants", "plugin"], "--variants only with --instructions"),
    ],
)
def test_realcode_bad_input_is_one_line_and_exit_2(
    argv: list[str], message: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    realcode = _load(monkeypatch, "realcode")
    with pytest.raises(SystemExit) as exit_info:
        realcode.parse_args(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err


def test_realcode_counts_one_valgrind_at_a_time_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    realcode = _load(monkeypatch, "realcode")
    args = realcode.parse_args(["--target", "prefect", "--instructions", "--paths", "prefect/server/models"])
    assert args.jobs == 1
    assert args.paths == ("prefect/server/models",)


@pytest.mark.parametrize(
    "argv",
    [["--instructions", "--jobs", "0"], ["--instructions", "--variants", "x"], ["--variants", "plugin"]],
)
def test_overhead_bad_instruction_options_are_exit_2(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    overhead = _overhead(monkeypatch)
    with pytest.raises(SystemExit) as exit_info:
        overhead.parse_args(argv)
    assert exit_info.value.code == 2


def test_overhead_counts_only_the_variants_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    overhead = _overhead(monkeypatch)
    calls: list[str] = []

    def count(
        corpus: Path, config: Path, cache_dir: Path, *, warm: bool = False, out_file: Path | None = None
    ) -> int:
        calls.append(config.stem)
        return 5

    monkeypatch.setattr(overhead, "count_instructions", count)
    monkeypatch.setattr(overhead.compileall, "compile_dir", lambda *args, **kwargs: True)
    monkeypatch.setattr(overhead.shutil, "which", lambda name: "/usr/bin/valgrind")
    configs = {variant: tmp_path / f"{variant}.ini" for variant in overhead.VARIANTS}
    workdir = tmp_path / "work"
    workdir.mkdir()
    bench = overhead.Bench(tmp_path, configs, workdir)
    assert overhead.report_instructions(bench, configs, ("cold",), 1, None, ("plugin",)) == 0
    assert calls == ["plugin"]
    assert "one cold run: plugin 5" in capsys.readouterr().out
