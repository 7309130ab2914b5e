"""DQfD: prioritised replay with permanent demonstrations, n-step returns, the DQfD loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.dqn import ProofDQN
from agents.dqn.demonstrations import collect_demonstrations
from agents.dqn.dqfd import dqfd_loss
from agents.dqn.prioritized import PrioritizedMaskedReplayBuffer
from envs.polyproof.env import PolyProofEnv

N, STEPS = 6, 5


def _buffer(size: int = 40, n_step: int = 3) -> tuple[PolyProofEnv, PrioritizedMaskedReplayBuffer]:
    env = PolyProofEnv(n=N, max_steps=STEPS)
    buffer = PrioritizedMaskedReplayBuffer(
        size, env.observation_space, env.action_space, device="cpu", n_step=n_step, gamma=0.5
    )
    return env, buffer


def _add(buffer, env, rewards, done_last=True):
    obs, _ = env.reset(seed=0)
    for i, r in enumerate(rewards):
        action = int(np.flatnonzero(obs["action_mask"])[0])
        nxt, _, _, _, _ = env.step(action)
        done = done_last and i == len(rewards) - 1
        buffer.add({k: v[None] for k, v in obs.items()}, {k: v[None] for k, v in nxt.items()},
                   np.array([[action]]), np.array([r], dtype=np.float32), np.array([done]),
                   [{"TimeLimit.truncated": False}])  # fmt: skip
        obs = nxt


def test_n_step_returns_stop_at_episode_end() -> None:
    env, buffer = _buffer(n_step=3)
    _add(buffer, env, [1.0, 2.0, 4.0, 8.0])
    returns, discounts, last = buffer._n_step(np.array([0, 1, 3]), np.array([0, 0, 0]))
    assert returns[0] == pytest.approx(1 + 0.5 * 2 + 0.25 * 4) and discounts[0] == pytest.approx(
        0.125
    )
    assert last.tolist() == [2, 3, 3]
    assert returns[1] == pytest.approx(2 + 0.5 * 4 + 0.25 * 8) and discounts[1] == 0.0  # terminal
    assert returns[2] == pytest.approx(8.0) and discounts[2] == 0.0


def test_newest_transition_does_not_bootstrap_into_the_future() -> None:
    env, buffer = _buffer(n_step=5)
    _add(buffer, env, [1.0, 1.0], done_last=False)
    returns, discounts, last = buffer._n_step(np.array([0]), np.array([0]))
    assert last[0] == 1 and returns[0] == pytest.approx(1.5) and discounts[0] == pytest.approx(0.25)


def test_demonstrations_are_permanent_and_have_a_priority_bonus() -> None:
    env, buffer = _buffer(size=12)
    demos, _ = collect_demonstrations(env, "clique_cover", 2, seed=0, progress=False)
    count = demos.size()
    buffer.add_demonstrations(demos)
    assert buffer.num_demonstrations == count and buffer.pos == count
    kept = buffer.actions[:count].copy()
    _add(buffer, env, [0.0] * 5, done_last=True)
    _add(buffer, env, [0.0] * 5, done_last=True)  # wraps around after the demonstrations
    assert np.array_equal(buffer.actions[:count], kept)
    assert buffer.full and count <= buffer.pos < buffer.buffer_size
    assert (buffer.priorities[:count] >= buffer.demo_bonus).all()
    buffer.update_priorities(np.array([0, count]), np.array([0.0, 0.0]))
    assert buffer.priorities[0, 0] == pytest.approx(buffer.eps + buffer.demo_bonus)
    assert buffer.priorities[count, 0] == pytest.approx(buffer.eps)
    with pytest.raises(RuntimeError, match="before any agent transition"):
        buffer.add_demonstrations(demos)


@pytest.mark.usefixtures("one_torch_thread")
def test_dqfd_update_margin_on_demonstrations_only() -> None:
    env = PolyProofEnv(n=N, max_steps=STEPS)
    model = ProofDQN(
        "ProofDQNPolicy", env, replay_buffer_class=PrioritizedMaskedReplayBuffer,
        replay_buffer_kwargs={"n_step": 3}, buffer_size=60, batch_size=8, learning_starts=0,
        l2_weight=1e-3, margin_negatives=4, policy_kwargs={"width": 8}, seed=0, device="cpu",
    )  # fmt: skip
    demos, _ = collect_demonstrations(env, "clique_cover", 2, seed=0, progress=False)
    model.replay_buffer.add_demonstrations(demos)
    np.random.seed(0)
    batch = model.replay_buffer.sample_prioritized(8)
    assert bool(batch.is_demo.all())
    loss, td_errors, stats = dqfd_loss(model, batch)
    assert {"td_loss", "n_step_loss", "margin_loss", "l2"} <= set(stats) and torch.isfinite(loss)
    assert td_errors.shape == (8,)
    before = [p.detach().clone() for p in model.q_net.parameters()]
    rows = model.pretrain(3, td=True, progress=False)
    assert len(rows) == 3 and all("margin_loss" in r for r in rows)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.q_net.parameters(), strict=True))
    model.learn(16)  # agent transitions join the demonstrations in the same buffer
    assert model.replay_buffer.size() == demos.size() + 16
    model.replay_buffer.num_demonstrations = 0  # no demonstration in the batch: no margin term
    _, _, stats = dqfd_loss(model, model.replay_buffer.sample_prioritized(4))
    assert "margin_loss" not in stats
