"""Prioritised replay for DQfD (Hester et al. 2018; Schaul et al. 2016), with n-step returns.

:class:`PrioritizedMaskedReplayBuffer` is a :class:`MaskedDictReplayBuffer` whose first
``num_demonstrations`` slots hold the demonstrations for good (the agent's transitions
wrap around after them, never over them). Sampling is proportional to
``p_i^alpha`` with importance weights ``(N * P(i))^-beta / max``; priorities are
``|delta_i| + eps`` plus ``demo_bonus`` for demonstrations. Every sample also carries its
n-step return ``sum_k gamma^k r_{i+k}``, the discount ``gamma^m`` of the state ``m <= n``
steps later, that state and its action mask (the window stops at an episode's end and
at the newest transition).

Demonstrations relabelled by DAgger (the stored action is the expert's label, not the
action that produced the stored reward and next state) are marked ``td_ok = False``: they
get the margin loss only.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces

from agents.dqn.buffers import MaskedDictReplayBuffer, MaskedDictReplayBufferSamples


class PrioritizedSamples(NamedTuple):
    samples: MaskedDictReplayBufferSamples
    indices: np.ndarray  # flat indices (pos * n_envs + env)
    weights: torch.Tensor  # importance-sampling weights, max 1
    is_demo: torch.Tensor  # bool
    td_ok: torch.Tensor  # bool: the stored action produced the stored transition
    n_returns: torch.Tensor  # n-step discounted reward sums
    n_discounts: torch.Tensor  # gamma^m, 0 if the window ends in a terminal state
    n_next_observations: dict[str, torch.Tensor]
    n_next_masks: torch.Tensor


class PrioritizedMaskedReplayBuffer(MaskedDictReplayBuffer):
    """Proportional prioritised replay with a permanent demonstration prefix and n-step returns."""

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
        alpha: float = 0.4,
        beta: float = 0.6,
        eps: float = 1e-3,
        demo_bonus: float = 1.0,
        n_step: int = 10,
        gamma: float = 0.99,
    ) -> None:
        super().__init__(
            buffer_size,
            observation_space,
            action_space,
            device=device,
            n_envs=n_envs,
            optimize_memory_usage=optimize_memory_usage,
            handle_timeout_termination=handle_timeout_termination,
        )
        if n_step < 1:
            raise ValueError(f"n_step must be >= 1, got {n_step}")
        self.alpha, self.beta, self.eps, self.demo_bonus = alpha, beta, eps, demo_bonus
        self.n_step, self.gamma = n_step, gamma
        self.priorities = np.zeros((self.buffer_size, self.n_envs), dtype=np.float64)
        self.td_ok = np.ones((self.buffer_size, self.n_envs), dtype=bool)
        self.num_demonstrations = 0
        self.max_priority = 1.0

    # -- filling -----------------------------------------------------------------------------
    def add(self, obs: dict[str, np.ndarray], next_obs: dict[str, np.ndarray], action: np.ndarray,
            reward: np.ndarray, done: np.ndarray, infos: list[dict[str, Any]]) -> None:  # fmt: skip
        pos = self.pos
        super().add(obs, next_obs, action, reward, done, infos)
        self.priorities[pos] = self.max_priority
        self.td_ok[pos] = True
        if self.pos == 0 and self.full:  # wrap around after the demonstrations
            self.pos = self.num_demonstrations

    def add_demonstrations(
        self, demos: MaskedDictReplayBuffer, td_ok: np.ndarray | None = None
    ) -> None:
        """Copy every transition of ``demos`` (env 0) into the permanent prefix (call first)."""
        if self.pos or self.full:
            raise RuntimeError("add the demonstrations before any agent transition")
        count = demos.size()
        if count >= self.buffer_size:
            raise ValueError(
                f"{count} demonstrations do not leave room in a buffer of {self.buffer_size}"
            )
        if demos.num_actions != self.num_actions:
            raise ValueError("the demonstrations were made for another action space")
        for key in self.observations:
            self.observations[key][:count, :] = demos.observations[key][:count, :1]
            self.next_observations[key][:count, :] = demos.next_observations[key][:count, :1]
        for name in ("actions", "rewards", "dones", "timeouts", "next_action_masks"):
            getattr(self, name)[:count, :] = getattr(demos, name)[:count, :1]
        self.td_ok[:count] = True if td_ok is None else np.asarray(td_ok, dtype=bool)[:count, None]
        self.priorities[:count] = self.max_priority + self.demo_bonus
        self.num_demonstrations = self.pos = count

    # -- sampling -------------------------------------------------------------------------------
    def _valid(self) -> int:
        return self.buffer_size if self.full else self.pos

    def _next_index(self, index: int) -> int:
        nxt = index + 1
        return self.num_demonstrations if nxt == self.buffer_size else nxt

    def sample_prioritized(self, batch_size: int) -> PrioritizedSamples:
        """``batch_size`` transitions drawn proportionally to ``priority^alpha`` (numpy's global RNG)."""
        upper = self._valid()
        if upper == 0:
            raise RuntimeError("the buffer is empty")
        p = self.priorities[:upper].reshape(-1) ** self.alpha
        probs = p / p.sum()
        flat = np.random.choice(probs.size, size=batch_size, p=probs)
        weights = (probs.size * probs[flat]) ** (-self.beta)
        weights /= weights.max()
        batch_inds, env_inds = np.divmod(flat, self.n_envs)
        samples = self._gather(batch_inds, env_inds)
        returns, discounts, last = self._n_step(batch_inds, env_inds)
        n_next = {k: self.to_torch(o[last, env_inds, :]) for k, o in self.next_observations.items()}
        masks = np.unpackbits(
            self.next_action_masks[last, env_inds], axis=-1, count=self.num_actions
        )
        return PrioritizedSamples(
            samples=samples,
            indices=flat,
            weights=self.to_torch(weights.astype(np.float32)),
            is_demo=torch.as_tensor(batch_inds < self.num_demonstrations, device=self.device),
            td_ok=torch.as_tensor(self.td_ok[batch_inds, env_inds], device=self.device),
            n_returns=self.to_torch(returns.astype(np.float32)),
            n_discounts=self.to_torch(discounts.astype(np.float32)),
            n_next_observations=n_next,
            n_next_masks=torch.as_tensor(masks.astype(bool), device=self.device),
        )

    def _gather(
        self, batch_inds: np.ndarray, env_inds: np.ndarray
    ) -> MaskedDictReplayBufferSamples:
        obs = {k: o[batch_inds, env_inds, :] for k, o in self.observations.items()}
        next_obs = {k: o[batch_inds, env_inds, :] for k, o in self.next_observations.items()}
        masks = np.unpackbits(
            self.next_action_masks[batch_inds, env_inds], axis=-1, count=self.num_actions
        )
        dones = self.dones[batch_inds, env_inds] * (1 - self.timeouts[batch_inds, env_inds])
        return MaskedDictReplayBufferSamples(
            observations={k: self.to_torch(v) for k, v in obs.items()},
            actions=self.to_torch(self.actions[batch_inds, env_inds]),
            next_observations={k: self.to_torch(v) for k, v in next_obs.items()},
            dones=self.to_torch(dones).reshape(-1, 1),
            rewards=self.to_torch(self.rewards[batch_inds, env_inds].reshape(-1, 1)),
            next_action_masks=torch.as_tensor(masks.astype(bool), device=self.device),
        )

    def _n_step(
        self, batch_inds: np.ndarray, env_inds: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per sample: n-step return, ``gamma^m`` (0 after a terminal state), last index."""
        returns = np.zeros(len(batch_inds))
        discounts = np.zeros(len(batch_inds))
        last = np.array(batch_inds, copy=True)
        upper = self._valid()
        for b, (start, env) in enumerate(zip(batch_inds, env_inds, strict=True)):
            index, total, factor = int(start), 0.0, 1.0
            demo = start < self.num_demonstrations
            for k in range(self.n_step):
                total += factor * float(self.rewards[index, env])
                factor *= self.gamma
                last[b] = index
                if self.dones[index, env]:
                    if not self.timeouts[index, env]:
                        factor = 0.0  # terminal: no bootstrap
                    break
                nxt = index + 1 if demo else self._next_index(index)
                if (
                    k == self.n_step - 1
                    or nxt >= upper
                    or nxt == self.pos
                    or (demo and nxt >= self.num_demonstrations)
                ):
                    break
                if not self.td_ok[nxt, env]:
                    break
                index = nxt
            returns[b], discounts[b] = total, factor
        return returns, discounts, last

    def update_priorities(self, indices: np.ndarray, td_errors: np.ndarray) -> None:
        """Set ``|delta| + eps`` (+ ``demo_bonus`` for demonstrations) at the sampled indices."""
        batch_inds, env_inds = np.divmod(np.asarray(indices), self.n_envs)
        new = np.abs(np.asarray(td_errors, dtype=np.float64)) + self.eps
        new = new + np.where(batch_inds < self.num_demonstrations, self.demo_bonus, 0.0)
        self.priorities[batch_inds, env_inds] = new
        self.max_priority = max(self.max_priority, float(new.max()))
