"""The independent special-facet classification reproduces the published lists."""

from __future__ import annotations

import numpy as np
import pytest

from envs.polytopes import dataset, normal_form, sfp
from envs.polytopes.properties import check_hyperplane


def test_candidate_points_respect_the_bounds() -> None:
    points = sfp.candidate_points(3)
    heights = points.sum(axis=1)
    assert np.all((heights >= -3) & (heights <= 0))
    assert np.all(points >= (heights - 1)[:, None])
    assert len({tuple(p) for p in points.tolist()}) == len(points)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_counts_small(d: int) -> None:
    found = sfp.classify(d, progress=False)
    assert len(found) == dataset.KNOWN_COUNTS[d]
    for rows in found:
        assert check_hyperplane(rows).all
    if d >= 2:
        keys = {normal_form.lattice_key(rows) for rows in found}
        assert keys == {bytes(k) for k in dataset.load_data(d).keys}


def test_count_d4_matches_dataset() -> None:  # about 40 s
    found = sfp.classify(4, progress=False)
    assert len(found) == 124
    keys = {normal_form.lattice_key(rows) for rows in found}
    assert keys == {bytes(k) for k in dataset.load_data(4).keys}
