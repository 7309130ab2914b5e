"""Exact region counts do not depend on the scale of the weights (issue 14)."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envs.regions.exact import count_regions_traversal, count_regions_tropical
from envs.regions.network import ReLUNetwork, random_network
from envs.regions.normalise import MapJudge, normalise_network

BOTH = [count_regions_traversal, count_regions_tropical]
SCALES = [10.0**k for k in (-9, -6, -3, 4, 9)]


def scale_layer(net: ReLUNetwork, layer: int, factor: float) -> ReLUNetwork:
    """Positive rescaling of a layer: ``W_layer`` and every bias from ``layer`` on, times
    ``factor`` (the network becomes ``factor * f``; scaling ``W_l, b_l`` alone would move
    the later hyperplanes of a deep network)."""
    layer = layer % len(net.weights)
    weights, biases = list(net.weights), list(net.biases)
    weights[layer] = weights[layer] * factor
    for later in range(layer, len(biases)):
        biases[later] = biases[later] * factor
    return ReLUNetwork.from_lists(weights, biases)


def scale_unit(net: ReLUNetwork, layer: int, unit: int, factor: float) -> ReLUNetwork:
    """ReLU rescaling: unit's incoming row times ``factor``, outgoing column divided by it."""
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    weights[layer][unit] *= factor
    biases[layer][unit] *= factor
    weights[layer + 1][:, unit] /= factor
    return ReLUNetwork.from_lists(weights, biases)


@pytest.mark.parametrize("method", BOTH)
@pytest.mark.parametrize("arch,expected", [([2, 10, 1], 56), ([3, 9, 1], 130)])
def test_issue_cases_output_and_first_layer_scaling(method, arch, expected):
    net = random_network(arch, 0)
    assert method(net).count == expected
    for layer in (0, -1):
        for factor in SCALES:
            assert method(scale_layer(net, layer, factor)).count == expected, (layer, factor)


def test_normalised_network_computes_a_positive_multiple():
    net = random_network([3, 5, 4, 2], 0)
    wild = scale_unit(scale_layer(scale_layer(net, 0, 1e-9), 2, 1e-30), 1, 2, 1e200)
    normalised, scales = normalise_network(wild)
    x = np.random.default_rng(0).normal(size=(50, 3))
    np.testing.assert_allclose(normalised.forward(x) * scales, wild.forward(x), rtol=1e-12)
    assert (normalised.activation_patterns(x) == wild.activation_patterns(x)).all()
    for weight in normalised.weights:
        np.testing.assert_allclose(np.linalg.norm(weight, axis=1), 1.0)
    reference, _ = normalise_network(net)
    for a, b in zip(reference.weights, normalised.weights, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-14)


def test_exact_map_equality_beats_float_tolerance():
    # an output weight 1e-12 times the others: the maps across that unit differ only by it
    weights = [np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]), np.array([[1.0, 1.0, 1e-12]])]
    biases = [np.array([0.0, 0.0, -1.0]), np.array([0.0])]
    net = ReLUNetwork.from_lists(weights, biases)
    assert count_regions_traversal(net).count == 7
    # Algorithm 4's float tropical algebra cannot resolve it: an error, not a wrong count
    with pytest.raises(ValueError, match="resolution"):
        count_regions_tropical(net)
    exact_zero = ReLUNetwork.from_lists([weights[0], np.array([[1.0, 1.0, 0.0]])], biases)
    assert count_regions_traversal(exact_zero).count == count_regions_tropical(exact_zero).count == 4
    judge = MapJudge(net, normalise_network(net)[0])
    assert not judge.equal(np.array([1, 1, 1], bool), np.array([1, 1, 0], bool))
    assert judge.equal(np.array([0, 0, 1], bool), np.array([0, 0, 1], bool))


def test_region_maps_are_those_of_the_given_network():
    net = scale_layer(random_network([2, 4, 3, 1], 2), -1, 1e-7)
    x = np.random.default_rng(1).normal(size=(100, 2))
    for method in BOTH:
        result = method(net)
        values = net.forward(x)[:, 0]
        best = np.min(
            [np.abs(x @ lin[0] + off[0] - values) for lin, off in result.region_maps], axis=0
        )
        assert best.max() <= 1e-12 * (1 + np.abs(values).max())


# ---------------------------------------------------------------- property tests (hypothesis)
ARCHS = [[2, 4, 1], [2, 6, 1], [3, 4, 1], [2, 3, 3, 1], [2, 4, 2, 2]]


@pytest.mark.parametrize("method", BOTH)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_counts_invariant_under_rescalings(method, seed, data):
    arch = data.draw(st.sampled_from(ARCHS))
    net = random_network(arch, seed)
    expected = method(net).count
    scaled = net
    hidden = len(arch) - 2
    for _ in range(data.draw(st.integers(1, 3))):
        if data.draw(st.booleans()):
            layer = data.draw(st.integers(0, hidden))
            scaled = scale_layer(scaled, layer, 10.0 ** data.draw(st.integers(-9, 9)))
        else:
            layer = data.draw(st.integers(0, hidden - 1))
            unit = data.draw(st.integers(0, arch[layer + 1] - 1))
            scaled = scale_unit(scaled, layer, unit, 10.0 ** data.draw(st.integers(-9, 9)))
    assert method(scaled).count == expected


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_degenerate_integer_networks_invariant_under_dyadic_rescalings(seed, data):
    """Small-integer weights (coincident hyperplanes, equal maps) exercise the exact path;
    powers of two keep the rescaled weights exact, so the function is exactly rescaled."""
    rng = np.random.default_rng(seed)
    arch = data.draw(st.sampled_from([[2, 4, 1], [2, 3, 2, 1]]))
    weights = [rng.integers(-2, 3, size=(b, a)).astype(float) for a, b in zip(arch, arch[1:], strict=False)]
    biases = [rng.integers(-1, 2, size=b).astype(float) for b in arch[1:]]
    for w in weights:  # no all-zero rows
        w[np.abs(w).sum(axis=1) == 0, 0] = 1.0
    net = ReLUNetwork.from_lists(weights, biases)
    expected = count_regions_traversal(net).count
    assert count_regions_tropical(net).count == expected
    scaled = scale_layer(net, data.draw(st.integers(0, len(arch) - 2)),
                         2.0 ** data.draw(st.integers(-60, 60)))
    unit = data.draw(st.integers(0, arch[1] - 1))
    scaled = scale_unit(scaled, 0, unit, 2.0 ** data.draw(st.integers(-60, 60)))
    assert count_regions_traversal(scaled).count == expected
    assert count_regions_tropical(scaled).count == expected


@pytest.mark.slow
@pytest.mark.parametrize("method", BOTH)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), data=st.data())
def test_counts_invariant_under_rescalings_bigger(method, seed, data):
    arch = data.draw(st.sampled_from([[2, 12, 1], [3, 8, 1], [2, 6, 5, 1], [3, 5, 4, 2]]))
    net = random_network(arch, seed)
    expected = method(net).count
    scaled = net
    for layer in range(len(arch) - 1):
        scaled = scale_layer(scaled, layer, 10.0 ** data.draw(st.integers(-9, 9)))
    for layer in range(len(arch) - 2):
        for unit in range(arch[layer + 1]):
            scaled = scale_unit(scaled, layer, unit, 10.0 ** data.draw(st.integers(-9, 9)))
    assert method(scaled).count == expected


# ---------------------------------------------------------------- robust LPs
def test_failed_lp_is_retried_then_solved():
    from envs.regions.lp import SlackLP

    G = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    model = SlackLP(G, np.array([0.0, 0.0, 1.0]))
    model.highs.setOptionValue("presolve", "off")
    model.highs.setOptionValue("simplex_iteration_limit", 0)  # the first solves cannot finish
    slack, x = model.max_slack()
    assert model.num_retries >= 1 and slack == pytest.approx(1 / 3, rel=1e-6)
    assert np.all(G @ x + np.array([0.0, 0.0, 1.0]) >= slack - 1e-9)


def test_lp_that_keeps_failing_is_an_error_naming_the_cell(monkeypatch):
    import envs.regions.lp as lp

    def fail(self):
        raise lp.LPError("HiGHS returned Not Set (retries: clear, fresh, ipm failed)")

    monkeypatch.setattr(lp.SlackLP, "solve", fail)
    net = random_network([2, 4, 1], 0)
    with pytest.raises(lp.LPError, match=r"cell 0 .*Not Set"):
        count_regions_traversal(net, facet_method="lp")  # the cdd path may need no LP at all
    with pytest.raises(lp.LPError, match=r"monomial \d+ .*Not Set"):
        count_regions_tropical(net)


def test_false_float_facets_are_rejected_by_lps(monkeypatch):
    import envs.regions.facets as facets

    net = random_network([2, 8, 1], 3)
    expected = count_regions_traversal(net).count
    real = facets.facets_and_generators

    def every_row_a_facet(G, h, interior, rng, num_rays):
        redundant, vertices, rays = real(G, h, interior, rng, num_rays)
        return set(), vertices, rays  # float cdd "misses" every redundancy

    monkeypatch.setattr(facets, "facets_and_generators", every_row_a_facet)
    result = count_regions_traversal(net, facet_method="cdd")
    assert result.count == expected and result.num_lps > 0
    assert result.num_cells == len(result.cell_points) == len(result.cell_labels)


def test_a_pattern_certainly_empty_is_reported_empty():
    from envs.regions.cells import CellExpander, pack

    net = ReLUNetwork.from_lists([np.array([[1.0], [1.0]]), np.array([[1.0, 1.0]])],
                                 [np.array([0.0, -1.0]), np.array([0.0])])
    expander = CellExpander(net, None, "auto", 8, 0)
    # unit 0 off (x < 0) and unit 1 on (x > 1): no such input
    outcome = expander.expand(pack(np.array([False, True])), np.zeros(1), False)
    assert outcome.empty and outcome.neighbour_keys == []
    assert not expander.expand(pack(np.array([True, True])), np.array([2.0]), True).empty
