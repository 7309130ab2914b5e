"""Environment helpers for the DQN prover: resumable env wrapper, greedy proof episodes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from envs.polyproof.env import PolyProofEnv
from envs.polyproof.problem import Problem
from envs.polyproof.proof import Proof


class ReplayableEnv(gym.Wrapper):
    """Records the current problem and the actions of the episode so that the exact env
    state can be saved and rebuilt (the LP session itself cannot be pickled).

    :meth:`get_state` returns a picklable dict; :meth:`set_state` resets to the saved
    problem, replays the actions (bit-identical: HiGHS is deterministic) and restores
    the generator's RNG. Returns the last observation.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self._problem: Problem | None = None
        self._actions: list[int] = []

    def reset(self, **kwargs: Any) -> tuple[Any, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._problem = self.env.unwrapped.problem  # type: ignore[attr-defined]
        self._actions = []
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        out = self.env.step(action)
        self._actions.append(int(action))
        return out

    def get_state(self) -> dict[str, Any]:
        return {
            "problem": None if self._problem is None else self._problem.to_json(),
            "actions": list(self._actions),
            "rng": self.env.unwrapped.np_random.bit_generator.state,  # type: ignore[attr-defined]
        }


def restore_env_state(outer: gym.Env, state: dict[str, Any]) -> Any:
    """Rebuild a :class:`ReplayableEnv` state through all its outer wrappers (e.g. Monitor)."""
    if state["problem"] is None:
        raise ValueError("the saved env state has no episode in progress")
    problem = Problem.from_json(state["problem"])
    obs, _ = outer.reset(options={"problem": problem})
    for action in state["actions"]:
        obs, *_ = outer.step(action)
    outer.unwrapped.np_random.bit_generator.state = state["rng"]  # type: ignore[attr-defined]
    return obs


def find_wrapper(env: gym.Env, cls: type) -> Any:
    current = env
    while True:
        if isinstance(current, cls):
            return current
        if not hasattr(current, "env"):
            raise ValueError(f"no {cls.__name__} in the wrapper chain")
        current = current.env


@dataclass
class EpisodeResult:
    bound: float
    steps: int
    proof: Proof | None
    seconds: float
    lp_columns: int
    lp_rows: int


def reset_policy_cache(policy: Any) -> None:
    """Forget the Q-value cache of ``policy`` (a prover, SB3 policy or model), if it has one.

    Call it at every episode start: the caching trick reuses values of earlier steps.
    """
    if hasattr(policy, "cache"):
        policy.cache.reset()
    elif hasattr(policy, "policy") and hasattr(policy.policy, "cache"):
        policy.policy.cache.reset()


def run_greedy_episode(
    policy: Any,
    env: PolyProofEnv,
    problem: Problem,
    certify: bool = False,
    rng: np.random.Generator | None = None,
) -> EpisodeResult:
    """Prove ``problem`` with ``policy`` (greedy; ``policy=None`` and ``rng``: random legal actions).

    ``policy`` is anything with ``predict(obs, deterministic=True)`` (an SB3 model or
    policy). With ``certify`` the final bound is the exact certificate's, verified.
    """
    start = time.perf_counter()
    obs, info = env.reset(options={"problem": problem})
    reset_policy_cache(policy)
    done = False
    steps = 0
    while not done:
        if policy is None:
            if rng is None:
                raise ValueError("a random episode needs rng")
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
        else:
            action, _ = policy.predict(obs, deterministic=True)
            action = int(np.asarray(action).reshape(-1)[0])
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        done = terminated or truncated
    bound = float(info["bound"])
    proof = None
    if certify:
        proof = env.certificate()
        if not proof.is_valid():
            raise RuntimeError("the certificate of the agent's proof does not verify")
        bound = float(proof.bound)
    session = env.session
    return EpisodeResult(
        bound=bound,
        steps=steps,
        proof=proof,
        seconds=time.perf_counter() - start,
        lp_columns=int(session.lp.num_columns) + 1,  # type: ignore[union-attr]
        lp_rows=int(session.lp.num_rows),  # type: ignore[union-attr]
    )
