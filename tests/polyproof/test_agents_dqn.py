"""ProofDQN: SB3 integration, masked targets, replay buffer, save/load, exact resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor

from agents.dqn import MaskedDictReplayBuffer, ProofDQN
from agents.train_dqn import load_args, train
from envs.cli import UsageError
from envs.polyproof.env import PolyProofEnv

N = 5


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _model(tmp_path=None, **kwargs):
    env = PolyProofEnv(n=N, max_steps=8)
    params = dict(
        learning_starts=16,
        buffer_size=200,
        batch_size=4,
        train_freq=4,
        target_update_interval=8,
        learning_rate=1e-3,
        policy_kwargs={"width": 8},
        seed=0,
        device="cpu",
    )
    params.update(kwargs)
    if tmp_path is not None:
        params["tensorboard_log"] = str(tmp_path / "tb")
    return ProofDQN("ProofDQNPolicy", env, **params)


class _Counter(BaseCallback):
    def __init__(self):
        super().__init__()
        self.calls = 0

    def _on_step(self) -> bool:
        self.calls += 1
        return True


def test_learn_predict_callbacks_tensorboard_and_evaluate_policy(tmp_path):
    model = _model(tmp_path, exploration_initial_eps=0.5, exploration_final_eps=0.5)
    counter = _Counter()
    model.learn(40, callback=counter)
    assert counter.calls == 40 and model.num_timesteps == 40 and model._n_updates > 0
    assert any((tmp_path / "tb").rglob("events.out.tfevents*"))
    env = PolyProofEnv(n=N, max_steps=8)
    obs, _ = env.reset(seed=3)
    for _ in range(8):
        action, _ = model.predict(obs, deterministic=False)
        assert obs["action_mask"][int(action)] == 1  # exploration only picks legal actions
        obs, _, term, trunc, _ = env.step(int(action))
        if term or trunc:
            break
    mean, std = evaluate_policy(model, Monitor(PolyProofEnv(n=N, max_steps=8)), n_eval_episodes=2)
    assert np.isfinite(mean) and mean >= 0.0  # greedy never takes a masked action


def test_save_load_round_trip(tmp_path):
    model = _model()
    model.learn(24)
    path = tmp_path / "model.zip"
    model.save(path)
    loaded = ProofDQN.load(path, device="cpu")
    env = PolyProofEnv(n=N, max_steps=8)
    obs, _ = env.reset(seed=1)
    batch = {k: torch.as_tensor(v[None]) for k, v in obs.items()}
    with torch.no_grad():
        q1 = model.policy.q_net(batch)[0]
        q2 = loaded.policy.q_net(batch)[0]
    assert torch.equal(q1, q2)
    assert loaded.num_timesteps == 24
    a1, _ = model.predict(obs, deterministic=True)
    a2, _ = loaded.predict(obs, deterministic=True)
    assert int(a1) == int(a2)
    # the optimizer state travels too
    s1 = model.policy.optimizer.state_dict()["state"]
    s2 = loaded.policy.optimizer.state_dict()["state"]
    assert s1.keys() == s2.keys()
    for k in s1:
        assert torch.equal(s1[k]["square_avg"], s2[k]["square_avg"])


def test_replay_buffer_keeps_next_action_mask():
    env = PolyProofEnv(n=N, max_steps=8)
    buf = MaskedDictReplayBuffer(10, env.observation_space, env.action_space, device="cpu")
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(0)
    masks = []
    for _ in range(5):
        a = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        nxt, r, term, trunc, info = env.step(a)
        buf.add(
            {k: v[None] for k, v in obs.items()},
            {k: v[None] for k, v in nxt.items()},
            np.array([a]),
            np.array([r]),
            np.array([term]),
            [info],
        )
        masks.append(nxt["action_mask"].astype(bool))
        obs = nxt
    sample = buf._get_samples(np.arange(5))
    for i in range(5):
        assert np.array_equal(sample.next_action_masks[i].numpy(), masks[i])


def test_target_max_is_masked_by_next_state_mask():
    model = _model()
    env = PolyProofEnv(n=N, max_steps=8)
    obs, _ = env.reset(seed=2)
    batch = {k: torch.as_tensor(v[None]) for k, v in obs.items()}
    with torch.no_grad():
        q_all = model.policy.q_net_target(batch)[0]
    legal = np.flatnonzero(obs["action_mask"])
    best = int(legal[int(q_all.argmax())])
    mask = torch.as_tensor(obs["action_mask"][None] > 0)
    full = model.target_values(batch, mask)
    assert torch.isclose(full[0], q_all.max())
    restricted = mask.clone()
    restricted[0, best] = False  # the best action is not legal in s'
    masked = model.target_values(batch, restricted)
    keep = torch.as_tensor(np.delete(np.arange(len(legal)), int(q_all.argmax())))
    assert torch.isclose(masked[0], q_all[keep].max())
    assert masked[0] <= full[0]
    none = model.target_values(batch, torch.zeros_like(mask))
    assert none[0] == 0.0  # no legal action in s': no bootstrap


def test_bad_arguments():
    with pytest.raises(ValueError, match="loss"):
        _model(loss="cubic")
    with pytest.raises(UsageError, match="unknown config keys"):
        load_args(None, ["no_such_key=1"])
    with pytest.raises(UsageError, match="architecture"):
        load_args(None, ["architecture=transformer"])
    with pytest.raises(UsageError, match="key=value"):
        load_args(None, ["width"])


def test_resume_reproduces_uninterrupted_run(tmp_path, tiny_train_args):
    straight = train(tiny_train_args(tmp_path / "a", 36), quiet=True)
    first = tiny_train_args(tmp_path / "b", 12)
    train(first, quiet=True)  # stops after its checkpoint at step 12 (mid-episode)
    resumed = train(tiny_train_args(tmp_path / "b", 36), resume=True, quiet=True)
    assert resumed.num_timesteps == straight.num_timesteps == 36
    assert resumed._n_updates == straight._n_updates
    sd1, sd2 = straight.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    with pytest.raises(UsageError, match="already has a checkpoint"):
        train(tiny_train_args(tmp_path / "b", 36), quiet=True)  # refuses to overwrite a run


def test_init_from_copies_network_weights_across_n(tmp_path, tiny_train_args):
    source = train(tiny_train_args(tmp_path / "src", 12), quiet=True)
    args = tiny_train_args(tmp_path / "dst", 4)
    args.n = 6  # the symmetric network does not depend on n
    args.learning_starts = 100  # no update: the weights stay the copied ones
    args.init_from = str(tmp_path / "src" / "model.zip")
    target = train(args, quiet=True)
    sd1, sd2 = source.policy.q_net.state_dict(), target.policy.q_net.state_dict()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
