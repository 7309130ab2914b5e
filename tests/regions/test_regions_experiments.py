"""Smoke tests of the experiment scripts in baselines/regions (tiny settings)."""

import csv

import pytest

from baselines.regions import (
    evaluate_samplers,
    fundamental_domain,
    picture,
    pruning_rate,
    table3,
    width_depth,
)


def test_table3_small(tmp_path):
    assert (
        table3.main(
            ["--networks", "2", "--architectures", "2,3,1;3,2,2,1", "--output", str(tmp_path)]
        )
        == 0
    )
    rows = list(csv.DictReader(open(tmp_path / "table3_runs.csv")))
    assert len(rows) == 4 and all(r["tropical"] == r["traversal"] for r in rows)
    assert (tmp_path / "table3.png").exists()
    # resume: nothing is recomputed, the summary is rebuilt
    assert (
        table3.main(
            ["--networks", "2", "--architectures", "2,3,1;3,2,2,1", "--output", str(tmp_path)]
        )
        == 0
    )
    assert len(list(csv.DictReader(open(tmp_path / "table3_runs.csv")))) == 4


@pytest.mark.slow
def test_other_experiments_small(tmp_path):
    out = ["--output", str(tmp_path)]
    assert width_depth.main(["--widths", "2,3", "--seeds", "1", *out])
    assert pruning_rate.main(["--widths", "4", "--seeds", "1", "--steps", "20", *out])
    assert picture.main(["--pixels", "40", *out])["regions"] > 0
    assert fundamental_domain.main(["--dims", "2,3", "--networks", "1", "--points", "600", *out])
    assert evaluate_samplers.main(["--episodes", "1", "--budget", "8", *out])
    pytest.importorskip("sklearn")
    from baselines.regions import digits

    rows = digits.main(["--widths", "3", "--epochs", "5", *out])
    assert int(rows[0]["regions_R64"]) == 8
