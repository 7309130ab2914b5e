"""Smoke tests of the experiment scripts in baselines/regions (tiny settings)."""

import csv

import numpy as np
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


def test_digits_slices_tiny(tmp_path):
    """Random 2-D/3-D slices of a (barely trained) digits classifier: exact counts agree."""
    from baselines.regions.digits_slices import random_slice, run, train_classifier
    from envs.regions.exact import count_regions_traversal, count_regions_tropical

    rows = run(["--hidden", "5", "--epochs", "3", "--output", str(tmp_path)])
    assert [r["slice_dim"] for r in rows] == [2, 3] and all(r["status"] == "ok" for r in rows)
    assert (tmp_path / "digits_slice_2d.png").stat().st_size > 0
    network, _ = train_classifier([4, 3], seed=1, epochs=2)
    anchor = np.zeros(64)
    for dim in (2, 3):
        sliced, _, directions = random_slice(network, dim, 3.0, 5, anchor)
        assert sliced.architecture == [dim, 4, 3, 10]
        t = np.random.default_rng(0).uniform(-1, 1, size=(20, dim))
        np.testing.assert_allclose(sliced.forward(t), network.forward(t @ directions.T), atol=1e-9)
        if dim == 2:  # Algorithm 4 with 10 outputs is the slow part: 2-D only
            assert (count_regions_traversal(sliced, box_radius=1.0).count
                    == count_regions_tropical(sliced, box_radius=1.0).count)


def test_scaling_walk_with_reference(tmp_path, capsys):
    from baselines.regions import scaling
    from envs.cli import UsageError

    largest = scaling.run(["--limit", "1", "--families", "one2", "--methods", "traversal",
                           "--reference", "envs.regions", "--output", str(tmp_path)])
    assert set(largest) == {"current", "reference"}
    assert "regions/s current / reference" in capsys.readouterr().out
    with pytest.raises(UsageError):
        scaling.run(["--families", "nope", "--output", str(tmp_path)])
