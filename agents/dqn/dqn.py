"""DQN for PolyProof-v0 with masked targets, as an SB3 ``OffPolicyAlgorithm`` (like sb3-contrib's QR-DQN).

Differences from SB3's DQN, all needed because the action set grows every step:

- exploration and warm-up sample uniformly among *legal* actions (``obs["action_mask"]``);
- the TD target ``r + gamma * max_{a' legal in s'} Q_target(s', a')`` masks the max with the
  next state's action mask stored by :class:`MaskedDictReplayBuffer` (no legal action: 0);
- the TD loss is configurable (paper: L1);
- exploration randomness comes from the algorithm's own ``numpy`` generator, saved with
  the model, so that a resumed run continues exactly;
- optional learning from demonstrations (DQfD, Hester et al. 2018): a separate buffer of
  expert transitions (:mod:`agents.dqn.demonstrations`) is mixed into every minibatch and
  gets a large-margin loss ``max_a [Q(s, a) + l(a_E, a)] - Q(s, a_E)`` on the expert's
  action ``a_E`` (over ``margin_negatives`` sampled legal actions), and :meth:`ProofDQN.pretrain`
  trains on it alone before interaction. Off unless :meth:`ProofDQN.set_demonstrations` is called.

``learn``, ``predict``, ``save``/``load``, callbacks, the TensorBoard logger and
:func:`stable_baselines3.common.evaluation.evaluate_policy` work as for any SB3 algorithm.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from stable_baselines3.common.buffers import ReplayBuffer
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.type_aliases import GymEnv, MaybeCallback, Schedule
from stable_baselines3.common.utils import LinearSchedule, polyak_update

from agents.dqn.buffers import MaskedDictReplayBuffer, MaskedDictReplayBufferSamples
from agents.dqn.dqfd import dqfd_loss
from agents.dqn.features import decode_observation, same_product
from agents.dqn.policies import ProofDQNPolicy
from agents.dqn.prioritized import PrioritizedMaskedReplayBuffer
from agents.dqn.spaces import apply_action_masks, check_polyproof_spaces, same_shapes

SelfProofDQN = TypeVar("SelfProofDQN", bound="ProofDQN")

LOSSES = ("l1", "huber", "mse")


class ProofDQN(OffPolicyAlgorithm):
    """Deep Q-learning with masked actions for dynamic polynomial proofs.

    Defaults are the paper's (Fawzi et al. 2019, App. B.4): RMSProp with lr 1e-5,
    batch 32, gamma 0.99, epsilon 0.1, L1 TD loss, a target network.

    Arguments (beyond SB3's ``OffPolicyAlgorithm``):
        target_update_interval: environment steps between hard target updates (``tau=1``).
        exploration_initial_eps, exploration_final_eps, exploration_fraction: linear
            epsilon schedule over ``exploration_total_timesteps`` (default: the ``learn`` call).
        loss: ``"l1"``, ``"huber"`` or ``"mse"``.
        double_q: choose the next action with the online network (off by default).
        max_grad_norm: gradient clipping (``None``: none).
        demonstration_fraction: share of each minibatch drawn from the demonstration buffer
            (only once one is set with :meth:`set_demonstrations`).
        margin_loss_weight, expert_margin, margin_negatives: the DQfD large-margin loss
            (weight, margin ``l``, number of sampled non-expert legal actions).
        mined_negatives: how many of those are the highest-Q non-expert actions.
        n_step_weight, l2_weight: DQfD's n-step TD and L2 weights, used with a
            :class:`PrioritizedMaskedReplayBuffer` (``replay_buffer_class``): then every
            update is :func:`agents.dqn.dqfd.dqfd_loss` on one prioritised minibatch.
    """

    policy_aliases: ClassVar[dict[str, type[BasePolicy]]] = {"ProofDQNPolicy": ProofDQNPolicy}
    policy: ProofDQNPolicy

    def __init__(
        self,
        policy: str | type[ProofDQNPolicy],
        env: GymEnv | str,
        learning_rate: float | Schedule = 1e-5,
        buffer_size: int = 100_000,
        learning_starts: int = 1000,
        batch_size: int = 32,
        tau: float = 1.0,
        gamma: float = 0.99,
        train_freq: int | tuple[int, str] = 4,
        gradient_steps: int = 1,
        replay_buffer_class: type[ReplayBuffer] | None = None,
        replay_buffer_kwargs: dict[str, Any] | None = None,
        target_update_interval: int = 1000,
        exploration_fraction: float = 0.0,
        exploration_initial_eps: float = 0.1,
        exploration_final_eps: float = 0.1,
        exploration_total_timesteps: int | None = None,
        loss: str = "l1",
        double_q: bool = False,
        max_grad_norm: float | None = 10.0,
        demonstration_fraction: float = 0.25,
        margin_loss_weight: float = 1.0,
        expert_margin: float = 0.8,
        margin_negatives: int = 32,
        mined_negatives: int = 0,
        n_step_weight: float = 1.0,
        l2_weight: float = 0.0,
        stats_window_size: int = 100,
        tensorboard_log: str | None = None,
        policy_kwargs: dict[str, Any] | None = None,
        verbose: int = 0,
        seed: int | None = None,
        device: torch.device | str = "auto",
        _init_setup_model: bool = True,
    ) -> None:
        if loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {loss!r}")
        super().__init__(
            policy,
            env,
            learning_rate,
            buffer_size,
            learning_starts,
            batch_size,
            tau,
            gamma,
            train_freq,
            gradient_steps,
            action_noise=None,
            replay_buffer_class=replay_buffer_class or MaskedDictReplayBuffer,
            replay_buffer_kwargs=replay_buffer_kwargs,
            policy_kwargs=policy_kwargs,
            stats_window_size=stats_window_size,
            tensorboard_log=tensorboard_log,
            verbose=verbose,
            device=device,
            seed=seed,
            sde_support=False,
            optimize_memory_usage=False,
            supported_action_spaces=(spaces.Discrete,),
            support_multi_env=True,
        )
        self.target_update_interval = target_update_interval
        self.exploration_fraction = exploration_fraction
        self.exploration_initial_eps = exploration_initial_eps
        self.exploration_final_eps = exploration_final_eps
        self.exploration_total_timesteps = exploration_total_timesteps
        self.loss = loss
        self.double_q = double_q
        self.max_grad_norm = max_grad_norm
        if not 0.0 <= demonstration_fraction <= 1.0:
            raise ValueError(
                f"demonstration_fraction must be in [0, 1], got {demonstration_fraction}"
            )
        if margin_negatives < 1:
            raise ValueError(f"margin_negatives must be >= 1, got {margin_negatives}")
        self.demonstration_fraction = demonstration_fraction
        self.margin_loss_weight = margin_loss_weight
        self.expert_margin = expert_margin
        self.margin_negatives = margin_negatives
        self.mined_negatives = mined_negatives
        self.n_step_weight = n_step_weight
        self.l2_weight = l2_weight
        self.demonstration_buffer: MaskedDictReplayBuffer | None = None
        self._n_calls = 0
        self.exploration_rate = exploration_initial_eps
        self.exploration_rng = np.random.default_rng(seed)
        if _init_setup_model:
            self._setup_model()

    def _setup_model(self) -> None:
        super()._setup_model()
        self.q_net = self.policy.q_net
        self.q_net_target = self.policy.q_net_target
        self.exploration_schedule = LinearSchedule(
            self.exploration_initial_eps, self.exploration_final_eps, self.exploration_fraction
        )

    # -- exploration --------------------------------------------------------------------------
    def _epsilon(self) -> float:
        if self.exploration_total_timesteps:
            progress_remaining = 1.0 - min(
                1.0, self.num_timesteps / self.exploration_total_timesteps
            )
        else:
            progress_remaining = self._current_progress_remaining
        return float(self.exploration_schedule(progress_remaining))

    def _random_legal_actions(self, observation: dict[str, np.ndarray]) -> np.ndarray:
        mask_array = np.asarray(observation["action_mask"])
        masks = mask_array.reshape(-1, mask_array.shape[-1])
        out = np.zeros(len(masks), dtype=np.int64)
        for b, mask in enumerate(masks):
            legal = np.flatnonzero(mask)
            out[b] = int(self.exploration_rng.choice(legal)) if legal.size else 0
        return out

    def _on_step(self) -> None:
        self._n_calls += 1
        if self._n_calls % max(self.target_update_interval // self.n_envs, 1) == 0:
            polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), self.tau)
        self.exploration_rate = self._epsilon()
        self.logger.record("rollout/exploration_rate", self.exploration_rate)

    def predict(
        self,
        observation: np.ndarray | dict[str, np.ndarray],
        state: tuple[np.ndarray, ...] | None = None,
        episode_start: np.ndarray | None = None,
        deterministic: bool = False,
        action_masks: np.ndarray | None = None,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...] | None]:
        """Epsilon-greedy over legal actions (greedy if ``deterministic``), at any ``n``.

        ``action_masks`` (as in sb3-contrib's ``MaskablePPO.predict``, e.g.
        ``env.action_masks()``) restricts the choice further: only actions legal both in
        the observation's ``action_mask`` and in ``action_masks`` are considered.
        """
        if not isinstance(observation, dict):
            raise ValueError("ProofDQN expects PolyProof-v0's dict observations")
        if action_masks is not None:
            observation = apply_action_masks(observation, action_masks)
        vectorized = np.asarray(observation["action_mask"]).ndim == 2
        if not deterministic and self.exploration_rng.random() < self.exploration_rate:
            actions = self._random_legal_actions(observation)
            return (actions if vectorized else actions[0]), state
        return self.policy.predict(observation, state, episode_start, deterministic)

    def _sample_action(
        self, learning_starts: int, action_noise: Any = None, n_envs: int = 1
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.num_timesteps < learning_starts:
            action = self._random_legal_actions(self._last_obs)  # type: ignore[arg-type]
        else:
            action, _ = self.predict(self._last_obs, deterministic=False)  # type: ignore[arg-type]
        action = np.asarray(action).reshape(n_envs)
        return action, action

    # -- training -----------------------------------------------------------------------------
    def _td_loss(self, current: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if self.loss == "l1":
            return F.l1_loss(current, target)
        if self.loss == "huber":
            return F.smooth_l1_loss(current, target)
        return F.mse_loss(current, target)

    @torch.no_grad()
    def target_values(
        self, next_observations: dict[str, torch.Tensor], next_masks: torch.Tensor
    ) -> torch.Tensor:
        """``max_{a' legal} Q_target(s', a')`` per sample (0 where no action is legal)."""
        obs = dict(next_observations)
        obs["action_mask"] = next_masks.to(obs["action_mask"].dtype)
        target_q = self.q_net_target(obs)
        if self.double_q:
            online_q = self.q_net(obs)
        out = torch.zeros(len(target_q), device=self.device)
        for b, q in enumerate(target_q):
            if q.numel() == 0:
                continue
            if self.double_q:
                out[b] = q[int(online_q[b].argmax())]
            else:
                out[b] = q.max()
        return out

    def set_demonstrations(self, buffer: MaskedDictReplayBuffer | None) -> None:
        """Use ``buffer`` (expert transitions, never overwritten) for DQfD; ``None`` turns it off."""
        if buffer is not None and buffer.size() == 0:
            raise ValueError("the demonstration buffer is empty")
        if buffer is not None and buffer.num_actions != self.action_space.n:  # type: ignore[union-attr]
            raise ValueError("the demonstration buffer was made for another action space")
        self.demonstration_buffer = buffer

    def margin_loss(self, data: MaskedDictReplayBufferSamples) -> torch.Tensor:
        """DQfD's ``max_a [Q(s, a) + l(a_E, a)] - Q(s, a_E)`` over the expert action and sampled legal actions.

        With ``mined_negatives = m > 0`` the first ``m`` negatives are the non-expert
        legal actions of highest current Q (hard-negative mining: one no-grad pass over
        every legal action). Of the remaining sampled actions, up to half share the
        expert's parent or multiplier; the rest are uniform among the legal ones.
        """
        masks = data.observations["action_mask"].cpu().numpy() > 0
        expert = data.actions.view(-1).long().cpu().numpy()
        k = self.margin_negatives
        chosen = np.repeat(expert[:, None], k + 1, axis=1)
        width = (
            data.observations["action_mask"].shape[1] // data.observations["memory_mask"].shape[1]
        )
        mined: list[np.ndarray] = [np.zeros(0, dtype=np.int64)] * len(masks)
        states = [
            decode_observation(data.observations, b, self.q_net.max_degree, self.device)
            for b in range(len(masks))
        ]
        if self.mined_negatives > 0:
            with torch.no_grad():
                all_q = self.q_net(data.observations)  # legal actions of each state, ascending ids
            for b, mask in enumerate(masks):
                legal = np.flatnonzero(mask)
                order = legal[np.argsort(-all_q[b].cpu().numpy(), kind="stable")]
                twin = same_product(states[b], int(expert[b]), torch.as_tensor(order)).cpu().numpy()
                mined[b] = order[~twin & (order != expert[b])][: min(self.mined_negatives, k)]
        for b, mask in enumerate(masks):
            others = np.flatnonzero(mask)
            others = others[(others != expert[b]) & ~np.isin(others, mined[b])]
            k_rest = k - mined[b].size
            if (
                others.size > k_rest
            ):  # half hard negatives: same parent or same multiplier as the expert
                related = (others // width == expert[b] // width) | (
                    others % width == expert[b] % width
                )
                hard = others[related]
                hard = self.exploration_rng.choice(
                    hard, size=min(hard.size, k_rest // 2), replace=False
                )
                rest = np.setdiff1d(others, hard)
                rest = self.exploration_rng.choice(rest, size=k_rest - hard.size, replace=False)
                others = np.concatenate([hard, rest])
            others = np.concatenate([mined[b], others])
            chosen[b, 1 : 1 + others.size] = others
        actions = torch.as_tensor(chosen, device=self.device)
        q = torch.stack(self.q_net(data.observations, actions))
        margins = (actions != actions[:, :1]).to(q.dtype) * self.expert_margin
        # an action with the expert's very product polynomial is the expert's action to the
        # network (it sees products only): not a negative
        for b, state in enumerate(states):
            margins[b, 1:][same_product(state, int(expert[b]), actions[b, 1:])] = -torch.inf
        return ((q + margins).amax(1) - q[:, 0]).mean()

    def _td_terms(self, data: MaskedDictReplayBufferSamples) -> tuple[torch.Tensor, torch.Tensor]:
        next_max = self.target_values(data.next_observations, data.next_action_masks)
        target = data.rewards.view(-1) + (1 - data.dones.view(-1)) * self.gamma * next_max
        current = torch.stack(
            [q[0] for q in self.q_net(data.observations, data.actions.view(-1, 1).long())]
        )
        return current, target

    def _gradient_step(
        self,
        agent_data: MaskedDictReplayBufferSamples | None,
        demo_data: MaskedDictReplayBufferSamples | None,
        demo_td: bool = True,
    ) -> dict[str, float]:
        currents, targets = [], []
        for data in (agent_data, demo_data if demo_td else None):
            if data is not None:
                current, target = self._td_terms(data)
                currents.append(current)
                targets.append(target)
        loss = torch.zeros((), device=self.device)
        stats: dict[str, float] = {}
        if currents:
            current, target = torch.cat(currents), torch.cat(targets)
            loss = self._td_loss(current, target)
            stats = {"td_loss": loss.item(), "q_mean": current.mean().item()}
        if demo_data is not None and self.margin_loss_weight > 0:
            margin = self.margin_loss(demo_data)
            loss = loss + self.margin_loss_weight * margin
            stats["margin_loss"] = margin.item()
        self._apply_gradient(loss)
        stats["loss"] = loss.item()
        return stats

    def _apply_gradient(self, loss: torch.Tensor) -> None:
        """One optimiser step on ``loss`` (gradient clipping; the Q-value cache goes stale)."""
        self.policy.optimizer.zero_grad()
        loss.backward()
        if self.max_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(self.q_net.parameters(), self.max_grad_norm)
        self.policy.optimizer.step()
        self.policy.cache.parameter_version += 1

    def _log_stats(self, rows: list[dict[str, float]], prefix: str = "train") -> None:
        for key in rows[0]:
            values = [row[key] for row in rows if key in row]
            self.logger.record(f"{prefix}/{key}", float(np.mean(values)))

    def _dqfd_step(self, batch_size: int) -> dict[str, float]:
        buffer: PrioritizedMaskedReplayBuffer = self.replay_buffer  # type: ignore[assignment]
        batch = buffer.sample_prioritized(batch_size)
        loss, td_errors, stats = dqfd_loss(self, batch)
        self._apply_gradient(loss)
        buffer.update_priorities(batch.indices, td_errors)
        stats["loss"] = loss.item()
        return stats

    @property
    def prioritized(self) -> bool:
        """Whether the replay buffer is DQfD's prioritised one (demonstrations inside)."""
        return isinstance(self.replay_buffer, PrioritizedMaskedReplayBuffer)

    def train(self, gradient_steps: int, batch_size: int = 32) -> None:
        self.policy.set_training_mode(True)
        self._update_learning_rate(self.policy.optimizer)
        if self.prioritized:
            rows = [self._dqfd_step(batch_size) for _ in range(gradient_steps)]
            self._n_updates += gradient_steps
            self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
            self._log_stats(rows)
            return
        demo_size = 0
        if self.demonstration_buffer is not None:
            demo_size = int(round(batch_size * self.demonstration_fraction))
        rows = []
        for _ in range(gradient_steps):
            agent_data = self.replay_buffer.sample(
                batch_size - demo_size, env=self._vec_normalize_env
            )  # type: ignore[union-attr]
            demo_data = self.demonstration_buffer.sample(demo_size) if demo_size else None  # type: ignore[union-attr]
            rows.append(
                self._gradient_step(agent_data if batch_size > demo_size else None, demo_data)
            )
        self._n_updates += gradient_steps
        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self._log_stats(rows)

    def pretrain(
        self,
        gradient_steps: int,
        batch_size: int | None = None,
        td: bool = True,
        progress: bool = True,
    ) -> list[dict[str, float]]:
        """DQfD pre-training: ``gradient_steps`` updates on demonstration minibatches only.

        ``td=False`` uses the large-margin loss alone (much cheaper: no max over all
        next-state actions), i.e. behaviour cloning of the expert's ranking. Hard-updates the target network every ``target_update_interval`` updates and at
        the end. Returns the per-update losses.
        """
        from tqdm import tqdm

        batch_size = batch_size or self.batch_size
        self.policy.set_training_mode(True)
        rows = []
        if self.prioritized and td:  # DQfD: the buffer holds only the demonstrations yet
            for step in tqdm(range(gradient_steps), desc="pretrain (DQfD)", disable=not progress):
                rows.append(self._dqfd_step(batch_size))
                if (step + 1) % max(self.target_update_interval, 1) == 0:
                    polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), 1.0)
            polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), 1.0)
            return rows
        if self.demonstration_buffer is None:
            raise RuntimeError("call set_demonstrations() before pretrain()")
        for step in tqdm(
            range(gradient_steps), desc="pretrain (demonstrations)", disable=not progress
        ):
            rows.append(
                self._gradient_step(None, self.demonstration_buffer.sample(batch_size), demo_td=td)
            )
            if (step + 1) % max(self.target_update_interval, 1) == 0:
                polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), 1.0)
        polyak_update(self.q_net.parameters(), self.q_net_target.parameters(), 1.0)
        return rows

    def learn(
        self: SelfProofDQN,
        total_timesteps: int,
        callback: MaybeCallback = None,
        log_interval: int = 4,
        tb_log_name: str = "ProofDQN",
        reset_num_timesteps: bool = True,
        progress_bar: bool = False,
    ) -> SelfProofDQN:
        return super().learn(
            total_timesteps=total_timesteps,
            callback=callback,
            log_interval=log_interval,
            tb_log_name=tb_log_name,
            reset_num_timesteps=reset_num_timesteps,
            progress_bar=progress_bar,
        )

    @classmethod
    def load(  # type: ignore[override]
        cls: type[SelfProofDQN],
        path: str | Path | io.BufferedIOBase,
        env: GymEnv | None = None,
        device: torch.device | str = "auto",
        custom_objects: dict[str, Any] | None = None,
        print_system_info: bool = False,
        force_reset: bool = True,
        **kwargs: Any,
    ) -> SelfProofDQN:
        """SB3's ``load``; with ``env`` of another ``n`` or ``max_steps`` the model adopts its spaces.

        The symmetric Q-network has no ``n``-sized weights, so one checkpoint serves every
        PolyProof-v0 size (the vanilla ablation is tied to its training ``n`` and refuses).
        """
        if env is not None:
            check_polyproof_spaces(env.observation_space, env.action_space)
            custom_objects = {
                **(custom_objects or {}),
                "observation_space": env.observation_space,
                "action_space": env.action_space,
            }
        try:
            return super().load(  # type: ignore[return-value]
                path,
                env=env,
                device=device,
                custom_objects=custom_objects,
                print_system_info=print_system_info,
                force_reset=force_reset,
                **kwargs,
            )
        except RuntimeError as exc:
            if env is not None and "size mismatch" in str(exc):
                raise ValueError(
                    f"{path}: this network is tied to its training n (vanilla ablation); "
                    "only the symmetric network runs at another n"
                ) from exc
            raise

    def set_env(self, env: GymEnv, force_reset: bool = True) -> None:
        """SB3's ``set_env``, also for a PolyProof-v0 env of another ``n``/``max_steps``.

        With other sizes the model adopts the env's spaces and switches to the replay
        buffer of those sizes (one per size, a new empty one the first time; the episode in
        progress counts as timed out); the Q-network and the optimizer are kept. The vanilla ablation
        is tied to its training ``n`` and refuses.
        """
        check_polyproof_spaces(env.observation_space, env.action_space)
        if same_shapes(env.observation_space, self.observation_space):
            super().set_env(env, force_reset=force_reset)
            return
        if self.policy.architecture != "symmetric":
            raise ValueError(
                "the vanilla network is tied to its training n; cannot change env size"
            )
        self._end_partial_episode()
        buffers = getattr(self, "_buffers_by_shape", {})
        buffers[_shape_key(self.observation_space)] = self.replay_buffer
        self.observation_space = env.observation_space
        self.action_space = env.action_space
        self.policy.observation_space = env.observation_space
        self.policy.action_space = env.action_space
        super().set_env(env, force_reset=True)
        key = _shape_key(self.observation_space)
        if key not in buffers:
            buffers[key] = self.replay_buffer_class(  # type: ignore[misc]
                self.buffer_size,
                self.observation_space,
                self.action_space,
                device=self.device,
                n_envs=self.n_envs,
                **(self.replay_buffer_kwargs or {}),
            )
        self.replay_buffer = buffers[key]
        self._buffers_by_shape = buffers

    def _end_partial_episode(self) -> None:
        """Mark the newest transition as a time-out: the episode in progress is abandoned."""
        buffer = self.replay_buffer
        if buffer is None or buffer.size() == 0:
            return
        last = (buffer.pos - 1) % buffer.buffer_size
        buffer.dones[last] = 1.0
        buffer.timeouts[last] = 1.0

    def _excluded_save_params(self) -> list[str]:
        return [
            *super()._excluded_save_params(),
            "q_net",
            "q_net_target",
            "demonstration_buffer",
            "_buffers_by_shape",
        ]

    def _get_torch_save_params(self) -> tuple[list[str], list[str]]:
        return ["policy", "policy.optimizer"], []


def _shape_key(space: spaces.Space) -> tuple:
    """The shapes of a Dict observation space (one replay buffer per key)."""
    return tuple(sorted((k, v.shape) for k, v in space.spaces.items()))  # type: ignore[attr-defined]
