"""CLI ``python -m envs.polytopes.check``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from envs.polytopes.check import main, read_blocks

REPO = Path(__file__).resolve().parents[2]


def _run_check(*argv: str, **kwargs) -> subprocess.CompletedProcess[str]:
    """``python -m envs.polytopes.check *argv`` from the repository root (text output)."""
    return subprocess.run(
        [sys.executable, "-m", "envs.polytopes.check", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        **kwargs,
    )


def test_read_blocks() -> None:
    assert read_blocks("1 0\n0 1\n\n\n2 3\n  \n4") == ["1 0\n0 1", "2 3", "4"]
    assert read_blocks("\n\n") == []


def test_cli_json_lines(tmp_path, capsys) -> None:
    path = tmp_path / "matrices.txt"
    path.write_text(
        "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1\n\n1 0\n0 1\n\n1 x\n\n1 1\n-1 1\n1 -1\n-1 -1\n"
    )
    assert main([str(path), "--workers", "1", "--no-progress", "--summary"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["block"] for r in records] == [0, 1, 2, 3]
    assert records[0]["all"] is True
    assert records[1]["compact"] is False and records[1]["reason"].startswith("not compact")
    assert records[2]["parseable"] is False
    assert records[3]["lattice"] is True and records[3]["smooth"] is False
    assert json.loads(captured.err.strip().splitlines()[-1])["all"] == 1


def test_cli_subprocess_vertices(tmp_path) -> None:
    path = tmp_path / "v.txt"
    path.write_text("1 0\n0 1\n-1 -1\n\n1 0\n1 1\n0 1\n-1 0\n-1 -1\n0 -1\n")
    result = _run_check(
        str(path), "--representation", "vertices", "--no-progress", "--workers", "2", check=True
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["smooth"] for r in records] == [False, True]
    assert records[1]["all"] is True


def test_cli_unknown_normality_is_null(tmp_path, capsys) -> None:
    # The diamond x square is not smooth, so "auto" computes normality exactly; the cube
    # is smooth reflexive (normal by the classification). "skip" leaves it unknown.
    path = tmp_path / "m.txt"
    path.write_text("1 1\n-1 1\n1 -1\n-1 -1\n\n1 0\n-1 0\n0 1\n0 -1\n")
    assert main([str(path), "--workers", "1", "--no-progress", "--summary"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["all"] for r in records] == [False, True] and records[0]["normal"] is True
    assert main([str(path), "--workers", "1", "--no-progress", "--normality", "skip"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["all"] for r in records] == [False, None] and records[1]["normal"] is None
    assert main([str(path), "--workers", "1", "--no-progress", "--time-limit", "none"]) == 0


def test_cli_usage_errors(tmp_path) -> None:
    for argv in ([str(tmp_path / "missing.txt")], ["-", "--time-limit", "soon"]):
        result = _run_check(*argv, input="")
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert "missing.txt" in _run_check(str(tmp_path / "missing.txt")).stderr.splitlines()[-1]


def test_cli_empty_input_is_an_error_not_silence(tmp_path) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n")
    for argv, stdin, name in (([str(empty)], None, str(empty)), (["-"], "", "standard input")):
        result = _run_check(*argv, input=stdin)
        assert result.returncode == 2 and result.stdout == ""
        assert result.stderr.strip().splitlines() == [f"error: no polytopes in {name}"]
    missing = _run_check(str(tmp_path / "missing.txt"))
    assert missing.stderr.strip() == f"error: {tmp_path / 'missing.txt'}: No such file or directory"
    debug = _run_check(str(empty), "--debug")
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_cli_six_dimensional_large_entries_finish(tmp_path) -> None:
    # e_1..e_6 and one row of large entries: vertex enumeration in a time-limited worker,
    # normality "auto"; the answer comes in seconds (it once ran for over 5 minutes).
    rows = [[int(i == j) for j in range(6)] for i in range(6)]
    rows.append([-997, -1000, -991, -983, -999, -977])
    path = tmp_path / "m.txt"
    path.write_text("\n".join(" ".join(map(str, row)) for row in rows) + "\n")
    argv = ("--workers", "1", "--normality", "auto", "--time-limit", "20")
    result = _run_check(str(path), "--no-progress", *argv, "--enumeration-time-limit", "20")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["compact"] is True and record["lattice"] is False and record["all"] is False
    assert "4949/999" in record["reason"]  # a reduced fraction


def test_cli_time_limit_in_pool_workers(tmp_path, figure_1_left) -> None:
    path = tmp_path / "m.txt"
    hexagon = "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1"
    path.write_text("\n\n".join([figure_1_left, hexagon, figure_1_left, hexagon]) + "\n")
    argv = ("--workers", "2", "--normality", "exact", "--time-limit", "1", "--summary")
    result = _run_check(str(path), "--no-progress", *argv, check=True)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["all"] for r in records] == [None, True, None, True]
    assert "time limit 1s exceeded" in records[0]["reason"]
    summary = json.loads(result.stderr.strip().splitlines()[-1])
    assert summary["all"] == 2 and summary["all_unknown"] == 2
    assert summary["unknown"]["normal"] == 2


@pytest.mark.parametrize(
    ("module", "argv"),
    [
        ("envs.polytopes.check", ["--workers", "abc", "-"]),
        ("baselines.polytopes.generation_table", ["--d", "x"]),
        ("baselines.polytopes.env_speed", ["--dims", "9"]),
        ("baselines.polytopes.env_speed", ["--bogus"]),
        ("agents.sequence.finetune", ["--checkpoint", "x", "--out", "y", "--bogus"]),
        ("agents.sequence.sample", ["--n", "abc"]),
    ],
)
def test_argparse_errors_are_one_line_and_exit_2(module: str, argv: list[str], capsys) -> None:
    from envs.cli import run_cli

    with pytest.raises(SystemExit) as exit_info:
        run_cli(importlib.import_module(module).main, argv)
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
