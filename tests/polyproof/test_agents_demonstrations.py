"""DQN from demonstrations: expert episodes, the large-margin loss, pretraining, resume."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agents.dqn import ProofDQN
from agents.dqn.demonstrations import collect_demonstrations, expert_action
from agents.dqn.features import decode_observation, same_product
from agents.dqn.runner import run_greedy_episode
from agents.train_dqn import load_args, train
from baselines.provers import prove_clique_cover
from envs.cli import UsageError
from envs.polyproof.env import PolyProofEnv

N = 6


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _demos(episodes: int = 3, seed: int = 5):
    return collect_demonstrations(
        PolyProofEnv(n=N, max_steps=10), "clique_cover", episodes, seed, progress=False
    )


def test_demonstrations_are_the_expert_proofs_and_deterministic():
    buffer, bounds = _demos()
    again, bounds_again = _demos()
    assert bounds == bounds_again and buffer.size() == again.size() > 0
    size = buffer.size()
    assert np.array_equal(buffer.actions[:size], again.actions[:size])
    for t in range(size):  # every stored action was legal in its stored state
        assert buffer.observations["action_mask"][t, 0, int(buffer.actions[t, 0, 0])] == 1
    env = PolyProofEnv(n=N, max_steps=10)
    for episode, bound in enumerate(bounds):  # same bound as the prover run on that problem
        env.reset(seed=5 + episode)
        assert bound == pytest.approx(prove_clique_cover(env.problem, max_steps=10).bound)


def test_expert_and_collection_errors():
    env = PolyProofEnv(n=N, max_steps=4)
    with pytest.raises(RuntimeError, match="reset"):
        expert_action(env, "clique_cover")
    env.reset(seed=0)
    with pytest.raises(ValueError, match="unknown expert"):
        expert_action(env, "oracle")
    with pytest.raises(ValueError, match="episodes"):
        collect_demonstrations(env, "clique_cover", 0, 0, progress=False)
    with pytest.raises(ValueError, match="full"):
        collect_demonstrations(env, "clique_cover", 2, 0, buffer_size=3, progress=False)


def _model(**kwargs):
    params = dict(
        learning_starts=8,
        buffer_size=100,
        batch_size=8,
        learning_rate=3e-3,
        policy_kwargs={"width": 16},
        seed=0,
        device="cpu",
        margin_negatives=8,
    )
    params.update(kwargs)
    return ProofDQN("ProofDQNPolicy", PolyProofEnv(n=N, max_steps=10), **params)


def test_margin_pretraining_imitates_the_expert():
    buffer, _ = _demos(episodes=4)
    model = _model()
    with pytest.raises(RuntimeError, match="set_demonstrations"):
        model.pretrain(1)
    model.set_demonstrations(buffer)
    size = buffer.size()
    batch = buffer._get_samples(np.arange(size))

    def agreement() -> float:
        with torch.no_grad():
            q = model.q_net(batch.observations)  # all legal actions of each state
        hits = 0
        for b, values in enumerate(q):
            legal = np.flatnonzero(batch.observations["action_mask"][b].numpy())
            hits += int(legal[int(values.argmax())] == int(batch.actions[b, 0]))
        return hits / size

    with torch.no_grad():
        before_loss = model.margin_loss(batch).item()
    before = agreement()
    rows = model.pretrain(150, td=False, progress=False)
    assert all("td_loss" not in row for row in rows)
    with torch.no_grad():
        after_loss = model.margin_loss(batch).item()
    assert after_loss < before_loss
    assert agreement() > max(before, 0.5)
    rows = model.pretrain(2, td=True, progress=False)
    assert "td_loss" in rows[-1] and "margin_loss" in rows[-1]


def test_learning_mixes_demonstrations_and_save_drops_them(tmp_path):
    buffer, _ = _demos()
    model = _model(demonstration_fraction=0.5)
    with pytest.raises(ValueError, match="demonstration_fraction"):
        _model(demonstration_fraction=1.5)
    model.set_demonstrations(buffer)
    model.learn(24)
    assert model._n_updates > 0
    model.save(tmp_path / "m.zip")
    loaded = ProofDQN.load(tmp_path / "m.zip", device="cpu")
    assert loaded.demonstration_buffer is None and loaded.demonstration_fraction == 0.5


DEMONSTRATIONS = (
    "expert=clique_cover",
    "demonstration_episodes=2",
    "pretrain_steps=3",
    "margin_negatives=4",
)


def test_training_script_with_demonstrations_resumes_exactly(tmp_path, tiny_train_args):
    straight = train(tiny_train_args(tmp_path / "a", 24, *DEMONSTRATIONS), quiet=True)
    assert (tmp_path / "a" / "demonstrations.json").exists()
    assert (tmp_path / "a" / "pretrained_model.zip").exists()
    train(tiny_train_args(tmp_path / "b", 12, *DEMONSTRATIONS), quiet=True)
    resumed = train(tiny_train_args(tmp_path / "b", 24, *DEMONSTRATIONS), resume=True, quiet=True)
    sd1, sd2 = straight.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    with pytest.raises(UsageError, match="expert"):
        load_args(None, ["demonstration_episodes=2"])
    with pytest.raises(UsageError, match="pretrain_steps"):
        load_args(None, ["pretrain_steps=2"])


def test_pretraining_alone_saves_the_model(tmp_path, tiny_train_args):
    args = tiny_train_args(tmp_path / "p", 0, *DEMONSTRATIONS, "pretrain_td=false")
    train(args, quiet=True)
    assert (tmp_path / "p" / "model.zip").exists()
    assert (tmp_path / "p" / "pretrained_model.zip").exists()
    with pytest.raises(UsageError, match="total_timesteps"):
        tiny_train_args(tmp_path / "q", 0)


def test_mined_negatives_contain_the_highest_q_action():
    buffer, _ = _demos(episodes=2)
    batch = buffer._get_samples(np.arange(buffer.size()))
    sampled, mined = _model(margin_negatives=2), _model(margin_negatives=2, mined_negatives=1)
    mined.q_net.load_state_dict(sampled.q_net.state_dict())
    with torch.no_grad():
        # with the top-Q non-expert action among the negatives the max is the global one
        assert mined.margin_loss(batch).item() >= sampled.margin_loss(batch).item() - 1e-6
        q = mined.q_net(batch.observations)
        expected = []
        for b, values in enumerate(q):
            legal = np.flatnonzero(batch.observations["action_mask"][b].numpy())
            expert = int(batch.actions[b, 0])
            values = values.numpy()
            state = decode_observation(batch.observations, b, 2)
            twin = same_product(state, expert, torch.as_tensor(legal)).numpy()
            best_other = max(
                (v for a, v, t in zip(legal, values, twin, strict=True) if a != expert and not t),
                default=None,
            )
            q_expert = values[list(legal).index(expert)]
            expected.append(
                max(0.0, best_other + mined.expert_margin - q_expert)
                if best_other is not None
                else 0.0
            )
        assert mined.margin_loss(batch).item() == pytest.approx(np.mean(expected), abs=1e-5)


def test_same_product_finds_the_swapped_factors():
    env = PolyProofEnv(n=6, max_steps=5)
    obs, _ = env.reset(seed=0)
    state = decode_observation({k: v[None] for k, v in obs.items()}, 0, 2)
    n, width = 6, 12
    u, v = 1, 4
    first = (n + 1 + u) * width + n + v  # (1 - x_u) * (1 - x_v)
    swapped = (n + 1 + v) * width + n + u  # (1 - x_v) * (1 - x_u)
    other = (n + 1 + u) * width + v  # (1 - x_u) * x_v
    twin = same_product(state, first, torch.tensor([swapped, other, first]))
    assert twin.tolist() == [True, False, True]


class _ExpertAsPolicy:
    """The expert behind the ``predict`` interface, to check DAgger's relabelling."""

    def __init__(self, env: PolyProofEnv) -> None:
        self.env = env

    def predict(self, obs, deterministic=True):
        return expert_action(self.env, "clique_cover"), None


def test_dagger_plays_the_policy_and_stores_the_expert_labels():
    env = PolyProofEnv(n=N, max_steps=10)
    plain, plain_bounds = _demos()
    relabelled, bounds = collect_demonstrations(
        env, "clique_cover", 3, 5, policy=_ExpertAsPolicy(env), progress=False
    )
    size = plain.size()  # the expert playing itself: exactly the plain demonstrations
    assert bounds == plain_bounds and relabelled.size() == size
    assert np.array_equal(relabelled.actions[:size], plain.actions[:size])
    model = _model()  # an untrained agent plays: its own proofs, labelled by the expert
    buffer, _ = collect_demonstrations(
        env, "clique_cover", 3, 5, buffer_size=size + 3 * 10, progress=False
    )
    buffer, agent_bounds = collect_demonstrations(
        env, "clique_cover", 3, 5, policy=model.policy, buffer=buffer, progress=False
    )
    assert buffer.size() > size
    for episode, bound in enumerate(agent_bounds):
        env.reset(seed=5 + episode)
        replay = run_greedy_episode(model.policy, PolyProofEnv(n=N, max_steps=10), env.problem)
        assert bound == replay.bound
    for t in range(size, buffer.size()):  # every label is legal in its (agent-visited) state
        assert buffer.observations["action_mask"][t, 0, int(buffer.actions[t, 0, 0])] == 1
    with pytest.raises(ValueError, match="action space"):
        collect_demonstrations(
            PolyProofEnv(n=N, max_steps=4), "clique_cover", 1, 0, buffer=buffer, progress=False
        )


DAGGER = (
    *DEMONSTRATIONS,
    "pretrain_td=false",
    "dagger_rounds=2",
    "dagger_episodes=1",
    "dagger_updates=2",
)


def test_training_with_dagger_resumes_after_an_interrupted_round(
    tmp_path, tiny_train_args, monkeypatch
):
    import agents.dqn.demonstrations as demonstrations

    straight = train(tiny_train_args(tmp_path / "a", 0, *DAGGER), quiet=True)
    info = json.loads((tmp_path / "a" / "demonstrations.json").read_text())
    assert [row["round"] for row in info["dagger"]] == [1, 2]
    assert info["dagger"][-1]["transitions"] > info["transitions"]
    real = demonstrations.collect_demonstrations
    calls = []

    def interrupted(*args, **kwargs):
        if kwargs.get("policy") is not None:
            calls.append(1)
            if len(calls) == 2:
                raise KeyboardInterrupt  # killed during the second round
        return real(*args, **kwargs)

    monkeypatch.setattr(demonstrations, "collect_demonstrations", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_train_args(tmp_path / "b", 0, *DAGGER), quiet=True)
    monkeypatch.setattr(demonstrations, "collect_demonstrations", real)
    with pytest.raises(UsageError, match="already has a checkpoint"):
        train(tiny_train_args(tmp_path / "b", 0, *DAGGER), quiet=True)
    resumed = train(tiny_train_args(tmp_path / "b", 0, *DAGGER), resume=True, quiet=True)
    sd1, sd2 = straight.policy.state_dict(), resumed.policy.state_dict()
    assert all(torch.equal(sd1[k], sd2[k]) for k in sd1)
    again = json.loads((tmp_path / "b" / "demonstrations.json").read_text())
    assert again["dagger"] == info["dagger"]
    with pytest.raises(UsageError, match="no checkpoint"):
        train(tiny_train_args(tmp_path / "c", 0, *DAGGER), resume=True, quiet=True)


@pytest.mark.parametrize(
    "overrides, message",
    [
        (("dagger_rounds=-1",), "dagger_rounds"),
        (("dagger_rounds=1",), "pretrain_steps"),
        ((*DEMONSTRATIONS, "dagger_rounds=1"), "margin loss only"),
        ((*DAGGER, "dagger_updates=0"), "dagger_episodes and dagger_updates"),
    ],
)
def test_dagger_options_are_checked(overrides, message, tmp_path, tiny_train_args):
    with pytest.raises(UsageError, match=message):
        tiny_train_args(tmp_path, 0 if "pretrain_steps=3" in overrides else 12, *overrides)
