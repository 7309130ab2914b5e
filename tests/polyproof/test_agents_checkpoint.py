"""The shipped checkpoint loads, proves certified bounds and reproduces the published rows."""

from __future__ import annotations

import csv
from fractions import Fraction
from pathlib import Path

import pytest

CHECKPOINT = Path(__file__).resolve().parents[2] / "checkpoints" / "dqn_cpu_dagger.zip"

# agents.evaluate rows of the README's 100-graph table (graph seed 0, 100-step proofs)
PUBLISHED = {(20, 0): "3", (20, 1): "4", (20, 2): "5", (20, 3): "6"}


@pytest.mark.usefixtures("one_torch_thread")
def test_shipped_checkpoint_reproduces_published_bounds(tmp_path: Path) -> None:
    from agents.evaluate import evaluate

    out = tmp_path / "eval.csv"
    summary = evaluate(CHECKPOINT, ns=[20], graphs=4, methods=("agent",), out=out, progress=False)
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "ok"
        assert row["certificate_valid"] == "True" and row["sound"] == "True"
        key = (int(row["n"]), int(row["graph"]))
        assert Fraction(row["bound_exact"]) == Fraction(PUBLISHED[key])
        assert Fraction(row["bound_exact"]) < Fraction(20, 3)  # Sherali-Adams level 3
    assert summary[0]["certified"] == 4
