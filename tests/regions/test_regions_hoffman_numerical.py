"""Hoffman constants, effective radius, numerical estimate (priorities 3 and 4)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.regions.exact import count_regions_traversal
from envs.regions.hoffman import (
    hoffman_brute_force,
    hoffman_lower_bound,
    hoffman_pvz,
    hoffman_upper_bound,
    minimal_effective_radius_bound,
    surjectivity_value,
    tropical_hoffman_constant,
)
from envs.regions.network import random_deepsets_network, random_network
from envs.regions.numerical import estimate_regions, lemma30_weight
from envs.regions.tropical import network_to_tropical


@settings(max_examples=12, deadline=None)
@given(m=st.integers(1, 7), n=st.integers(1, 3), seed=st.integers(0, 10_000))
def test_hoffman_bounds_and_pvz(m, n, seed):
    A = np.random.default_rng(seed).uniform(-1, 1, size=(m, n))
    exact = hoffman_brute_force(A)
    pvz = hoffman_pvz(A)
    assert pvz.hoffman == pytest.approx(exact, rel=1e-6, abs=1e-9)
    lower = hoffman_lower_bound(A, num_samples=5, seed=seed)
    upper, exhaustive = hoffman_upper_bound(A)
    assert exhaustive
    assert lower <= exact * (1 + 1e-6) + 1e-9
    assert exact <= upper * (1 + 1e-6) + 1e-9


def test_hoffman_small_cases():
    # a single row a: H = 1 / ||a||_1
    assert hoffman_brute_force(np.array([[3.0, -1.0]])) == pytest.approx(0.25)
    # two opposite rows: {1}, {2} surjective, {1, 2} not
    A = np.array([[1.0, 0.0], [-1.0, 0.0]])
    assert hoffman_pvz(A).hoffman == pytest.approx(1.0)
    value, v = surjectivity_value(A)
    assert value == pytest.approx(0.0, abs=1e-12) and v.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        hoffman_pvz(np.array([[np.nan, 1.0]]))
    with pytest.raises(ValueError):
        hoffman_brute_force(np.zeros((0, 2)))


@pytest.mark.parametrize("arch,seed", [([2, 3, 1], 0), ([2, 4, 1], 1), ([1, 3, 1], 2)])
def test_effective_radius_cube_meets_all_regions(arch, seed):
    net = random_network(arch, seed)
    f = network_to_tropical(net, prune_intermediate=True)[0].pruned()
    radius = minimal_effective_radius_bound(f, method="upper")
    assert np.isfinite(radius) and radius > 0
    assert (
        count_regions_traversal(net, box_radius=radius).count == count_regions_traversal(net).count
    )


def test_tropical_hoffman_exact_between_bounds():
    f = network_to_tropical(random_network([2, 2, 1], 3), prune_intermediate=True)[0].pruned()
    exact = tropical_hoffman_constant(f, "pvz")
    assert tropical_hoffman_constant(f, "lower") <= exact * (1 + 1e-6)
    assert exact <= tropical_hoffman_constant(f, "upper") * (1 + 1e-6)
    with pytest.raises(ValueError):
        tropical_hoffman_constant(f, "nope")


def test_numerical_estimate_one_dimensional_and_bounds():
    net = random_network([1, 4, 1], 0)
    exact = count_regions_traversal(net).count
    estimate = estimate_regions(net, num_points=5000, radius=50.0, seed=0)
    assert estimate.count == exact
    # deterministic under a seed
    assert (
        estimate_regions(net, 500, 5.0, seed=3).count
        == estimate_regions(net, 500, 5.0, seed=3).count
    )
    with pytest.raises(ValueError):
        estimate_regions(net, 0, 5.0)
    with pytest.raises(ValueError):
        estimate_regions(net, 10, float("nan"))


def test_numerical_estimate_never_exceeds_one_layer_count_by_much():
    net = random_network([2, 5, 1], 1)
    exact = count_regions_traversal(net).count
    estimate = estimate_regions(net, num_points=20000, radius=20.0, seed=0).count
    assert 0.5 * exact <= estimate <= exact  # convex regions: the midpoint test cannot split


def test_fundamental_domain_weighting():
    assert lemma30_weight(np.array([1.0, 2.0, 3.0])) == 6
    assert lemma30_weight(np.array([1.0, 1.0, 3.0])) == 3
    assert lemma30_weight(np.array([2.0, 2.0])) == 1
    net = random_deepsets_network(3, depth=2, rng=5)
    x = np.random.default_rng(0).normal(size=(20, 3))
    np.testing.assert_allclose(net.forward(x), net.forward(x[:, ::-1]), atol=1e-12)
    full = estimate_regions(net, 20000, 10.0, seed=0).count
    fundamental = estimate_regions(net, 4000, 10.0, seed=0, fundamental_domain=True).count
    assert fundamental >= 0.8 * full
    with pytest.raises(ValueError):
        estimate_regions(random_network([2, 3, 2], 0), 10, 1.0, fundamental_domain=True)


def test_cli_json(tmp_path, capsys):
    import json

    from envs.regions.count import main

    for method in ("exact", "traversal", "numerical"):
        assert main(["--arch", "2,6,1", "--seed", "0", "--method", method]) == 0
        report = json.loads(capsys.readouterr().out)
        assert report["method"] == method
        assert "seconds" in report and "monomials" in report
        if method != "numerical":
            assert report["count"] == 22
    path = tmp_path / "net.npz"
    random_network([3, 5, 1], 1).save_npz(path)
    assert main(["--weights", str(path), "--method", "traversal", "--no-native"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 26
    from envs.cli import UsageError

    with pytest.raises(UsageError):
        main(["--arch", "2,nope", "--method", "exact"])
