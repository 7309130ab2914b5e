"""One checkpoint for every n through the SB3 API (issue 13, section 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from stable_baselines3.common.evaluation import evaluate_policy

from agents.dqn import ProofDQN
from envs.polyproof.env import PolyProofEnv

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINTS = [ROOT / "checkpoints" / "dqn_cpu_dagger.zip"]
if (ROOT / "checkpoints" / "polyproof_dqn.zip").exists():
    CHECKPOINTS.append(ROOT / "checkpoints" / "polyproof_dqn.zip")

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def dense(n: int) -> tuple[float, float]:
    """Dense graphs at large n: the network's per-instance tensor grows with the sparse
    support of f (about |supp|^2 * 100 floats), so sparse G(50, p) takes ~20 s per graph."""
    return (0.9, 1.0) if n >= 30 else (0.5, 1.0)


@pytest.mark.parametrize("checkpoint", CHECKPOINTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("n", [10, 15, 30, 50])
def test_load_with_env_predict_and_evaluate_policy(checkpoint: Path, n: int) -> None:
    env = PolyProofEnv(n=n, max_steps=4, p_range=dense(n))
    model = ProofDQN.load(checkpoint, env=env, device="cpu")
    assert model.observation_space["action_mask"].shape == (env.action_space.n,)
    obs, _ = env.reset(seed=n)
    action, _ = model.predict(obs, deterministic=True)
    assert obs["action_mask"][int(action)] == 1
    # sb3-contrib MaskablePPO style: an extra mask restricts the choice
    only = np.zeros(env.action_space.n, dtype=bool)
    legal = np.flatnonzero(env.action_masks())
    only[legal[-1]] = True
    masked, _ = model.predict(obs, deterministic=True, action_masks=only)
    assert int(masked) == legal[-1]
    mean, _ = evaluate_policy(model, env, n_eval_episodes=1, deterministic=True, warn=False)
    assert mean >= 0.0  # rewards are bound decreases


@pytest.mark.parametrize("n", [10, 15, 30, pytest.param(50, marks=pytest.mark.slow)])
def test_load_without_env_predicts_any_size(n: int) -> None:
    model = ProofDQN.load(CHECKPOINTS[0], device="cpu")
    for max_steps in (3, 100):
        env = PolyProofEnv(n=n, max_steps=max_steps, p_range=dense(n))
        obs, _ = env.reset(seed=1)
        action, _ = model.predict(obs, deterministic=True)
        assert env.action_masks()[int(action)]
        batch = {k: v[None] for k, v in obs.items()}
        actions, _ = model.predict(batch, deterministic=True)
        assert actions.shape == (1,) and int(actions[0]) == int(action)
        actions, _ = model.policy.predict(batch, deterministic=True)
        assert int(actions[0]) == int(action)


def test_default_env_and_set_env_other_n() -> None:
    model = ProofDQN.load(CHECKPOINTS[0], device="cpu")
    env = PolyProofEnv()  # default PolyProof-v0 (n = 25), not the training shape
    obs, _ = env.reset(seed=0)
    action, _ = model.predict(obs, deterministic=True)
    assert env.action_masks()[int(action)]
    model.set_env(PolyProofEnv(n=8, max_steps=5))
    assert model.replay_buffer.observations["action_mask"].shape[-1] == model.action_space.n
    model.learning_starts = 0
    model.learn(8)  # collects and trains at the new size
    assert model.num_timesteps == 8


def test_bad_inputs_are_clear() -> None:
    model = ProofDQN.load(CHECKPOINTS[0], device="cpu")
    env = PolyProofEnv(n=6, max_steps=3)
    obs, _ = env.reset(seed=0)
    with pytest.raises(ValueError, match="action_masks has"):
        model.predict(obs, action_masks=np.ones(3, dtype=bool))
    with pytest.raises(ValueError, match="keys"):
        model.predict({k: v for k, v in obs.items() if k != "bound"})
    import gymnasium as gym

    with pytest.raises(ValueError, match="Dict observation"):
        ProofDQN.load(CHECKPOINTS[0], env=gym.make("CartPole-v1"), device="cpu")
