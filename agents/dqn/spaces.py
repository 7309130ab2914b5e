"""One model for every ``n``: PolyProof-v0 observation and action spaces of other sizes.

The symmetric Q-network does not depend on ``n``, ``max_steps`` or the term budget: it
decodes each observation with the sizes of its own arrays. SB3, however, checks every
observation and every new environment against the spaces saved at training time. The
helpers here accept any space (or observation) with PolyProof-v0's layout instead:
the same keys, a ``Discrete`` action space of ``max_memory * 2n`` actions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.utils import obs_as_tensor

from agents.dqn.features import infer_n

OBSERVATION_KEYS = frozenset(
    {
        "objective",
        "memory_term_owner",
        "memory_term_monomial",
        "memory_term_coefficient",
        "memory_mask",
        "equalities",
        "action_mask",
        "bound",
        "steps_left",
    }
)


def check_polyproof_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise ``ValueError`` unless the spaces have PolyProof-v0's layout (any ``n``)."""
    if not isinstance(observation_space, spaces.Dict):
        raise ValueError(f"expected PolyProof-v0's Dict observation space, got {observation_space}")
    keys = set(observation_space.spaces)
    if keys != OBSERVATION_KEYS:
        raise ValueError(
            f"observation keys {sorted(keys)} are not PolyProof-v0's {sorted(OBSERVATION_KEYS)}"
        )
    if not isinstance(action_space, spaces.Discrete):
        raise ValueError(f"expected a Discrete action space, got {action_space}")
    mask = observation_space["action_mask"].shape
    if mask != (int(action_space.n),):
        raise ValueError(f"action_mask shape {mask} does not match Discrete({action_space.n})")
    max_memory = observation_space["memory_mask"].shape[0]
    if int(action_space.n) % (2 * max_memory):
        raise ValueError("the action space is not max_memory * 2n")


def same_shapes(a: spaces.Space, b: spaces.Space) -> bool:
    """Whether two Dict spaces have the same keys and shapes (what SB3 compares)."""
    if not (isinstance(a, spaces.Dict) and isinstance(b, spaces.Dict)):
        return a == b
    return set(a.spaces) == set(b.spaces) and all(a[k].shape == b[k].shape for k in a.spaces)


def polyproof_obs_to_tensor(
    observation: Any,
    observation_space: spaces.Space,
    max_degree: int,
    device: torch.device | str,
) -> tuple[dict[str, torch.Tensor], bool]:
    """SB3's ``obs_to_tensor`` for PolyProof-v0 observations of any size.

    Checks the keys (not the shapes, which depend on ``n`` and ``max_steps``), adds the
    batch dimension if needed, and checks that the sizes are consistent with one ``n``.
    """
    if not isinstance(observation, dict):
        raise ValueError("ProofDQN expects PolyProof-v0's dict observations")
    keys = set(observation)
    if keys != set(observation_space.spaces):  # type: ignore[attr-defined]
        raise ValueError(
            f"observation keys {sorted(keys)} differ from the model's "
            f"{sorted(observation_space.spaces)}"  # type: ignore[attr-defined]
        )
    mask = np.asarray(observation["action_mask"])
    if mask.ndim not in (1, 2):
        raise ValueError(f"action_mask must be 1-D (one observation) or 2-D, got {mask.shape}")
    vectorized = mask.ndim == 2
    batch: dict[str, np.ndarray] = {}
    for key, value in observation.items():
        array = np.array(value)
        batch[key] = array if vectorized else array[None]
    sizes = {len(v) for v in batch.values()}
    if len(sizes) != 1:
        raise ValueError("observation arrays have different batch sizes")
    infer_n({k: batch[k][0] for k in ("action_mask", "memory_mask", "objective")}, max_degree)
    return obs_as_tensor(batch, device), vectorized  # type: ignore[return-value]


def apply_action_masks(observation: dict[str, Any], action_masks: Any) -> dict[str, Any]:
    """The observation with ``action_mask`` replaced by its AND with ``action_masks``."""
    own = np.asarray(observation["action_mask"])
    extra = np.asarray(action_masks)
    if extra.size != own.size:
        raise ValueError(
            f"action_masks has {extra.size} entries but the observation has {own.size} actions"
        )
    out = dict(observation)
    out["action_mask"] = ((own > 0) & (extra.reshape(own.shape) > 0)).astype(own.dtype)
    return out
