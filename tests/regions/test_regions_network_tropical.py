"""Networks, tropical representation, pruning (priority 1 of issue 5)."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from envs.regions.network import ReLUNetwork, parse_architecture, random_network
from envs.regions.tropical import (
    TropicalPolynomial,
    monomial_counts,
    network_to_tropical,
)


def test_from_sequential_matches_torch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 2))
    net = ReLUNetwork.from_sequential(model)
    assert net.architecture == [3, 5, 4, 2]
    x = np.random.default_rng(0).normal(size=(50, 3))
    expected = model.double()(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(net.forward(x), expected, atol=1e-10)
    np.testing.assert_allclose(
        net.to_torch()(torch.as_tensor(x)).detach().numpy(), expected, atol=1e-10
    )


def test_rejects_bad_networks(tmp_path):
    with pytest.raises(ValueError, match="NaN or inf"):
        ReLUNetwork.from_lists([[[1.0, np.nan]], [[1.0]]], [[0.0], [0.0]])
    with pytest.raises(ValueError, match="NaN or inf"):
        ReLUNetwork.from_lists([[[1.0, np.inf]]], [[0.0]])
    with pytest.raises(ValueError, match="expects"):
        ReLUNetwork.from_lists([np.ones((3, 2)), np.ones((1, 4))], [np.zeros(3), np.zeros(1)])
    with pytest.raises(ValueError, match="bias shape"):
        ReLUNetwork.from_lists([np.ones((3, 2))], [np.zeros(2)])
    with pytest.raises(ValueError, match="bias vectors"):
        ReLUNetwork.from_lists([np.ones((3, 2))], [])
    with pytest.raises(ValueError, match="nn.Linear"):
        ReLUNetwork.from_sequential(nn.Sequential(nn.ReLU(), nn.Linear(2, 1)))
    with pytest.raises(ValueError, match="end with nn.Linear"):
        ReLUNetwork.from_sequential(nn.Sequential(nn.Linear(2, 2), nn.ReLU()))
    with pytest.raises(ValueError, match="nn.ReLU"):
        ReLUNetwork.from_sequential(nn.Sequential(nn.Linear(2, 2), nn.Tanh(), nn.Linear(2, 1)))
    with pytest.raises(ValueError):
        parse_architecture("2,x,1")
    with pytest.raises(ValueError):
        parse_architecture("2")
    net = random_network([2, 3, 1], 0)
    with pytest.raises(ValueError, match="shape"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="NaN"):
        net.forward(np.array([[np.nan, 0.0]]))
    path = tmp_path / "net.npz"
    net.save_npz(path)
    loaded = ReLUNetwork.from_npz(path)
    np.testing.assert_array_equal(loaded.weights[0], net.weights[0])
    np.savez(tmp_path / "bad.npz", W0=np.ones((2, 2)))
    with pytest.raises(ValueError, match="missing bias"):
        ReLUNetwork.from_npz(tmp_path / "bad.npz")


@settings(max_examples=15, deadline=None)
@given(
    arch=st.sampled_from([[2, 6, 1], [3, 4, 2, 1], [1, 5, 1], [2, 3, 3, 2], [4, 3, 1]]),
    seed=st.integers(0, 10_000),
    prune=st.booleans(),
)
def test_tropical_evaluation_equals_network(arch, seed, prune):
    net = random_network(arch, seed)
    maps = network_to_tropical(net, prune_intermediate=prune)
    assert len(maps) == arch[-1]
    points = np.random.default_rng(seed).normal(scale=5.0, size=(300, arch[0]))
    outputs = net.forward(points)
    for k, f in enumerate(maps):
        np.testing.assert_allclose(f(points), outputs[:, k], atol=1e-9)
        np.testing.assert_allclose(f.pruned()(points), outputs[:, k], atol=1e-9)


def test_pruning_lp():
    # max(0, x, 2x - 2) in 1-D: all three monomials have 1-D regions;
    # adding max(., x - 5) (never the strict max) and the point-contact monomial 0.5x - 0.5
    poly = TropicalPolynomial(
        np.array([0.0, 0.0, -2.0, -5.0]), np.array([[0.0], [1.0], [2.0], [0.5]])
    )
    mask = poly.nonredundant_mask()
    assert mask.tolist() == [True, True, True, False]
    # 2-D: max(x, y, (x+y)/2) -> (x+y)/2 only ties on the diagonal: redundant
    poly2 = TropicalPolynomial(np.zeros(3), np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    assert poly2.nonredundant_mask().tolist() == [True, True, False]
    # a monomial whose region is far away is still found (LP, not sampling)
    poly3 = TropicalPolynomial(np.array([0.0, -1e4, -3e4]), np.array([[0.0], [1.0], [2.0]]))
    assert poly3.nonredundant_mask().tolist() == [True, True, True]
    with pytest.raises(ValueError, match="merge"):
        TropicalPolynomial(np.zeros(2), np.ones((2, 1))).nonredundant_mask()


def test_monomial_counts_one_hidden_layer():
    counts = monomial_counts(random_network([2, 6, 1], 0))
    native_p, native_q = counts["native"][0]
    pruned_p, pruned_q = counts["pruned"][0]
    assert native_p + native_q <= 2**6 + 2**6
    assert pruned_p <= native_p and pruned_q <= native_q
    assert counts["monomial_complexity"] == pruned_p + pruned_q
    # pruning removes monomials but the pruned representation still equals the network
    net = random_network([2, 4, 3, 1], 1)
    counts = monomial_counts(net)
    assert counts["monomial_complexity"] <= counts["native_total"]
