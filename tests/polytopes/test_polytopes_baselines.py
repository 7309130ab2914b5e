"""Sensitivity experiment script and the d = 7 cache (slow, when built)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from baselines.polytopes import sensitivity
from envs.polytopes import dataset


def test_modify_changes_exactly_one_entry() -> None:
    rng = np.random.default_rng(0)
    rows = dataset.load(4)[50]
    for _ in range(50):
        changed, change = sensitivity.modify(rows, rng)
        diff = np.argwhere(changed != rows)
        assert diff.tolist() == [[change["row"], change["column"]]]
        assert (change["old"], change["new"]) in {(0, 1), (0, -1), (1, 0), (-1, 0)}


def test_random_unimodular_is_unimodular() -> None:
    rng = np.random.default_rng(1)
    for d in (2, 5, 7):
        assert abs(round(np.linalg.det(sensitivity.random_unimodular(d, rng)))) == 1


def test_sensitivity_run_and_resume(tmp_path) -> None:
    summary = sensitivity.run(4, 12, 0, tmp_path, workers=1, normality="exact", reembed=True)
    assert summary["counts"]["all"] <= summary["counts"]["smooth"] <= summary["counts"]["lattice"]
    lines = (tmp_path / "sensitivity_d4_reembed_samples.jsonl").read_text().splitlines()
    assert len(lines) == 12
    again = sensitivity.run(4, 12, 0, tmp_path, workers=1, normality="exact", reembed=True)
    assert again["counts"] == summary["counts"]
    assert len((tmp_path / "sensitivity_d4_reembed_samples.jsonl").read_text().splitlines()) == 12
    saved = json.loads((tmp_path / "sensitivity_d4_reembed_summary.json").read_text())
    assert saved["counts"] == summary["counts"]


@pytest.mark.slow
def test_d7_cache_when_built() -> None:
    try:
        data = dataset.load_data(7)
    except FileNotFoundError:
        pytest.skip("d = 7 cache not built")
    from envs.polytopes.batch import check_many
    from envs.polytopes.identify import DatasetIndex

    assert len(data) == 72256 and len({bytes(k) for k in data.keys}) == 72256
    rng = np.random.default_rng(0)
    picks = rng.choice(len(data), 300, replace=False)
    reports = check_many([data.rows[i] for i in picks], workers=2, progress=False)
    assert all(r.all for r in reports)
    index = DatasetIndex(7)
    for i in picks[:100]:
        assert index.identify(data.rows[i]).status == "exact_copy"
