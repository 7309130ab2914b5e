"""Q-networks of the DQN prover: reference equality, symmetries, caching trick, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.dqn.features import decode_observation
from agents.dqn.policies import CachedQEvaluator, SymmetricQNetwork, VanillaQNetwork
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.graphs import random_graph, stable_set_from_graph

N = 6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _episode(graph, actions_fn, steps, n=N):
    env = PolyProofEnv(n=n, max_steps=40)
    obs, _ = env.reset(options={"problem": stable_set_from_graph(graph)})
    taken = []
    for t in range(steps):
        legal = np.flatnonzero(obs["action_mask"])
        if legal.size == 0:
            break
        a = actions_fn(t, legal)
        taken.append(a)
        obs, *_ = env.step(a)
    return env, obs, taken


def _q_all(net, obs):
    batch = {k: torch.as_tensor(v[None]) for k, v in obs.items()}
    state = decode_observation(batch, 0, net.max_degree)
    legal = torch.nonzero(state.action_mask).view(-1)
    with torch.no_grad():
        return legal, net.q_values(state, legal)


@pytest.fixture(scope="module")
def graph():
    return random_graph(N, np.random.default_rng(3), (0.3, 0.7))


@pytest.fixture(scope="module")
def rollout(graph):
    rng = np.random.default_rng(0)
    return _episode(graph, lambda t, legal: int(rng.choice(legal)), 8)


@pytest.mark.parametrize("normalization", ["sum", "mean"])
def test_fast_q_equals_explicit_z_reference(rollout, normalization):
    torch.manual_seed(0)
    net = SymmetricQNetwork(width=12, objective_normalization=normalization)
    _, obs, _ = rollout
    batch = {k: torch.as_tensor(v[None]) for k, v in obs.items()}
    state = decode_observation(batch, 0, 2)
    legal = torch.nonzero(state.action_mask).view(-1)[:12]
    with torch.no_grad():
        fast = net.q_values(state, legal)
        ref = net.reference_q_values(state, legal)
    assert torch.allclose(fast, ref, atol=1e-5)


@pytest.mark.parametrize("normalization", ["sum", "mean"])
def test_q_invariant_under_variable_relabelling(graph, normalization):
    torch.manual_seed(1)
    net = SymmetricQNetwork(width=12, objective_normalization=normalization)
    vanilla = VanillaQNetwork(n=N, width=12)
    perm = np.random.default_rng(7).permutation(N)
    relabelled = graph.__class__()
    relabelled.add_nodes_from(range(N))
    relabelled.add_edges_from((int(perm[u]), int(perm[v])) for u, v in graph.edges())

    def slot_map(slot, n_axioms=2 * N + 1):
        if slot == 0 or slot >= n_axioms:
            return slot
        if slot <= N:
            return 1 + int(perm[slot - 1])
        return 1 + N + int(perm[slot - 1 - N])

    def act_map(a):
        parent, k = divmod(a, 2 * N)
        k2 = int(perm[k]) if k < N else N + int(perm[k - N])
        return slot_map(parent) * 2 * N + k2

    rng = np.random.default_rng(5)
    env, obs, taken = _episode(graph, lambda t, legal: int(rng.choice(legal)), 8)
    env2, obs2, _ = _episode(relabelled, lambda t, legal: act_map(taken[t]), len(taken))
    legal, q = _q_all(net, obs)
    legal2, q2 = _q_all(net, obs2)
    mapped = {act_map(int(a)): float(v) for a, v in zip(legal, q, strict=True)}
    got = {int(a): float(v) for a, v in zip(legal2, q2, strict=True)}
    assert mapped.keys() == got.keys()
    assert max(abs(mapped[a] - got[a]) for a in got) < 1e-5
    # the vanilla ablation has no such symmetry
    _, qv = _q_all(vanilla, obs)
    _, qv2 = _q_all(vanilla, obs2)
    vmapped = {act_map(int(a)): float(v) for a, v in zip(legal, qv, strict=True)}
    vgot = {int(a): float(v) for a, v in zip(legal2, qv2, strict=True)}
    assert max(abs(vmapped[a] - vgot[a]) for a in vgot) > 1e-4


@pytest.mark.parametrize("arch", ["symmetric", "vanilla"])
def test_q_invariant_under_memory_and_equality_permutations(rollout, arch):
    torch.manual_seed(2)
    net = SymmetricQNetwork(width=12) if arch == "symmetric" else VanillaQNetwork(n=N, width=12)
    _, obs, _ = rollout
    rng = np.random.default_rng(11)
    filled = int(obs["memory_mask"].sum())
    sigma = np.arange(len(obs["memory_mask"]))
    sigma[:filled] = rng.permutation(filled)
    new = {k: v.copy() for k, v in obs.items()}
    owner = obs["memory_term_owner"]
    terms = np.flatnonzero(owner >= 0)
    order = rng.permutation(terms)  # shuffle the term list too
    new["memory_term_owner"][terms] = sigma[owner[order]]
    new["memory_term_monomial"][terms] = obs["memory_term_monomial"][order]
    new["memory_term_coefficient"][terms] = obs["memory_term_coefficient"][order]
    eq = obs["equalities"]
    k = int((eq >= 0).sum())
    new["equalities"][:k] = eq[:k][rng.permutation(k)]
    two_n = 2 * N
    mask = np.zeros_like(obs["action_mask"])
    for a in np.flatnonzero(obs["action_mask"]):
        mask[sigma[a // two_n] * two_n + a % two_n] = 1
    new["action_mask"] = mask
    legal, q = _q_all(net, obs)
    legal2, q2 = _q_all(net, new)
    got = dict(zip(legal2.tolist(), q2.tolist(), strict=True))
    for a, v in zip(legal.tolist(), q.tolist(), strict=True):
        assert abs(got[int(sigma[a // two_n]) * two_n + a % two_n] - v) < 1e-5


@pytest.mark.parametrize("arch", ["symmetric", "vanilla"])
def test_cached_q_values_equal_uncached(graph, arch):
    torch.manual_seed(3)
    net = SymmetricQNetwork(width=12) if arch == "symmetric" else VanillaQNetwork(n=N, width=12)
    cache = CachedQEvaluator(net)
    env = PolyProofEnv(n=N, max_steps=40)
    obs, _ = env.reset(options={"problem": stable_set_from_graph(graph)})
    for _ in range(10):
        legal, q = _q_all(net, obs)
        cached = cache.q_values(obs)
        assert np.all(np.isneginf(np.delete(cached, legal.numpy())))
        np.testing.assert_allclose(cached[legal.numpy()], q.numpy(), atol=1e-5)
        obs, _, term, trunc, _ = env.step(int(np.argmax(cached)))
        if term or trunc:
            break
    assert cache.incremental_evaluations >= 5 and cache.full_evaluations == 1
    cache.parameter_version += 1  # parameters changed: full recomputation
    cache.q_values(obs)
    assert cache.full_evaluations == 2


@pytest.mark.parametrize("arch", ["symmetric", "vanilla"])
def test_batched_forward_equals_per_state(arch):
    torch.manual_seed(4)
    net = SymmetricQNetwork(width=12) if arch == "symmetric" else VanillaQNetwork(n=N, width=12)
    rng = np.random.default_rng(2)
    observations = []
    for seed in range(3):
        env = PolyProofEnv(n=N, max_steps=40)
        obs, _ = env.reset(seed=seed)
        for _ in range(2 + 3 * seed):
            obs, *_ = env.step(int(rng.choice(np.flatnonzero(obs["action_mask"]))))
        observations.append(obs)
    batch = {k: torch.as_tensor(np.stack([o[k] for o in observations])) for k in observations[0]}
    with torch.no_grad():
        batched = net(batch)
        per_sample = net._forward_per_sample(batch)
    for b, obs in enumerate(observations):
        _, q = _q_all(net, obs)
        assert torch.allclose(batched[b], q, atol=1e-5)
        assert torch.allclose(per_sample[b], q, atol=1e-5)


def test_symmetric_network_runs_at_any_n():
    torch.manual_seed(5)
    net = SymmetricQNetwork(width=8)
    for n in (4, 9):
        env = PolyProofEnv(n=n, max_steps=5)
        obs, _ = env.reset(seed=n)
        legal, q = _q_all(net, obs)
        assert q.shape == legal.shape and torch.isfinite(q).all()
    with pytest.raises(ValueError, match="built for n"):
        _q_all(VanillaQNetwork(n=4, width=8), obs)


def test_instance_cache_is_bounded_by_bytes():
    from agents.dqn.policies import _InstanceCache

    cache = _InstanceCache(size=10, max_bytes=1000)
    for i in range(5):
        cache.data[("k", i)] = (torch.zeros(100), torch.zeros(100))  # 800 bytes each
        cache._evict()
    assert list(cache.data) == [("k", 4)] and cache.nbytes() == 800
    cache.data[("full", 0)] = torch.zeros(10)
    cache._evict()
    assert ("full", 0) in cache.data and cache.nbytes() <= 1000
