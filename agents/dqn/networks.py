"""Q-networks for PolyProof-v0: the shared base and the vanilla ablation.

``q(s, a) = zeta(max(max_i v1(m_i, f, a), max_j v2(e_j, f, a)))`` (Fawzi et al. 2019,
Section 4.3 / Appendix B.2) with ``v = u o T``:

- :class:`SymmetricQNetwork`: ``T`` is the trilinear map of :mod:`agents.dqn.features`,
  constant on permutation classes of monomial triplets, so ``q`` is invariant under
  variable relabelling; its size does not depend on ``n`` (one network runs on any n).
- :class:`VanillaQNetwork`: the ablation of the paper's Fig. 3, ``T`` a plain linear map
  of the concatenated coefficient vectors ``[m; f; a]`` (tied to one ``n``).

``u`` is a 2-layer ReLU MLP (``width`` units), aggregation is ``max`` over the memory and
over the equalities (features are >= 0, so an empty set gives 0), and ``zeta`` is the
elementwise max of the two aggregates followed by a 2-layer MLP to a scalar.

Both networks take the observation alone: the action polynomial (parent * multiplier,
reduced) is rebuilt by :func:`agents.dqn.features.action_products`.

Speed: ``u``'s first layer is linear, so ``W1 (W z) = (W1 W) z`` and, by trilinearity,
``(W1 W) z(m, f, a) = sum_{alpha, gamma} m_alpha a_gamma (W1 W) H_f[alpha, gamma]`` with the
per-instance tensor ``H_f`` of :func:`agents.dqn.features.objective_class_tensor`; this is
the same function as applying ``W`` to the explicit ``z`` (tested against
:meth:`SymmetricQNetwork.reference_q_values`). :class:`CachedQEvaluator` implements the
caching trick of Appendix B.3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from agents.dqn.features import (
    DecodedBatch,
    DecodedState,
    action_products,
    decode_batch,
    decode_observation,
    monomial_tables,
)


@dataclass
class ActionTerms:
    """Sparse action polynomials: COO ``(row, monomial, coefficient)`` for ``count`` actions."""

    actions: torch.Tensor
    rows: torch.Tensor
    monomials: torch.Tensor
    values: torch.Tensor

    @property
    def count(self) -> int:
        return int(self.actions.numel())


def build_action_terms(state: DecodedState, actions: torch.Tensor) -> ActionTerms:
    rows, monos, vals = action_products(state, actions)
    return ActionTerms(actions, rows, monos, vals)


def _sparse_rows(terms: ActionTerms, columns: torch.Tensor, num_columns: int) -> torch.Tensor:
    """The action polynomials as a sparse ``[J, num_columns]`` matrix (duplicates summed)."""
    index = torch.stack([terms.rows, columns])
    return torch.sparse_coo_tensor(
        index,
        terms.values,
        (terms.count, num_columns),
        device=terms.values.device,
        check_invariants=False,
    ).coalesce()


def _mlp(width_in: int, width: int, out: int, final_relu: bool) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Linear(width_in, width), nn.ReLU(), nn.Linear(width, out)]
    if final_relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class ProofQNetwork(nn.Module):
    """Common interface: per-state context, the two set branches and the head ``zeta``."""

    architecture = "base"

    def __init__(self, max_degree: int, width: int) -> None:
        super().__init__()
        if width < 1:
            raise ValueError(f"width must be positive, got {width}")
        self.max_degree = int(max_degree)
        self.width = int(width)
        self.zeta = _mlp(width, width, 1, final_relu=False)
        self.pair_chunk = 2_000_000  # max elements of one [actions, set, width] block

    # subclasses implement: context(), first_layer_memory(), first_layer_equalities()
    def second_layer(self, which: int) -> nn.Module:
        raise NotImplementedError

    def context(self, state: DecodedState) -> Any:
        raise NotImplementedError

    def memory_preactivations(
        self, ctx: Any, terms: ActionTerms, slots: torch.Tensor
    ) -> torch.Tensor:
        """First-layer pre-activations ``[J, len(slots), width]`` of ``u1(T(m_i, f, a_j))``."""
        raise NotImplementedError

    def equality_preactivations(self, ctx: Any, terms: ActionTerms) -> torch.Tensor:
        """First-layer pre-activations ``[J, E, width]`` of ``u2(T(e_k, f, a_j))``."""
        raise NotImplementedError

    # -- shared logic ----------------------------------------------------------------------
    def _set_max(self, pre: torch.Tensor, which: int) -> torch.Tensor:
        J, S, w = pre.shape
        if S == 0:
            return pre.new_zeros(J, w)
        hidden = self.second_layer(which)(torch.relu(pre))
        return hidden.amax(dim=1)

    def _chunks(self, terms: ActionTerms, set_size: int) -> list[ActionTerms]:
        per = max(1, self.pair_chunk // max(1, set_size * self.width))
        if terms.count <= per:
            return [terms]
        out = []
        order = torch.argsort(terms.rows, stable=True)
        rows, monos, vals = terms.rows[order], terms.monomials[order], terms.values[order]
        bounds = torch.searchsorted(
            rows, torch.arange(0, terms.count + per, per, device=rows.device)
        )
        for c, start in enumerate(range(0, terms.count, per)):
            lo, hi = int(bounds[c]), int(bounds[c + 1])
            out.append(
                ActionTerms(
                    terms.actions[start : start + per],
                    rows[lo:hi] - start,
                    monos[lo:hi],
                    vals[lo:hi],
                )
            )
        return out

    def memory_max(
        self, ctx: Any, terms: ActionTerms, slots: torch.Tensor | None = None
    ) -> torch.Tensor:
        """``max_{i in slots} v1(m_i, f, a_j)`` for every action, ``[J, width]``."""
        if slots is None:
            slots = torch.arange(ctx.num_memory, device=terms.actions.device)
        parts = [
            self._set_max(self.memory_preactivations(ctx, chunk, slots), 0)
            for chunk in self._chunks(terms, int(slots.numel()))
        ]
        return torch.cat(parts) if parts else terms.values.new_zeros(0, self.width)

    def equality_max(self, ctx: Any, terms: ActionTerms) -> torch.Tensor:
        """``max_k v2(e_k, f, a_j)`` for every action, ``[J, width]`` (0 if no equalities)."""
        parts = [
            self._set_max(self.equality_preactivations(ctx, chunk), 1)
            for chunk in self._chunks(terms, ctx.num_equalities)
        ]
        return torch.cat(parts) if parts else terms.values.new_zeros(0, self.width)

    def head(self, memory_feature: torch.Tensor, equality_feature: torch.Tensor) -> torch.Tensor:
        return self.zeta(torch.maximum(memory_feature, equality_feature)).squeeze(-1)

    def q_values(self, state: DecodedState, actions: torch.Tensor) -> torch.Tensor:
        """Uncached ``q(s, a)`` for the given action ids ``[J]``."""
        ctx = self.context(state)
        terms = build_action_terms(state, actions)
        return self.head(self.memory_max(ctx, terms), self.equality_max(ctx, terms))

    def forward(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Per sample: q of ``actions[b]`` (shape ``[B, k]``) or, if ``None``, of all legal actions.

        Without autograd it uses the fully batched path (:meth:`batched_preactivations`)
        when its padded tensors fit in ``batched_limit`` elements; otherwise, and always
        under autograd, a per-sample loop.
        """
        if torch.is_grad_enabled():  # few actions per sample: the per-sample path backprops faster
            return self._forward_per_sample(obs, actions)
        batch = decode_batch(obs, self.max_degree, actions)
        pre = self.batched_preactivations(batch)
        if pre is None:
            return self._forward_per_sample(obs, actions)
        feats = []
        for which, (p, valid) in enumerate(pre):
            if p.shape[1] == 0:
                feats.append(p.new_zeros(p.shape[0], self.width))
                continue
            u = self.u_memory if which == 0 else self.u_equality  # type: ignore[attr-defined]
            hidden = torch.relu_(u[2](torch.relu_(p)))  # no autograd here: in place is safe
            hidden.mul_(valid.unsqueeze(-1))
            feats.append(hidden.amax(1))
        q = self.head(feats[0], feats[1])
        return list(torch.split(q, batch.counts))

    batched_limit = 40_000_000

    def batched_preactivations(
        self, batch: DecodedBatch
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None:
        """``((pre_memory [J, M_max, w], valid), (pre_equalities [J, E_max, w], valid))`` or ``None``."""
        return None

    def _forward_per_sample(
        self, obs: dict[str, torch.Tensor], actions: torch.Tensor | None = None
    ) -> list[torch.Tensor]:
        """Per-sample first layers, concatenated; second layers, maxima and ``zeta`` batched.

        Without autograd (targets, acting) each sample goes through the chunked
        :meth:`q_values` instead, so large states (n = 25, width 500) stay in memory.
        """
        batch = obs["action_mask"].shape[0]
        device = obs["action_mask"].device
        if not torch.is_grad_enabled():
            out = []
            for b in range(batch):
                state = decode_observation(obs, b, self.max_degree, device=device)
                acts = (
                    torch.nonzero(state.action_mask).view(-1)
                    if actions is None
                    else actions[b].view(-1).long()
                )
                out.append(self.q_values(state, acts))
            return out
        pres: list[list[torch.Tensor]] = [[], []]
        segs: list[list[torch.Tensor]] = [[], []]
        counts = []
        offset = 0
        for b in range(batch):
            state = decode_observation(obs, b, self.max_degree, device=device)
            if actions is None:
                acts = torch.nonzero(state.action_mask).view(-1)
            else:
                acts = actions[b].view(-1).long()
            ctx = self.context(state)
            terms = build_action_terms(state, acts)
            J = terms.count
            counts.append(J)
            slots = torch.arange(ctx.num_memory, device=device)
            for which, pre in (
                (0, self.memory_preactivations(ctx, terms, slots)),
                (1, self.equality_preactivations(ctx, terms)),
            ):
                S = pre.shape[1]
                pres[which].append(pre.reshape(J * S, self.width))
                segs[which].append(
                    torch.arange(offset, offset + J, device=device).repeat_interleave(S)
                )
            offset += J
        feats = []
        for which in (0, 1):
            pre = (
                torch.cat(pres[which]) if pres[which] else torch.zeros(0, self.width, device=device)
            )
            seg = (
                torch.cat(segs[which])
                if segs[which]
                else torch.zeros(0, dtype=torch.long, device=device)
            )
            if torch.is_grad_enabled():
                hidden = self.second_layer(which)(torch.relu(pre))
            else:  # in place: the pair tensors dominate memory traffic
                u = self.u_memory if which == 0 else self.u_equality  # type: ignore[attr-defined]
                hidden = torch.relu_(u[2](torch.relu_(pre)))
            out = hidden.new_zeros(offset, self.width)
            out = out.scatter_reduce(
                0, seg.view(-1, 1).expand(-1, self.width), hidden, reduce="amax", include_self=True
            )
            feats.append(out)
        q = self.head(feats[0], feats[1])
        return list(torch.split(q, counts))


# -- vanilla network ---------------------------------------------------------------------------
@dataclass
class VanillaContext:
    state: DecodedState
    memory_dense: torch.Tensor  # [M, N]
    num_memory: int
    num_equalities: int


class VanillaQNetwork(ProofQNetwork):
    """Ablation: ``T(m, f, a) = W [m; f; a]`` (no relabelling symmetry; fixed ``n``)."""

    architecture = "vanilla"

    def __init__(
        self, n: int, max_degree: int = 2, width: int = 64, feature_dim: int | None = None
    ) -> None:
        super().__init__(max_degree, width)
        self.n = int(n)
        self.num_monomials = monomial_tables(self.n, self.max_degree).size
        self.feature_dim = int(feature_dim or width)
        N = self.num_monomials
        self.t_memory = nn.Linear(3 * N, self.feature_dim, bias=False)
        self.t_equality = nn.Linear(3 * N, self.feature_dim, bias=False)
        self.u_memory = _mlp(self.feature_dim, width, width, final_relu=True)
        self.u_equality = _mlp(self.feature_dim, width, width, final_relu=True)

    def second_layer(self, which: int) -> nn.Module:
        u = self.u_memory if which == 0 else self.u_equality
        return nn.Sequential(u[2], u[3])

    def _folded(self, which: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        t = self.t_memory if which == 0 else self.t_equality
        u = self.u_memory if which == 0 else self.u_equality
        V = u[0].weight @ t.weight  # [w, 3N]
        N = self.num_monomials
        return V[:, :N], V[:, N : 2 * N], V[:, 2 * N :], u[0].bias

    def context(self, state: DecodedState) -> VanillaContext:
        if state.n != self.n:
            raise ValueError(f"the vanilla network was built for n={self.n}, got n={state.n}")
        keep = state.memory_owner < state.num_memory
        dense = torch.zeros(
            state.num_memory, self.num_monomials, device=state.objective_value.device
        )
        dense.index_put_(
            (state.memory_owner[keep], state.memory_monomial[keep]),
            state.memory_coefficient[keep],
            accumulate=True,
        )
        return VanillaContext(state, dense, state.num_memory, int(state.equalities.numel()))

    def _action_dense(self, ctx: VanillaContext, terms: ActionTerms) -> torch.Tensor:
        dense = torch.zeros(terms.count, self.num_monomials, device=terms.values.device)
        dense.index_put_((terms.rows, terms.monomials), terms.values, accumulate=True)
        return dense

    def _objective_dense(self, ctx: VanillaContext) -> torch.Tensor:
        f = torch.zeros(self.num_monomials, device=ctx.state.objective_value.device)
        f[ctx.state.objective_index] = ctx.state.objective_value
        return f

    def memory_preactivations(
        self, ctx: VanillaContext, terms: ActionTerms, slots: torch.Tensor
    ) -> torch.Tensor:
        Vm, Vf, Va, b = self._folded(0)
        pm = ctx.memory_dense[slots] @ Vm.T  # [M, w]
        pa = self._action_dense(ctx, terms) @ Va.T  # [J, w]
        pf = Vf @ self._objective_dense(ctx)
        return pa.unsqueeze(1) + pm.unsqueeze(0) + pf + b

    def equality_preactivations(self, ctx: VanillaContext, terms: ActionTerms) -> torch.Tensor:
        Ve, Vf, Va, b = self._folded(1)
        pe = Ve[:, ctx.state.equalities].T  # [E, w]
        pa = self._action_dense(ctx, terms) @ Va.T
        pf = Vf @ self._objective_dense(ctx)
        return pa.unsqueeze(1) + pe.unsqueeze(0) + pf + b

    def batched_preactivations(self, batch: DecodedBatch):  # type: ignore[override]
        N, B, w = batch.size, batch.batch, self.width
        M, E = batch.max_slots, batch.equalities.shape[1]
        J = int(batch.action_sample.numel())
        if batch.n != self.n:
            raise ValueError(f"the vanilla network was built for n={self.n}, got n={batch.n}")
        if J * max(M, E) * w > self.batched_limit:
            return None
        device = batch.objective.device
        a_dense = torch.zeros(J, N, device=device).index_put_(
            (batch.term_row, batch.term_monomial), batch.term_value, accumulate=True
        )
        m_dense = torch.zeros(B * M, N, device=device).index_put_(
            (batch.mem_row, batch.mem_monomial), batch.mem_coefficient, accumulate=True
        )
        out = []
        for which in (0, 1):
            Vx, Vf, Va, bias = self._folded(which)
            pa = a_dense @ Va.T  # [J, w]
            pf = batch.objective @ Vf.T  # [B, w]
            if which == 0:
                px = (m_dense @ Vx.T).view(B, M, w)
                valid = torch.arange(M, device=device).view(1, -1) < batch.num_memory.view(-1, 1)
            else:
                px = Vx.T[batch.equalities]  # [B, E, w]
                valid = batch.equality_valid
            s = batch.action_sample
            pre = pa.unsqueeze(1) + px[s] + (pf[s] + bias).unsqueeze(1)
            out.append((pre, valid[s]))
        return out[0], out[1]
