"""Sequence models as SB3 policies for ``PolytopeGen-v0`` (maskable through sb3-contrib).

The features extractor runs a sequence model (:mod:`agents.sequence.model`) over the
observed prefix and returns the last layer's features at the last token. The policy's
action head is a linear map of those features, so a pretrained language model's head
*is* a policy head: :func:`load_pretrained` copies the model's weights and its head into
the policy, and the policy then starts as the language model (with the environment's
grammar mask applied).

    from sb3_contrib import MaskablePPO
    from agents.sequence.policies import SequencePolicy, policy_kwargs_for, load_pretrained

    model = MaskablePPO(SequencePolicy, env, policy_kwargs=policy_kwargs_for(CKPT))
    load_pretrained(model.policy, CKPT)
    model.learn(10_000)
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import torch
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor
from torch import nn

from agents.sequence.model import build_model, load_model

__all__ = ["SequenceFeaturesExtractor", "SequencePolicy", "policy_kwargs_for", "load_pretrained"]


class SequenceFeaturesExtractor(BaseFeaturesExtractor):
    """Last-token features of a sequence model over the observation's ``tokens`` prefix."""

    def __init__(self, observation_space: gym.spaces.Dict, model_config: dict[str, Any]) -> None:
        model = build_model(model_config)
        super().__init__(observation_space, features_dim=int(model.head.in_features))
        self.model = model
        length = int(observation_space["tokens"].shape[0])
        if length > int(model.max_length):
            raise ValueError(
                f"observations hold {length} tokens but the model takes at most {model.max_length}"
            )

    def forward(self, observations: dict[str, torch.Tensor]) -> torch.Tensor:
        tokens = observations["tokens"].long()
        positions = observations["position"].long().reshape(-1).clamp(min=1)
        width = int(positions.max())
        hidden = self.model.hidden_states(tokens[:, :width])
        rows = torch.arange(tokens.shape[0], device=tokens.device)
        return hidden[rows, positions - 1]


class SequencePolicy(MaskableActorCriticPolicy):
    """Maskable actor-critic whose trunk is a sequence model; actor head = LM head shape.

    ``net_arch`` defaults to no hidden actor layers (so a pretrained head fits the actor)
    and one hidden critic layer of 64 units.
    """

    def __init__(
        self,
        observation_space: gym.spaces.Dict,
        action_space: gym.spaces.Discrete,
        lr_schedule: Any,
        model_config: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if model_config is None:
            raise ValueError("SequencePolicy needs model_config (see policy_kwargs_for)")
        kwargs.setdefault("net_arch", {"pi": [], "vf": [64]})
        kwargs["ortho_init"] = False
        kwargs["features_extractor_class"] = SequenceFeaturesExtractor
        kwargs["features_extractor_kwargs"] = {"model_config": dict(model_config)}
        kwargs["share_features_extractor"] = True
        super().__init__(observation_space, action_space, lr_schedule, **kwargs)

    def _build(self, lr_schedule: Any) -> None:
        super()._build(lr_schedule)
        self.copy_head_from_model()

    def copy_head_from_model(self) -> None:
        """Set the actor head to the sequence model's own next-token head."""
        head: nn.Linear = self.features_extractor.model.head
        if self.action_net.weight.shape != head.weight.shape:
            raise ValueError(
                f"the environment has {self.action_net.out_features} actions but the model's "
                f"vocabulary has {head.out_features} tokens: use the model's tokenizer options"
            )
        with torch.no_grad():
            self.action_net.weight.copy_(head.weight)
            if head.bias is not None:
                self.action_net.bias.copy_(head.bias)
            else:
                self.action_net.bias.zero_()


def policy_kwargs_for(checkpoint: str | os.PathLike[str], **extra: Any) -> dict[str, Any]:
    """``policy_kwargs`` that build a :class:`SequencePolicy` shaped like a checkpoint's model."""
    model, _, info = load_model(checkpoint)
    return {"model_config": dict(info["model_config"]), **extra}


def load_pretrained(policy: SequencePolicy, checkpoint: str | os.PathLike[str]) -> None:
    """Copy a trained language model's weights (trunk and head) into ``policy``."""
    model, _, _ = load_model(checkpoint)
    policy.features_extractor.model.load_state_dict(model.state_dict())
    policy.copy_head_from_model()
