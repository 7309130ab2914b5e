"""The ``polygym`` command (:mod:`envs.commands`) and the bad-input errors of the CLIs.

Subprocess tests use the installed ``polygym`` script when the venv has it (``pip install
-e .`` creates it) and ``python -m envs.commands`` otherwise; the per-command ``--help``
and bad-input tests run in this process, so torch is imported once.
"""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from envs.cli import run_cli
from envs.commands import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]
SCRIPT = shutil.which("polygym", path=str(Path(sys.executable).parent))
POLYGYM = [SCRIPT] if SCRIPT else [sys.executable, "-m", "envs.commands"]
HEXAGON = "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1\n"


def polygym(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``polygym *argv`` in a subprocess from the repository root (text output)."""
    return subprocess.run(
        [*POLYGYM, *argv], capture_output=True, text=True, cwd=REPO, timeout=timeout
    )


def run_main(argv: list[str], monkeypatch) -> int:
    """``polygym argv`` in this process; returns the exit status."""
    monkeypatch.setattr(sys, "argv", ["polygym", *argv])
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    code = exit_info.value.code
    return 0 if code is None else int(code)


def one_error_line(stderr: str) -> str:
    """The single ``error: ...`` line of ``stderr`` (asserts there is exactly one line)."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- the dispatcher ---------------------------------------------------------------------
def test_help_lists_every_command_and_imports_no_command() -> None:
    result = polygym("--help", timeout=60)
    assert result.returncode == 0, result.stderr
    for command in COMMANDS:
        line = next(x for x in result.stdout.splitlines() if x.startswith(f"  {command.name} "))
        assert len(line.split(maxsplit=len(command.name.split()))) > len(command.name.split())
    probe = (
        "import sys\nfrom envs.commands import main\ntry:\n    main(['--help'])\n"
        "except SystemExit:\n    pass\nprint(sorted({'torch', 'agents', 'baselines'} & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                            cwd=REPO, timeout=60, check=True).stdout.splitlines()[-1]
    assert loaded == "[]"


def test_commands_cover_the_issue_list() -> None:
    names = {command.name for command in COMMANDS}
    assert names == {
        "benchmark", "verify", "sherali-adams", "evaluate", "train-dqn", "train-sequence",
        "sample", "finetune", "check", "dataset", "generation-table", "regions count",
    }
    for command in COMMANDS:
        assert callable(importlib.import_module(command.module).main), command.module


@pytest.mark.parametrize("argv", [["nope"], ["regions"], ["regions", "nope"], []])
def test_unknown_or_missing_command_is_one_line_exit_2(argv, monkeypatch, capsys) -> None:
    assert run_main(argv, monkeypatch) == 2
    err = capsys.readouterr().err
    if argv:
        one_error_line(err)
    else:  # no command at all: the list of commands, on stderr
        assert "commands:" in err


def test_version(monkeypatch, capsys) -> None:
    assert run_main(["--version"], monkeypatch) == 0
    assert capsys.readouterr().out.startswith("polygym ")


def test_group_help(monkeypatch, capsys) -> None:
    assert run_main(["regions", "--help"], monkeypatch) == 0
    assert "regions count" in capsys.readouterr().out


@pytest.mark.parametrize("name", [command.name for command in COMMANDS])
def test_each_command_help_exits_0(name: str, monkeypatch, capsys) -> None:
    assert run_main([*name.split(), "--help"], monkeypatch) == 0
    usage = capsys.readouterr().out.lstrip().splitlines()[0]
    assert usage.startswith("usage: ")
    if name in ("benchmark", "sherali-adams", "check", "sample", "generation-table"):
        assert usage.startswith(f"usage: polygym {name} ")  # UsageParser shows the command


# -- real runs --------------------------------------------------------------------------
def test_check_runs_through_the_script(tmp_path) -> None:
    path = tmp_path / "hexagon.txt"
    path.write_text(HEXAGON)
    result = polygym("check", str(path), "--workers", "1", "--no-progress", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["all"] is True


def test_regions_count_runs(monkeypatch, capsys) -> None:
    argv = ["regions", "count", "--arch", "2,3,1", "--method", "exact"]
    assert run_main(argv, monkeypatch) == 0
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["method"] == "exact" and record["count"] >= 1


def test_debug_shows_the_traceback(tmp_path) -> None:
    missing = str(tmp_path / "missing.txt")
    plain = polygym("check", missing, timeout=60)
    assert plain.returncode == 2 and "missing.txt" in one_error_line(plain.stderr)
    debug = polygym("check", missing, "--debug", timeout=60)
    assert debug.returncode != 0 and "Traceback" in debug.stderr
    assert "UsageError" in debug.stderr


# -- one bad input per CLI ----------------------------------------------------------------
def _files(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "bad.col").write_text("p edge 3 1\ne 1 9\n")
    return {"tmp": str(tmp_path)}


BAD_INPUTS = [
    # (polygym argv or module:argv, fragment of the one error line)
    (["check", "{tmp}/missing.txt"], "missing.txt: No such file"),
    (["check", "{tmp}/empty.txt"], "no polytopes in"),
    (["check", "{tmp}/empty.txt", "--workers", "0"], "--workers"),
    (["benchmark", "--methods", "foo", "--out", "{tmp}/b.csv"], "unknown method 'foo'"),
    (["benchmark", "--graphs", "0", "--out", "{tmp}/b.csv"], "--graphs"),
    (["sherali-adams", "--dimacs", "{tmp}/missing.col", "--level", "2"], "missing.col"),
    (["sherali-adams", "--dimacs", "{tmp}/bad.col", "--level", "2"], "bad.col:2"),
    (["sherali-adams", "--random-n", "5", "--level", "0"], "--level"),
    (["sample", "--checkpoint", "{tmp}/none.pt", "--out", "{tmp}/s.txt"], "none.pt"),
    (["finetune", "--checkpoint", "{tmp}/none.pt", "--out", "{tmp}/ft"], "none.pt"),
    (["sample", "--checkpoint", "{tmp}/empty.txt", "--out", "{tmp}/s.txt"], "cannot load"),
    (["finetune", "--checkpoint", "{tmp}/empty.txt", "--out", "{tmp}/ft"], "cannot load"),
    (["train-sequence", "--config", "{tmp}/none.yaml"], "none.yaml"),
    (["generation-table", "--samples", "{tmp}/none.txt", "--d", "7"], "none.txt"),
    (["generation-table", "--samples", "{tmp}/empty.txt", "--d", "7"], "no polytopes in"),
    (["baselines.warm_start_benchmark", "--n", "8", "--max-memory", "10"], "--max-memory"),
    (["baselines.polytopes.benchmark", "--dims", "9"], "d=9"),
    (["baselines.polytopes.sensitivity", "--d", "9"], "d=9"),
    (["baselines.polytopes.env_speed", "--dims", "9"], "--dims"),
]


@pytest.mark.parametrize(("argv", "fragment"), BAD_INPUTS, ids=[" ".join(a[:2]) for a, _ in BAD_INPUTS])
def test_bad_input_is_one_line_exit_2(argv, fragment, tmp_path, monkeypatch, capsys) -> None:
    names = _files(tmp_path)
    argv = [word.format(**names) for word in argv]
    if "." in argv[0]:  # a module without a polygym command
        monkeypatch.setattr(sys, "argv", [argv[0]])
        with pytest.raises(SystemExit) as exit_info:
            run_cli(importlib.import_module(argv[0]).main, argv[1:])
        status = exit_info.value.code
    else:
        status = run_main(argv, monkeypatch)
    assert status == 2
    assert fragment in one_error_line(capsys.readouterr().err)


EXPERIMENT_CLIS = (
    "envs.polytopes.obro",
    "agents.dqn.benchmark_cache",
    "agents.regions.train",
    "baselines.regions.hoffman_bench",
    "baselines.regions.digits",
    "baselines.regions.fundamental_domain",
    "baselines.regions.picture",
    "baselines.regions.width_depth",
    "baselines.regions.evaluate_samplers",
    "baselines.regions.table3",
    "baselines.regions.pruning_rate",
)


@pytest.mark.parametrize("module", EXPERIMENT_CLIS)
def test_experiment_clis_report_bad_input_in_one_line(module: str) -> None:
    """Every experiment script goes through envs.cli: one stderr line, exit 2."""
    completed = subprocess.run(
        [sys.executable, "-m", module, "--no-such-option"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip().count("\n") == 0
    assert completed.stderr.startswith("error: ")


def test_int_list_option_errors_name_the_value() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "baselines.regions.width_depth", "--widths", "4,x"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 2
    assert "'4,x'" in completed.stderr and completed.stderr.count("\n") == 1
