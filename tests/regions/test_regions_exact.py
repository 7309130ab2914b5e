"""Exact linear regions: oracles and cross-check of the two methods (priority 2)."""

from math import comb

import numpy as np
import pytest

from envs.regions.exact import count_regions, count_regions_traversal, count_regions_tropical
from envs.regions.network import ReLUNetwork, random_network
from envs.regions.tropical import TropicalPolynomial, TropicalRational

BOTH = [count_regions_traversal, count_regions_tropical]


def one_layer_count(n0: int, n1: int) -> int:
    return sum(comb(n1, j) for j in range(n0 + 1))


@pytest.mark.parametrize("method", BOTH)
@pytest.mark.parametrize("arch,expected", [([2, 6, 1], 22), ([3, 5, 1], 26), ([4, 4, 1], 16)])
def test_one_hidden_layer_oracle(method, arch, expected):
    assert one_layer_count(arch[0], arch[1]) == expected
    for seed in range(3):
        assert method(random_network(arch, seed)).count == expected


@pytest.mark.parametrize("method", BOTH)
@pytest.mark.parametrize("arch", [[2, 6, 1], [3, 5, 1], [3, 4, 1], [2, 3, 1]])
def test_zero_bias_oracle(method, arch):
    n0, n1 = arch[0], arch[1]
    expected = 2 * sum(comb(n1 - 1, j) for j in range(n0))
    assert method(random_network(arch, 7, zero_bias=True)).count == expected


@pytest.mark.parametrize("method", BOTH)
@pytest.mark.parametrize("width", [1, 3, 7])
def test_one_dimensional_oracle(method, width):
    assert method(random_network([1, width, 1], width)).count == width + 1


def test_max_of_two_variables():
    f = TropicalRational(
        TropicalPolynomial(np.zeros(2), np.eye(2)), TropicalPolynomial.constant(0.0, 2)
    )
    assert count_regions_tropical([f]).count == 2
    # as a network: y + relu(x - y) = relu(x - y) + relu(y) - relu(-y)
    net = ReLUNetwork.from_lists(
        [[[1.0, -1.0], [0.0, 1.0], [0.0, -1.0]], [[1.0, 1.0, -1.0]]], [[0.0, 0.0, 0.0], [0.0]]
    )
    assert count_regions_traversal(net).count == 2
    assert count_regions_tropical(net).count == 2


def test_disconnected_zero_map():
    # max(0, x, 2x - 2) - max(0, 2x - 2) = 0, x, 2 - x, 0: the zero map on two pieces
    p = TropicalPolynomial(np.array([0.0, 0.0, -2.0]), np.array([[0.0], [1.0], [2.0]]))
    q = TropicalPolynomial(np.array([0.0, -2.0]), np.array([[0.0], [2.0]]))
    result = count_regions_tropical([TropicalRational(p, q)])
    assert result.count == 4
    net = ReLUNetwork.from_lists(
        [[[1.0], [1.0], [1.0]], [[1.0, -2.0, 1.0]]], [[0.0, -1.0, -2.0], [0.0]]
    )
    assert count_regions_traversal(net).count == 4
    assert count_regions_tropical(net).count == 4


def test_point_contact_does_not_glue():
    # |x| + |y| - |x + y|: zero on quadrants I and III (point contact only), and two
    # pieces in each of quadrants II and IV -> 6 regions, two of them with the zero map
    p = TropicalPolynomial(
        np.zeros(4), np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    )
    q = TropicalPolynomial(np.zeros(2), np.array([[1.0, 1.0], [-1.0, -1.0]]))
    result = count_regions_tropical([TropicalRational(p, q)])
    assert result.count == 6
    zero_maps = [m for m in result.region_maps if np.allclose(m[0], 0) and np.allclose(m[1], 0)]
    assert len(zero_maps) == 2
    # the same map as a network with two coincident hyperplanes (relu(x), relu(-x), ...)
    net = ReLUNetwork.from_lists(
        [
            [[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 1.0], [-1.0, -1.0]],
            [[1.0, 1.0, 1.0, 1.0, -1.0, -1.0]],
        ],
        [np.zeros(6), [0.0]],
    )
    assert count_regions_traversal(net).count == 6
    assert count_regions_tropical(net).count == 6


@pytest.mark.parametrize(
    "arch",
    [
        [2, 6, 1],
        [3, 5, 1],
        [4, 4, 1],
        [5, 3, 1],
        [6, 2, 1],
        [3, 2, 2, 1],
        [3, 3, 2, 1],
        [2, 4, 3, 2],
    ],
)
def test_methods_agree(arch):
    for seed in range(4):
        net = random_network(arch, 100 + seed)
        assert count_regions_traversal(net).count == count_regions_tropical(net).count


@pytest.mark.parametrize("arch", [[2, 8, 1], [3, 4, 3, 1], [2, 5, 4, 2], [4, 3, 3, 3, 1]])
def test_facet_methods_agree(arch):
    for seed in range(3):
        net = random_network(arch, 200 + seed)
        counts = {
            count_regions_traversal(net, facet_method=m, interior_points=ip).count
            for m in ("hull", "cdd", "lp")
            for ip in (True, False)
        }
        counts.add(count_regions_tropical(net).count)
        assert len(counts) == 1
    with pytest.raises(ValueError):
        count_regions_traversal(net, facet_method="nope")


@pytest.mark.parametrize("facet_method", ["hull", "cdd", "lp"])
def test_degenerate_networks_both_facet_paths(facet_method):
    # zero biases in two hidden layers: constant-zero neurons switch on across facets
    net = random_network([2, 4, 3, 1], 11, zero_bias=True)
    assert (
        count_regions_traversal(net, facet_method=facet_method).count
        == count_regions_tropical(net).count
    )
    # duplicated neuron (coincident hyperplanes)
    weights = [np.array([[1.0, 2.0], [1.0, 2.0], [0.5, -1.0]]), np.array([[1.0, -0.5, 2.0]])]
    biases = [np.array([0.3, 0.3, -0.2]), np.array([0.0])]
    dup = ReLUNetwork.from_lists(weights, biases)
    assert (
        count_regions_traversal(dup, facet_method=facet_method).count
        == count_regions_tropical(dup).count
        == 4
    )


def test_start_point_on_a_hyperplane():
    net = random_network([2, 5, 3, 1], 1, zero_bias=True)
    expected = count_regions_tropical(net).count
    assert count_regions_traversal(net, start_point=np.zeros(2)).count == expected
    assert (
        count_regions_traversal(
            net, start_point=np.zeros(2), box_radius=2.0, interior_points=False
        ).count
        == expected
    )
    with pytest.raises(ValueError):
        count_regions_traversal(net, start_point=np.array([5.0, 0.0]), box_radius=2.0)


def test_box_restriction():
    net = random_network([2, 8, 1], 3)
    full = count_regions_traversal(net).count
    assert count_regions_traversal(net, box_radius=1e4).count == full
    assert count_regions_tropical(net, box_radius=1e4).count == full
    small_t = count_regions_traversal(net, box_radius=0.3).count
    small_a = count_regions_tropical(net, box_radius=0.3).count
    assert small_t == small_a <= full
    with pytest.raises(ValueError):
        count_regions_traversal(net, box_radius=-1.0)


def test_traversal_region_lookup_and_dispatch():
    net = random_network([2, 5, 3, 1], 4)
    result = count_regions(net, "traversal")
    points = np.random.default_rng(0).normal(scale=3, size=(200, 2))
    patterns = net.activation_patterns(points)
    outputs = net.forward(points)
    for pattern, x, y in zip(patterns, points, outputs, strict=True):
        label = result.pattern_to_region[np.packbits(pattern).tobytes()]
        linear, offset = result.region_maps[label]
        np.testing.assert_allclose(linear @ x + offset, y, atol=1e-9)
    assert count_regions(net, "exact").count == result.count
    with pytest.raises(ValueError):
        count_regions(net, "nope")


def test_affine_network_has_one_region():
    net = ReLUNetwork.from_lists([np.ones((1, 3))], [np.zeros(1)])
    assert count_regions_traversal(net).count == 1
    assert count_regions_tropical(net).count == 1


def test_incremental_redundancy_matches_cdd():
    from envs.regions.exact import _redundant_rows_cdd, _redundant_rows_incremental
    from envs.regions.lp import max_slack, normalise_rows

    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(40):
        dim = int(rng.integers(1, 4))
        m = int(rng.integers(20, 60))
        G, h, _ = normalise_rows(rng.standard_normal((m, dim)), rng.uniform(0.1, 3.0, m))
        if trial % 3 == 0:  # an unbounded cone-like cell: some rows through a far point
            h[: m // 2] = np.abs(h[: m // 2]) + 5.0
        slack, interior = max_slack(G, h)
        assert slack > 0
        expected = _redundant_rows_cdd(G, h)
        assert _redundant_rows_incremental(G, h, interior, rng, 64) == expected
        checked += 1
    assert checked == 40


def test_wide_low_dimensional_traversal_uses_incremental_path():
    net = random_network([2, 30, 1], 5)
    expected = 1 + 30 + comb(30, 2)
    assert count_regions_traversal(net).count == expected
    assert count_regions_traversal(net, facet_method="lp").count == expected


def test_cdd_failure_falls_back_to_highs(monkeypatch):
    import envs.regions.facets as facets

    net = random_network([2, 6, 3, 1], 8)
    expected = count_regions_tropical(net).count

    def broken(*args, **kwargs):
        raise RuntimeError("*Error: Numerical inconsistency is found.")

    monkeypatch.setattr(facets, "facets_and_generators", broken)
    for interior_points in (True, False):
        result = count_regions_traversal(net, facet_method="cdd", interior_points=interior_points)
        assert result.count == expected and result.num_cdd_fallbacks == result.num_cells


def test_qhull_failure_falls_back_to_cdd(monkeypatch):
    from scipy.spatial import QhullError

    import envs.regions.facets as facets

    net = random_network([2, 6, 3, 1], 8)
    expected = count_regions_tropical(net).count
    assert count_regions_traversal(net, facet_method="hull").count == expected

    def broken(*args, **kwargs):
        raise QhullError("QH6154 initial simplex is flat")

    monkeypatch.setattr(facets, "hull_facets", broken)
    result = count_regions_traversal(net, facet_method="hull")
    assert result.count == expected and result.num_cdd_fallbacks == result.num_cells


def test_unknown_facet_method_is_an_error():
    with pytest.raises(ValueError, match="facet_method"):
        count_regions_traversal(random_network([2, 3, 1], 0), facet_method="qhull")


@pytest.mark.parametrize("dim", [2, 3, 4])
def test_hull_facets_with_many_rows_match_cdd(dim: int) -> None:
    """Above 4 (4 dim + 8) rows the nearest rows' hull bounds the reach (and is reused when
    every row within reach is among them): the facets are still exactly cdd's irredundant rows."""
    from envs.regions.facets import hull_facets, redundant_rows_cdd

    rng = np.random.default_rng(dim)
    for trial in range(20):
        m = 400 if trial % 2 else 4 * (4 * dim + 8) + 1
        G = rng.normal(size=(m, dim))
        G /= np.linalg.norm(G, axis=1)[:, None]
        h = rng.uniform(0.05, 3.0, size=m) * (10.0 ** rng.integers(-3, 3))
        found = hull_facets(G, h, np.zeros(dim))
        assert found.uncertain.size == 0
        redundant = redundant_rows_cdd(G, h)
        assert set(found.facets.tolist()) == set(range(m)) - redundant
