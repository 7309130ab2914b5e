"""Expert demonstrations for DQN from demonstrations (DQfD, Hester et al. 2018).

The paper trains its prover without any prior proofs (1e6 environment steps on a GPU).
On a 2-core CPU budget we optionally pre-fill a separate, never-overwritten replay
buffer with episodes of a scripted expert (the greedy clique-cover prover
:func:`baselines.provers.clique_cover_choice`, or dual pricing) played in the training
environment. :class:`agents.dqn.ProofDQN` then mixes these transitions into its
minibatches with a large-margin loss on the expert's action
(``demonstration_fraction``, ``margin_loss_weight``, ``expert_margin``) and can pretrain
on them before interacting (:meth:`agents.dqn.ProofDQN.pretrain`). The Q-network, the
TD loss and the acting policy are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from agents.dqn.buffers import MaskedDictReplayBuffer
from baselines.provers import clique_cover_choice, dual_pricing_choice
from envs.polyproof.env import PolyProofEnv

EXPERTS: dict[str, Callable] = {
    "clique_cover": clique_cover_choice,
    "dual_pricing": dual_pricing_choice,
}


def expert_action(env: PolyProofEnv, expert: str) -> int:
    """The expert's choice among the legal actions of the env's current state."""
    if expert not in EXPERTS:
        raise ValueError(f"unknown expert {expert!r}: choose one of {sorted(EXPERTS)}")
    session = env.session
    if session is None:
        raise RuntimeError("call env.reset() before asking the expert")
    legal = np.flatnonzero(session.action_mask())
    if legal.size == 0:
        raise RuntimeError("no legal action: the episode should have ended")
    return int(EXPERTS[expert](session, legal))


def collect_demonstrations(
    env: gym.Env,
    expert: str,
    episodes: int,
    seed: int,
    buffer_size: int | None = None,
    device: str = "cpu",
    progress: bool = True,
) -> tuple[MaskedDictReplayBuffer, list[float]]:
    """Play ``episodes`` expert episodes in ``env`` and store every transition.

    Returns the buffer (capacity ``buffer_size``, default ``episodes * max_steps``) and
    the expert's final bound per episode. Deterministic: episode ``i`` resets with seed ``seed + i``.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    base = env.unwrapped
    if not isinstance(base, PolyProofEnv):
        raise TypeError("demonstrations need a PolyProof-v0 environment")
    capacity = buffer_size or episodes * base.max_steps
    buffer = MaskedDictReplayBuffer(
        capacity,
        env.observation_space,
        env.action_space,
        device=device,
        handle_timeout_termination=True,
    )
    bounds: list[float] = []
    for episode in tqdm(range(episodes), desc=f"demonstrations ({expert})", disable=not progress):
        obs, _ = env.reset(seed=seed + episode)
        done = False
        info: dict = {}
        while not done:
            action = expert_action(base, expert)
            next_obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            buffer.add(
                {k: v[None] for k, v in obs.items()},
                {k: v[None] for k, v in next_obs.items()},
                np.array([[action]]),
                np.array([reward], dtype=np.float32),
                np.array([terminated]),
                [{"TimeLimit.truncated": truncated and not terminated}],
            )
            if buffer.full:
                raise ValueError(
                    f"demonstration buffer of size {capacity} is full; raise buffer_size"
                )
            obs = next_obs
        bounds.append(float(info.get("bound", np.nan)))
    return buffer, bounds
