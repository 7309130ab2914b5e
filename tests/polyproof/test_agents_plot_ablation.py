"""agents/plot_ablation.py: curves from run directories or CSV files, one PNG and a merged CSV."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from agents.plot_ablation import main, read_curve
from envs.cli import UsageError, run_cli

ROOT = Path(__file__).resolve().parents[2]


def _curve(path: Path, rows: list[tuple[int, float]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["step", "mean_bound", "wall_seconds"])
        writer.writerows((s, b, 1.0) for s, b in rows)
    return path


def test_plot_from_run_dir_and_csv(tmp_path: Path) -> None:
    _curve(tmp_path / "run_a" / "curve.csv", [(500, 5.0), (1000, 4.0), (1500, 3.5)])
    csv_b = _curve(tmp_path / "b.curve.csv", [(500, 6.0), (1000, 5.0)])
    assert read_curve(tmp_path / "run_a") == [(500, 5.0), (1000, 4.0), (1500, 3.5)]
    out = tmp_path / "plot" / "ablation.png"
    assert (
        main(
            [
                "--runs",
                str(tmp_path / "run_a"),
                str(csv_b),
                "--labels",
                "sym",
                "van",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.stat().st_size > 0
    with out.with_suffix(".csv").open(encoding="utf-8") as fh:
        merged = list(csv.DictReader(fh))
    assert [r["step"] for r in merged] == ["500", "1000"]  # cut at the shortest run
    assert merged[1] == {"step": "1000", "sym": "4.0", "van": "5.0"}


def test_plot_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="curve.csv"):
        read_curve(tmp_path / "missing")
    _curve(tmp_path / "empty.csv", [])
    with pytest.raises(ValueError, match="no rows"):
        read_curve(tmp_path / "empty.csv")
    with pytest.raises(UsageError, match="same length"):
        main(["--runs", str(tmp_path / "empty.csv"), "--labels", "a", "b"])


@pytest.mark.parametrize("case", ["missing_run", "empty_curve", "not_a_curve", "bad_value"])
def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys, case: str) -> None:
    run = tmp_path / "run"
    if case == "empty_curve":
        _curve(run / "curve.csv", [])
    elif case == "not_a_curve":
        run.mkdir()
        (run / "curve.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    elif case == "bad_value":
        run.mkdir()
        (run / "curve.csv").write_text("step,mean_bound\n500,abc\n", encoding="utf-8")
    argv = ["--runs", str(run), "--labels", "x", "--out", str(tmp_path / "a.png")]
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert "Traceback" not in err


@pytest.mark.slow  # two interpreter starts
def test_missing_run_from_the_shell(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "agents.plot_ablation", "--runs", str(tmp_path / "nope")]
    done = subprocess.run(cmd + ["--labels", "x"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope' / 'curve.csv'} not found (train with agents/train_dqn.py first)"
    ]
    debug = subprocess.run(
        cmd + ["--labels", "x", "--debug"], cwd=ROOT, capture_output=True, text=True
    )
    assert debug.returncode != 0 and "Traceback" in debug.stderr
