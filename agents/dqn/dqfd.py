"""DQfD's loss (Hester et al. 2018) for :class:`agents.dqn.ProofDQN` on prioritised replay.

``J = J_DQ + lambda_n J_n + lambda_E J_E + lambda_2 ||w||^2`` on a minibatch drawn from
:class:`agents.dqn.prioritized.PrioritizedMaskedReplayBuffer` (agent transitions and the
permanent demonstrations together):

- ``J_DQ``: 1-step double-DQN TD loss ``r + gamma Q_target(s', argmax_a' Q(s', a'))``,
- ``J_n``: the same with the n-step return and the state n steps later,
- ``J_E``: the large-margin loss on the expert's action, on demonstration samples only,
- L2 regularisation of the online network's weights,

TD terms weighted by the importance-sampling weights and skipped for DAgger's relabelled
states (``td_ok`` false). New priorities are the 1-step ``|delta|``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

from agents.dqn.buffers import MaskedDictReplayBufferSamples
from agents.dqn.prioritized import PrioritizedSamples

if TYPE_CHECKING:
    from agents.dqn.dqn import ProofDQN


def _subset(
    samples: MaskedDictReplayBufferSamples, keep: torch.Tensor
) -> MaskedDictReplayBufferSamples:
    return MaskedDictReplayBufferSamples(
        observations={k: v[keep] for k, v in samples.observations.items()},
        actions=samples.actions[keep],
        next_observations={k: v[keep] for k, v in samples.next_observations.items()},
        dones=samples.dones[keep],
        rewards=samples.rewards[keep],
        next_action_masks=samples.next_action_masks[keep],
    )


@torch.no_grad()
def double_q_values(
    model: ProofDQN, observations: dict[str, torch.Tensor], masks: torch.Tensor
) -> torch.Tensor:
    """``Q_target(s, argmax_{a legal} Q_online(s, a))`` per sample (0 without legal action)."""
    obs = dict(observations)
    obs["action_mask"] = masks.to(obs["action_mask"].dtype)
    online = model.q_net(obs)
    target = model.q_net_target(obs)
    out = torch.zeros(len(online), device=model.device)
    for b, (q_online, q_target) in enumerate(zip(online, target, strict=True)):
        if q_online.numel():
            out[b] = q_target[int(q_online.argmax())]
    return out


def _td(model: ProofDQN, current: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    if model.loss == "l1":
        return F.l1_loss(current, target, reduction="none")
    if model.loss == "huber":
        return F.smooth_l1_loss(current, target, reduction="none")
    return F.mse_loss(current, target, reduction="none")


def dqfd_loss(
    model: ProofDQN, batch: PrioritizedSamples
) -> tuple[torch.Tensor, np.ndarray, dict[str, float]]:
    """The DQfD loss of a prioritised minibatch, the new priorities' ``|delta|`` and stats."""
    data = batch.samples
    stats: dict[str, float] = {}
    loss = torch.zeros((), device=model.device)
    td_errors = np.zeros(len(batch.indices))
    td = batch.td_ok
    if bool(td.any()):
        sub = _subset(data, td)
        current = torch.stack(
            [q[0] for q in model.q_net(sub.observations, sub.actions.view(-1, 1).long())]
        )
        one = sub.rewards.view(-1) + (1 - sub.dones.view(-1)) * model.gamma * double_q_values(
            model, sub.next_observations, sub.next_action_masks
        )
        n_obs = {k: v[td] for k, v in batch.n_next_observations.items()}
        n_target = batch.n_returns[td] + batch.n_discounts[td] * double_q_values(
            model, n_obs, batch.n_next_masks[td]
        )
        weights = batch.weights[td]
        j_dq = (weights * _td(model, current, one)).mean()
        j_n = (weights * _td(model, current, n_target)).mean()
        loss = loss + j_dq + model.n_step_weight * j_n
        td_errors[td.cpu().numpy()] = (one - current).detach().cpu().numpy()
        stats.update(td_loss=j_dq.item(), n_step_loss=j_n.item(), q_mean=current.mean().item())
    demo = batch.is_demo
    if model.margin_loss_weight > 0 and bool(demo.any()):
        margin = model.margin_loss(_subset(data, demo))
        loss = loss + model.margin_loss_weight * margin
        stats["margin_loss"] = margin.item()
    if model.l2_weight > 0:
        l2 = sum((p**2).sum() for p in model.q_net.parameters())
        loss = loss + model.l2_weight * l2
        stats["l2"] = float(l2.detach())
    stats["demo_share"] = float(demo.float().mean())
    return loss, td_errors, stats
