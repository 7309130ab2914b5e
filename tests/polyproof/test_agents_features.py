"""Trilinear symmetric features of the DQN prover: classes, z, action products."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.dqn.features import (
    action_products,
    decode_batch,
    decode_observation,
    enumerate_classes,
    monomial_tables,
    num_classes,
    objective_class_tensor,
    trilinear_features,
    triplet_classes,
)
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.types import MonomialIndex

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _brute_force_class_count(n: int, max_degree: int) -> int:
    """Orbits of monomial triplets under S_n, by canonical forms over all permutations."""
    monos = MonomialIndex(n, max_degree).monomials  # type: ignore[attr-defined]
    perms = list(itertools.permutations(range(n)))
    seen = set()
    for a, b, c in itertools.product(monos, repeat=3):
        canon = min(tuple(tuple(sorted(p[v] for v in m)) for m in (a, b, c)) for p in perms)
        seen.add(canon)
    return len(seen)


@pytest.mark.parametrize(
    ("n", "max_degree"), [(1, 2), (2, 2), (3, 2), (4, 2), (3, 1), (4, 1), (2, 3)]
)
def test_class_enumeration_matches_brute_force(n, max_degree):
    assert len(enumerate_classes(n, max_degree)) == _brute_force_class_count(n, max_degree)


@pytest.mark.slow
@pytest.mark.parametrize("n", [5, 6])
def test_class_enumeration_matches_brute_force_slow(n):
    assert len(enumerate_classes(n, 2)) == _brute_force_class_count(n, 2)


def test_class_count_independent_of_n():
    for max_degree, expected, sizes in (
        (1, 15, range(3, 60)),
        (2, 100, range(6, 60)),
        (3, 436, (9, 10, 25, 50)),
    ):
        counts = {num_classes(max_degree, n) for n in sizes}
        assert counts == {expected}
        assert num_classes(max_degree) == expected
    # below 3D variables some overlap patterns cannot occur
    assert num_classes(2, 5) == 99 < num_classes(2)


def test_class_id_agrees_with_pair_factorisation():
    tables = monomial_tables(6, 2)
    N = tables.size
    everything = torch.arange(N)
    f_idx = torch.arange(N)
    H = objective_class_tensor(everything, everything, f_idx, torch.ones(N), tables)
    A, G = torch.meshgrid(everything, everything, indexing="ij")
    ref = torch.zeros_like(H)
    for b in range(N):
        cls = triplet_classes(
            tables.variables[A], tables.variables[torch.full_like(A, b)], tables.variables[G], 2
        )
        ref.view(-1, H.shape[-1])[torch.arange(A.numel()), cls.reshape(-1)] += 1.0
    assert torch.equal(H, ref)


def _random_poly(
    rng: np.random.Generator, size: int, terms: int
) -> tuple[torch.Tensor, torch.Tensor]:
    idx = rng.choice(size, size=min(terms, size), replace=False)
    vals = rng.integers(-3, 4, size=idx.size).astype(np.float32)
    return torch.as_tensor(idx), torch.as_tensor(vals)


def _permute(poly, perm, index: MonomialIndex):
    idx, vals = poly
    monos = [index.monomial(int(i)) for i in idx]
    new = [index.index(tuple(sorted(perm[v] for v in m))) for m in monos]
    return torch.as_tensor(new), vals


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 9))
def test_features_invariant_under_variable_permutations(seed, n):
    rng = np.random.default_rng(seed)
    index = MonomialIndex(n, 2)
    tables = monomial_tables(n, 2)
    m, f, a = (_random_poly(rng, index.size, int(rng.integers(1, 6))) for _ in range(3))
    perm = rng.permutation(n)
    z = trilinear_features(m, f, a, tables)
    zp = trilinear_features(*(_permute(p, perm, index) for p in (m, f, a)), tables)
    assert torch.allclose(z, zp)
    # trilinearity: z(2m, f, a) = 2 z(m, f, a)
    assert torch.allclose(trilinear_features((m[0], 2 * m[1]), f, a, tables), 2 * z)


def test_features_distinguish_classes():
    tables = monomial_tables(5, 2)
    index = MonomialIndex(5, 2)
    one = (torch.tensor([index.index(())]), torch.ones(1))
    x1 = (torch.tensor([index.index((0,))]), torch.ones(1))
    x2 = (torch.tensor([index.index((1,))]), torch.ones(1))
    # T(1, x1, x1) != T(1, x1, x2) (the paper's example)
    assert not torch.equal(
        trilinear_features(one, x1, x1, tables), trilinear_features(one, x1, x2, tables)
    )


def _rollout(n=7, steps=12, seed=0):
    env = PolyProofEnv(n=n, max_steps=30)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
    return env, obs


def test_action_products_match_session():
    env, obs = _rollout()
    batch = {k: v[None] for k, v in obs.items()}
    state = decode_observation(batch, 0, 2)
    legal = torch.nonzero(state.action_mask).view(-1)
    rows, monos, vals = action_products(state, legal)
    tb = decode_batch({k: torch.as_tensor(v) for k, v in batch.items()}, 2)
    for j, action in enumerate(legal.tolist()):
        expected = env.monomial_index.dense(env.session.product(action))
        got = np.zeros_like(expected)
        got[monos[rows == j].numpy()] = vals[rows == j].numpy()
        np.testing.assert_array_equal(got, expected)
        got_b = np.zeros_like(expected)
        sel = tb.term_row == j
        got_b[tb.term_monomial[sel].numpy()] = tb.term_value[sel].numpy()
        np.testing.assert_array_equal(got_b, expected)


def test_decode_rejects_bad_observations():
    _, obs = _rollout(steps=2)
    bad = {k: v[None].copy() for k, v in obs.items()}
    bad["objective"][0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        decode_observation(bad, 0, 2)
    short = {k: v[None] for k, v in obs.items()}
    short["objective"] = short["objective"][:, :-1]
    with pytest.raises(ValueError, match="monomials"):
        decode_observation(short, 0, 2)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(3, 8))
def test_mean_normalised_features_invariant_and_match_tensor(seed, n):
    rng = np.random.default_rng(seed)
    index = MonomialIndex(n, 2)
    tables = monomial_tables(n, 2)
    m, f, a = (_random_poly(rng, index.size, int(rng.integers(1, 5))) for _ in range(3))
    perm = rng.permutation(n)
    z = trilinear_features(m, f, a, tables, normalize=True)
    zp = trilinear_features(*(_permute(p, perm, index) for p in (m, f, a)), tables, normalize=True)
    assert torch.allclose(z, zp, atol=1e-6)
    # same numbers through the (alpha, gamma) tensor used by the network
    H = objective_class_tensor(m[0], a[0], f[0], f[1].float(), tables, normalize=True)
    z_tensor = torch.einsum("a,g,agk->k", m[1].float(), a[1].float(), H)
    assert torch.allclose(z, z_tensor, atol=1e-5)


def test_mean_normalisation_makes_stable_set_features_independent_of_n():
    sums, means = [], []
    for n in (8, 20, 50):
        tables = monomial_tables(n, 2)
        idx = torch.tensor([0, 1, 2, n + 1])  # 1, x1, x2, x1*x2
        f_idx, f_val = torch.arange(1, n + 1), torch.ones(n)  # f = sum_i x_i
        sums.append(objective_class_tensor(idx, idx, f_idx, f_val, tables))
        means.append(objective_class_tensor(idx, idx, f_idx, f_val, tables, normalize=True))
    assert torch.equal(means[0], means[1]) and torch.equal(means[1], means[2])
    assert not torch.equal(sums[0], sums[2])  # the paper's sum grows with n
