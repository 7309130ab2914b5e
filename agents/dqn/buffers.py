"""Replay buffer that keeps the next state's action mask (bit-packed) for masked DQN targets."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.buffers import DictReplayBuffer
from stable_baselines3.common.vec_env import VecNormalize


class MaskedDictReplayBufferSamples(NamedTuple):
    observations: dict[str, torch.Tensor]
    actions: torch.Tensor
    next_observations: dict[str, torch.Tensor]
    dones: torch.Tensor
    rewards: torch.Tensor
    next_action_masks: torch.Tensor  # bool [batch, num_actions]
    discounts: torch.Tensor | None = None


class MaskedDictReplayBuffer(DictReplayBuffer):
    """:class:`DictReplayBuffer` that also stores the legal-action mask of the next state.

    The action set of PolyProof-v0 grows every step, so the DQN target
    ``max_{a'} Q(s', a')`` must range over the legal actions of ``s'`` only. The mask is
    taken from ``next_obs["action_mask"]`` (for a terminal transition SB3 passes the true
    terminal observation, not the auto-reset one) and stored with ``np.packbits``.
    """

    def __init__(
        self,
        buffer_size: int,
        observation_space: spaces.Dict,
        action_space: spaces.Space,
        device: torch.device | str = "auto",
        n_envs: int = 1,
        optimize_memory_usage: bool = False,
        handle_timeout_termination: bool = True,
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
        if not isinstance(action_space, spaces.Discrete):
            raise ValueError("MaskedDictReplayBuffer needs a Discrete action space")
        self.num_actions = int(action_space.n)
        self.packed_size = (self.num_actions + 7) // 8
        self.next_action_masks = np.zeros(
            (self.buffer_size, self.n_envs, self.packed_size), dtype=np.uint8
        )

    def add(
        self,
        obs: dict[str, np.ndarray],
        next_obs: dict[str, np.ndarray],
        action: np.ndarray,
        reward: np.ndarray,
        done: np.ndarray,
        infos: list[dict[str, Any]],
    ) -> None:
        mask = np.asarray(next_obs["action_mask"]).reshape(self.n_envs, self.num_actions) > 0
        self.next_action_masks[self.pos] = np.packbits(mask, axis=-1)
        super().add(obs, next_obs, action, reward, done, infos)

    def _get_samples(  # type: ignore[override]
        self, batch_inds: np.ndarray, env: VecNormalize | None = None
    ) -> MaskedDictReplayBufferSamples:
        env_indices = np.random.randint(0, high=self.n_envs, size=(len(batch_inds),))
        obs = {k: o[batch_inds, env_indices, :] for k, o in self.observations.items()}
        next_obs = {k: o[batch_inds, env_indices, :] for k, o in self.next_observations.items()}
        packed = self.next_action_masks[batch_inds, env_indices]
        masks = np.unpackbits(packed, axis=-1, count=self.num_actions).astype(bool)
        dones = self.dones[batch_inds, env_indices] * (1 - self.timeouts[batch_inds, env_indices])
        return MaskedDictReplayBufferSamples(
            observations={k: self.to_torch(v) for k, v in obs.items()},
            actions=self.to_torch(self.actions[batch_inds, env_indices]),
            next_observations={k: self.to_torch(v) for k, v in next_obs.items()},
            dones=self.to_torch(dones).reshape(-1, 1),
            rewards=self.to_torch(self.rewards[batch_inds, env_indices].reshape(-1, 1)),
            next_action_masks=torch.as_tensor(masks, device=self.device),
        )
