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

Behaviour cloning alone suffers from covariate shift: the agent reaches states the
expert never visits (at n = 50, dominated sub-cliques of a clique it has already
built) and has no label there. DAgger (Ross, Gordon and Bagnell 2011) fixes this:
``collect_demonstrations(..., policy=agent)`` plays the *agent's* greedy actions and
stores, for every state it visits, the expert's action as the label. Such relabelled
transitions carry the next state and reward of the action actually played, not of
the label, so they are meant for the large-margin loss only (``pretrain(td=False)``);
:mod:`agents.train_dqn` enforces that.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
from tqdm import tqdm

from agents.dqn.buffers import MaskedDictReplayBuffer
from agents.dqn.runner import reset_policy_cache
from baselines.provers import SCRIPTED_CHOICES
from envs.polyproof.env import PolyProofEnv

EXPERTS: dict[str, Callable] = SCRIPTED_CHOICES


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
    policy: Any = None,
    buffer: MaskedDictReplayBuffer | None = None,
) -> tuple[MaskedDictReplayBuffer, list[float]]:
    """Play ``episodes`` episodes in ``env`` and store every transition, labelled with the expert's action.

    Without ``policy`` the expert plays (plain demonstrations). With ``policy`` (anything
    with ``predict(obs, deterministic=True)``: an SB3 model or policy) the policy plays
    greedily and every visited state is stored with the expert's action as its label
    (DAgger); then the stored reward and next state are those of the played action.

    Transitions are appended to ``buffer`` if given, otherwise to a new one of capacity
    ``buffer_size`` (default ``episodes * max_steps``). Returns the buffer and the final
    bound of each episode (of whoever played). Deterministic: episode ``i`` resets with
    seed ``seed + i``.
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    base = env.unwrapped
    if not isinstance(base, PolyProofEnv):
        raise TypeError("demonstrations need a PolyProof-v0 environment")
    if buffer is None:
        buffer = MaskedDictReplayBuffer(
            buffer_size or episodes * base.max_steps,
            env.observation_space,
            env.action_space,
            device=device,
            handle_timeout_termination=True,
        )
    elif buffer.num_actions != env.action_space.n:  # type: ignore[attr-defined]
        raise ValueError("the buffer was made for another action space")
    capacity = buffer.buffer_size
    desc = f"{'DAgger' if policy is not None else 'demonstrations'} ({expert})"
    bounds: list[float] = []
    for episode in tqdm(range(episodes), desc=desc, disable=not progress):
        obs, _ = env.reset(seed=seed + episode)
        reset_policy_cache(policy)
        done = False
        info: dict = {}
        while not done:
            label = expert_action(base, expert)
            action = label
            if policy is not None:
                played, _ = policy.predict(obs, deterministic=True)
                action = int(np.asarray(played).reshape(-1)[0])
            next_obs, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            if buffer.full:  # one more add would overwrite the oldest transition
                raise ValueError(
                    f"demonstration buffer of size {capacity} is full; raise buffer_size"
                )
            buffer.add(
                {k: v[None] for k, v in obs.items()},
                {k: v[None] for k, v in next_obs.items()},
                np.array([[label]]),
                np.array([reward], dtype=np.float32),
                np.array([terminated]),
                [{"TimeLimit.truncated": truncated and not terminated}],
            )
            obs = next_obs
        bounds.append(float(info.get("bound", np.nan)))
    return buffer, bounds
