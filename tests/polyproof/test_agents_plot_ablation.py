"""agents/plot_ablation.py: curves from run directories or CSV files, one PNG and a merged CSV."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from agents.plot_ablation import main, read_curve


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
    with pytest.raises(ValueError, match="same length"):
        main(["--runs", str(tmp_path / "empty.csv"), "--labels", "a", "b"])
