"""The checker benchmark's perturbed-sample mode (the 8-d normality timing of issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

from baselines.polytopes.benchmark import main


def test_perturbed_mode_counts_exact_normality_and_skips_lookup(tmp_path: Path) -> None:
    args = ["--dims", "5", "--n", "12", "--perturbed", "--normality", "auto", "--no-lookup"]
    assert main([*args, "--workers", "1", "--out", str(tmp_path)]) == 0
    rows = json.loads((tmp_path / "benchmark.json").read_text())["rows"]
    assert [row["benchmark"] for row in rows] == ["check"]  # no lookup row
    row = rows[0]
    assert row["samples"] == "perturbed" and row["n"] == 12 and row["normality"] == "auto"
    assert 0 <= row["exact_normality"] <= 12 and row["normal_undetermined"] == 0
    assert row["seconds_per_1000"] > 0
    again = tmp_path / "again"
    assert main([*args, "--workers", "1", "--out", str(again)]) == 0
    repeat = json.loads((again / "benchmark.json").read_text())["rows"][0]
    for key in ("all_true", "exact_normality"):  # same seed, same samples
        assert repeat[key] == row[key]
