"""The SB3 policy of the DQN prover and the caching trick (Appendix B.3).

The Q-networks live in :mod:`agents.dqn.networks` (base class, vanilla ablation) and
:mod:`agents.dqn.symmetric`; they are re-exported here (saved models refer to this module).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy

from agents.dqn.features import decode_observation
from agents.dqn.networks import ActionTerms, ProofQNetwork, VanillaQNetwork, build_action_terms
from agents.dqn.spaces import polyproof_obs_to_tensor
from agents.dqn.symmetric import SymmetricQNetwork, _InstanceCache

__all__ = [
    "ARCHITECTURES",
    "ActionTerms",
    "CachedQEvaluator",
    "ProofDQNPolicy",
    "ProofQNetwork",
    "SymmetricQNetwork",
    "VanillaQNetwork",
    "_InstanceCache",
    "build_action_terms",
    "make_q_network",
]

ARCHITECTURES = ("symmetric", "vanilla")


def make_q_network(
    architecture: str,
    n: int,
    max_degree: int,
    width: int,
    feature_dim: int | None = None,
    objective_normalization: str = "sum",
) -> ProofQNetwork:
    if architecture == "symmetric":
        return SymmetricQNetwork(
            max_degree=max_degree,
            width=width,
            feature_dim=feature_dim,
            objective_normalization=objective_normalization,
        )
    if architecture == "vanilla":
        return VanillaQNetwork(n=n, max_degree=max_degree, width=width, feature_dim=feature_dim)
    raise ValueError(f"architecture must be one of {ARCHITECTURES}, got {architecture!r}")


# -- caching trick (Appendix B.3) ----------------------------------------------------------------
class CachedQEvaluator:
    """q-values of all legal actions along an episode, reusing the running max ``F_t``.

    After a step adds one memory element ``m_new``, old actions update
    ``F <- max(F, v1(m_new, f, a))`` and new actions are evaluated in full; the
    equality aggregate of an action never changes within an episode. Any other change
    of state (new episode, several new elements, different parameters) recomputes
    from scratch. ``parameter_version`` lets the owner invalidate after an update.
    """

    def __init__(self, q_net: ProofQNetwork) -> None:
        self.q_net = q_net
        self.reset()
        self.parameter_version = 0

    def reset(self) -> None:
        self._key: tuple | None = None
        self._num_memory = -1
        self._memory_terms: np.ndarray | None = None
        self._feature_memory: dict[int, int] = {}
        self._F: torch.Tensor | None = None
        self._G: torch.Tensor | None = None
        self._version = -1
        self.full_evaluations = 0
        self.incremental_evaluations = 0

    def _instance_key(self, obs: dict[str, np.ndarray]) -> tuple:
        return (obs["objective"].tobytes(), obs["equalities"].tobytes(), obs["action_mask"].shape)

    @torch.no_grad()
    def q_values(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        """``q`` for every action id (``-inf`` for masked actions) of one unbatched observation."""
        net = self.q_net
        device = next(net.parameters()).device
        batch = {k: np.asarray(v)[None] for k, v in obs.items()}
        state = decode_observation(batch, 0, net.max_degree, device=device)
        legal = torch.nonzero(state.action_mask).view(-1)
        num_actions = state.action_mask.numel()
        out = np.full(num_actions, -np.inf, dtype=np.float64)
        if legal.numel() == 0:
            return out
        key = self._instance_key(obs)
        owner = np.asarray(obs["memory_term_owner"])
        filled = int((owner >= 0).sum())
        terms_now = np.stack(
            [
                np.asarray(obs[k])[:filled]
                for k in ("memory_term_owner", "memory_term_monomial", "memory_term_coefficient")
            ]
        )
        incremental = (
            key == self._key
            and self._version == self.parameter_version
            and state.num_memory == self._num_memory + 1
            and self._memory_terms is not None
            and terms_now.shape[1] >= self._memory_terms.shape[1]
            and np.array_equal(terms_now[:, : self._memory_terms.shape[1]], self._memory_terms)
        )
        ctx = net.context(state)
        F = torch.zeros(num_actions, net.width, device=device)
        G = torch.zeros(num_actions, net.width, device=device)
        known = torch.zeros(num_actions, dtype=torch.bool, device=device)
        if incremental:
            F.copy_(self._F)  # type: ignore[arg-type]
            G.copy_(self._G)  # type: ignore[arg-type]
            known = self._known.clone()
            old = legal[known[legal]]
            new = legal[~known[legal]]
            if old.numel():
                terms = build_action_terms(state, old)
                newest = torch.tensor([state.num_memory - 1], device=device)
                F[old] = torch.maximum(F[old], net.memory_max(ctx, terms, newest))
            self.incremental_evaluations += 1
        else:
            new = legal
            self.full_evaluations += 1
        if new.numel():
            terms = build_action_terms(state, new)
            F[new] = net.memory_max(ctx, terms)
            G[new] = net.equality_max(ctx, terms)
            known[new] = True
        q = net.head(F[legal], G[legal])
        out[legal.cpu().numpy()] = q.double().cpu().numpy()
        self._key = key
        self._num_memory = state.num_memory
        self._memory_terms = terms_now
        self._F, self._G, self._known = F, G, known
        self._version = self.parameter_version
        return out


# -- SB3 policy ------------------------------------------------------------------------------------
class ProofDQNPolicy(BasePolicy):
    """SB3 policy holding ``q_net`` and ``q_net_target`` (greedy over legal actions).

    Arguments (``policy_kwargs``): ``architecture`` ("symmetric" or "vanilla"), ``width``,
    ``feature_dim``, ``max_degree``, ``optimizer_class``/``optimizer_kwargs`` (SB3),
    ``use_cache`` (caching trick for single-observation prediction).
    """

    def __init__(
        self,
        observation_space: spaces.Dict,
        action_space: spaces.Discrete,
        lr_schedule: Any,
        architecture: str = "symmetric",
        width: int = 64,
        feature_dim: int | None = None,
        max_degree: int = 2,
        use_cache: bool = True,
        objective_normalization: str = "sum",
        optimizer_class: type[torch.optim.Optimizer] = torch.optim.RMSprop,
        optimizer_kwargs: dict[str, Any] | None = None,
    ) -> None:
        if (
            not isinstance(observation_space, spaces.Dict)
            or "action_mask" not in observation_space.spaces
        ):
            raise ValueError("ProofDQNPolicy needs PolyProof-v0's Dict observation space")
        super().__init__(
            observation_space,
            action_space,
            optimizer_class=optimizer_class,
            optimizer_kwargs=optimizer_kwargs,
            normalize_images=False,
        )
        self.architecture = architecture
        self.width = width
        self.feature_dim = feature_dim
        self.max_degree = max_degree
        self.use_cache = use_cache
        self.objective_normalization = objective_normalization
        max_memory = observation_space["memory_mask"].shape[0]
        self.n = action_space.n // max_memory // 2
        self._build(lr_schedule)

    def _build(self, lr_schedule: Any) -> None:
        args = (
            self.architecture,
            self.n,
            self.max_degree,
            self.width,
            self.feature_dim,
            self.objective_normalization,
        )
        self.q_net = make_q_network(*args)
        self.q_net_target = make_q_network(*args)
        self.q_net_target.load_state_dict(self.q_net.state_dict())
        self.q_net_target.train(False)
        self.optimizer = self.optimizer_class(
            self.q_net.parameters(), lr=lr_schedule(1), **self.optimizer_kwargs
        )
        self.cache = CachedQEvaluator(self.q_net)

    def _get_constructor_parameters(self) -> dict[str, Any]:
        data = super()._get_constructor_parameters()
        data.update(
            architecture=self.architecture,
            width=self.width,
            feature_dim=self.feature_dim,
            max_degree=self.max_degree,
            use_cache=self.use_cache,
            objective_normalization=self.objective_normalization,
            optimizer_class=self.optimizer_class,
            optimizer_kwargs=self.optimizer_kwargs,
            lr_schedule=self._dummy_schedule,  # type: ignore[attr-defined]
        )
        return data

    def obs_to_tensor(
        self, observation: np.ndarray | dict[str, np.ndarray]
    ) -> tuple[dict[str, torch.Tensor], bool]:
        """Observations of PolyProof-v0 at *any* ``n``, ``max_steps`` and term budget.

        SB3 checks the shapes against the training observation space; the Q-network does
        not depend on them (every observation is decoded with its own sizes), so only the
        keys are checked here. Vectorized iff ``action_mask`` is 2-D.
        """
        return polyproof_obs_to_tensor(
            observation, self.observation_space, self.max_degree, self.device
        )

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = True) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def all_q_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Dense ``[B, num_actions]`` q-values with ``-inf`` on masked actions (uncached)."""
        q_lists = self.q_net(obs)
        num_actions = obs["action_mask"].shape[-1]  # the observation's own n and sizes
        out = torch.full((len(q_lists), num_actions), -torch.inf, device=self.device)
        for b, q in enumerate(q_lists):
            legal = torch.nonzero(obs["action_mask"][b] > 0).view(-1)
            out[b, legal] = q
        return out

    @torch.no_grad()
    def _predict(
        self, observation: dict[str, torch.Tensor], deterministic: bool = True
    ) -> torch.Tensor:
        batch = observation["action_mask"].shape[0]
        actions = torch.zeros(batch, dtype=torch.long, device=self.device)
        if self.use_cache and batch == 1:
            obs_np = {k: v[0].cpu().numpy() for k, v in observation.items()}
            q = self.cache.q_values(obs_np)
            if np.isfinite(q).any():
                actions[0] = int(np.argmax(q))
            return actions
        q = self.all_q_values(observation)
        has_legal = torch.isfinite(q).any(dim=1)
        actions[has_legal] = q[has_legal].argmax(dim=1)
        return actions

    def set_training_mode(self, mode: bool) -> None:
        self.q_net.train(mode)
        self.training = mode
