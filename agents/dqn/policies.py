"""Q-networks for PolyProof-v0 and the SB3 policy that wraps them.

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

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from stable_baselines3.common.policies import BasePolicy
from torch import nn

from agents.dqn.features import (
    DecodedBatch,
    DecodedState,
    action_products,
    decode_batch,
    decode_observation,
    memory_polynomials,
    monomial_tables,
    num_classes,
    objective_class_tensor,
    trilinear_features,
)

ARCHITECTURES = ("symmetric", "vanilla")


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


# -- symmetric network ----------------------------------------------------------------------------
@dataclass
class SymmetricContext:
    state: DecodedState
    support: torch.Tensor  # [S] monomial indices (nonzero modulo equalities)
    local: torch.Tensor  # [N] position in support or -1
    h_memory: torch.Tensor  # [S, S, K]
    h_equality: torch.Tensor  # [E, S, K]
    num_memory: int
    num_equalities: int
    mem_owner: torch.Tensor
    mem_local: torch.Tensor
    mem_coef: torch.Tensor


def _tensor_bytes(tensor: torch.Tensor) -> int:
    if tensor.is_sparse:
        return _tensor_bytes(tensor._values()) + _tensor_bytes(tensor._indices())
    return tensor.element_size() * tensor.numel()


class _InstanceCache:
    """LRU cache of the per-instance tensors ``H_f`` (data only, no parameters).

    Bounded by ``size`` entries and by ``max_bytes`` of tensor data: at n = 50 one
    instance's tensors take about 180 MB, so a count bound alone can exhaust memory.
    """

    def __init__(self, size: int = 128, normalize: bool = False, max_bytes: int = 2 << 30) -> None:
        self.size = size
        self.normalize = normalize
        self.max_bytes = max_bytes
        self.data: OrderedDict[tuple, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = (
            OrderedDict()
        )

    def nbytes(self) -> int:
        """Bytes held by the cached tensors (sparse ones by their stored entries)."""
        total = 0
        for value in self.data.values():
            parts = (value,) if isinstance(value, torch.Tensor) else value
            total += sum(_tensor_bytes(t) for t in parts if isinstance(t, torch.Tensor))
        return total

    def _evict(self) -> None:
        while len(self.data) > self.size:
            self.data.popitem(last=False)
        while len(self.data) > 1 and self.nbytes() > self.max_bytes:
            self.data.popitem(last=False)

    def get(self, state: DecodedState) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        key = (
            self.normalize,
            state.n,
            state.max_degree,
            str(state.objective_value.device),
            state.equalities.cpu().numpy().tobytes(),
            state.objective_index.cpu().numpy().tobytes(),
            state.objective_value.cpu().numpy().tobytes(),
        )
        hit = self.data.get(key)
        if hit is not None:
            self.data.move_to_end(key)
            return hit
        tables = monomial_tables(state.n, state.max_degree)
        device = state.objective_value.device
        support = torch.nonzero(~state.zero, as_tuple=False).view(-1)
        h_mem = objective_class_tensor(
            support,
            support,
            state.objective_index,
            state.objective_value,
            tables,
            normalize=self.normalize,
        )
        h_eq = objective_class_tensor(
            state.equalities,
            support,
            state.objective_index,
            state.objective_value,
            tables,
            normalize=self.normalize,
        )
        local = torch.full((tables.size,), -1, dtype=torch.long, device=device)
        local[support] = torch.arange(support.numel(), device=device)
        value = (support, local, h_mem, h_eq)
        self.data[key] = value  # type: ignore[assignment]
        self._evict()
        return value  # type: ignore[return-value]


class SymmetricQNetwork(ProofQNetwork):
    """Variable-relabelling-invariant Q-network (trilinear class features).

    Arguments:
        max_degree: degree bound of the proof system (fixes the classes: 100 for D=2).
        width: units of every hidden layer (paper: 500).
        feature_dim: output size ``s`` of ``T`` (default ``width``).
        objective_normalization: ``"sum"`` (the paper's ``z``) or ``"mean"`` (per-class mean
            over the objective's monomials, see
            :func:`agents.dqn.features.objective_class_tensor`; keeps features O(1) in n).
    """

    architecture = "symmetric"

    def __init__(
        self,
        max_degree: int = 2,
        width: int = 64,
        feature_dim: int | None = None,
        objective_normalization: str = "sum",
    ) -> None:
        super().__init__(max_degree, width)
        if objective_normalization not in ("sum", "mean"):
            raise ValueError(
                f"objective_normalization must be 'sum' or 'mean', got {objective_normalization!r}"
            )
        self.objective_normalization = objective_normalization
        self.normalize = objective_normalization == "mean"
        self.num_classes = num_classes(self.max_degree)
        self.feature_dim = int(feature_dim or width)
        self.t_memory = nn.Linear(self.num_classes, self.feature_dim, bias=False)
        self.t_equality = nn.Linear(self.num_classes, self.feature_dim, bias=False)
        self.u_memory = _mlp(self.feature_dim, width, width, final_relu=True)
        self.u_equality = _mlp(self.feature_dim, width, width, final_relu=True)
        self._cache = _InstanceCache(normalize=self.normalize)
        self._hw_cache: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def second_layer(self, which: int) -> nn.Module:
        u = self.u_memory if which == 0 else self.u_equality
        return nn.Sequential(u[2], u[3])

    def _folded(self, which: int) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.t_memory if which == 0 else self.t_equality
        u = self.u_memory if which == 0 else self.u_equality
        return u[0].weight @ t.weight, u[0].bias  # [w, K], [w]

    def context(self, state: DecodedState) -> SymmetricContext:
        if state.max_degree != self.max_degree:
            raise ValueError("state max_degree differs from the network's")
        support, local, h_mem, h_eq = self._cache.get(state)
        keep = state.memory_owner < state.num_memory
        mem_local = local[state.memory_monomial[keep]]
        if (mem_local < 0).any():
            raise ValueError("a memory term uses a monomial that is zero modulo the equalities")
        return SymmetricContext(
            state=state,
            support=support,
            local=local,
            h_memory=h_mem,
            h_equality=h_eq,
            num_memory=state.num_memory,
            num_equalities=int(state.equalities.numel()),
            mem_owner=state.memory_owner[keep],
            mem_local=mem_local,
            mem_coef=state.memory_coefficient[keep],
        )

    def _hw(
        self,
        ctx: SymmetricContext,
        which: int,
        V: torch.Tensor,
        rows: torch.Tensor | None,
        cols: torch.Tensor,
    ) -> torch.Tensor:
        """``(W1 W) H[rows, cols]``; without autograd the whole table is cached per instance
        and parameter version (evaluation episodes reuse it at every step)."""
        H = ctx.h_memory if which == 0 else ctx.h_equality
        if torch.is_grad_enabled():
            sub = H[:, cols] if rows is None else H[rows][:, cols]
            return (sub.reshape(-1, sub.shape[-1]) @ V.T).view(sub.shape[0], cols.numel(), -1)
        t = self.t_memory if which == 0 else self.t_equality
        u = self.u_memory if which == 0 else self.u_equality
        key = (
            id(H),
            which,
            t.weight._version,
            u[0].weight._version,
            t.weight.data_ptr(),
            u[0].weight.data_ptr(),
        )
        full = self._hw_cache.get(key)
        if full is None or full[0] is not H:
            table = (H.reshape(-1, H.shape[-1]) @ V.T).view(H.shape[0], H.shape[1], -1)
            self._hw_cache[key] = (H, table)
            while len(self._hw_cache) > 4:
                self._hw_cache.pop(next(iter(self._hw_cache)))
        else:
            table = full[1]
        sub = table[:, cols] if rows is None else table[rows][:, cols]
        return sub

    def _action_local(
        self, ctx: SymmetricContext, terms: ActionTerms
    ) -> tuple[torch.Tensor, torch.Tensor]:
        act_local = ctx.local[terms.monomials]
        if (act_local < 0).any():
            raise ValueError("an action term uses a monomial that is zero modulo the equalities")
        cols, inv = torch.unique(act_local, return_inverse=True)
        return cols, inv

    def memory_preactivations(
        self, ctx: SymmetricContext, terms: ActionTerms, slots: torch.Tensor
    ) -> torch.Tensor:
        V, b = self._folded(0)
        J, M, w = terms.count, int(slots.numel()), self.width
        if J == 0 or M == 0:
            return V.new_zeros(J, M, w)
        slot_pos = torch.full((max(ctx.num_memory, 1),), -1, dtype=torch.long, device=V.device)
        slot_pos[slots] = torch.arange(M, device=V.device)
        sel = slot_pos[ctx.mem_owner] >= 0
        owner = slot_pos[ctx.mem_owner[sel]]
        mloc, mcoef = ctx.mem_local[sel], ctx.mem_coef[sel]
        rows_m, inv_m = torch.unique(mloc, return_inverse=True)
        cols, inv_a = self._action_local(ctx, terms)
        HW = self._hw(ctx, 0, V, rows_m, cols)  # [Sm, Sa, w]
        R = V.new_zeros(M, cols.numel(), w).index_add_(0, owner, mcoef.view(-1, 1, 1) * HW[inv_m])
        # pre[j, i] = sum_s d_s R[i, gamma_s]  (sparse [J, Sa] times [Sa, M * w])
        pre = _sparse_rows(terms, inv_a, cols.numel()) @ R.transpose(0, 1).reshape(
            cols.numel(), M * w
        )
        return pre.view(J, M, w) + b

    def equality_preactivations(self, ctx: SymmetricContext, terms: ActionTerms) -> torch.Tensor:
        V, b = self._folded(1)
        J, E, w = terms.count, ctx.num_equalities, self.width
        if J == 0 or E == 0:
            return V.new_zeros(J, E, w)
        cols, inv_a = self._action_local(ctx, terms)
        HW = self._hw(ctx, 1, V, None, cols)  # [E, Sa, w]
        pre = _sparse_rows(terms, inv_a, cols.numel()) @ HW.transpose(0, 1).reshape(
            cols.numel(), E * w
        )
        return pre.view(J, E, w) + b

    def _full_sparse(self, objective: torch.Tensor, n: int) -> torch.Tensor:
        """``H_f`` over the whole monomial index as a sparse ``[N * N, K]`` matrix (cached per objective).

        It is very sparse (a few classes per ``(alpha, gamma)``), so ``W1 W H`` is a sparse product.
        """
        key = (
            "full_sparse",
            self.normalize,
            n,
            self.max_degree,
            str(objective.device),
            objective.cpu().numpy().tobytes(),
        )
        hit = self._cache.data.get(key)
        if hit is not None:
            self._cache.data.move_to_end(key)
            return hit  # type: ignore[return-value]
        tables = monomial_tables(n, self.max_degree)
        everything = torch.arange(tables.size, device=objective.device)
        f_idx = torch.nonzero(objective).view(-1)
        H = objective_class_tensor(
            everything, everything, f_idx, objective[f_idx], tables, normalize=self.normalize
        )
        H_sparse = H.reshape(-1, H.shape[-1]).to_sparse_coo().coalesce()
        self._cache.data[key] = H_sparse  # type: ignore[assignment]
        self._cache._evict()
        return H_sparse

    def batched_preactivations(self, batch: DecodedBatch):  # type: ignore[override]
        N, w, K, B = batch.size, self.width, self.num_classes, batch.batch
        M, E = batch.max_slots, batch.equalities.shape[1]
        if max(N * N * K, N * N * w * 2, B * max(M, E) * N * w) > self.batched_limit:
            return None
        device = batch.objective.device
        uniq_f, f_of_sample = torch.unique(batch.objective, dim=0, return_inverse=True)
        U = uniq_f.shape[0]
        H_sparse = torch.cat(
            [self._full_sparse(uniq_f[u], batch.n) for u in range(U)]
        )  # [U*N*N, K]
        J = int(batch.action_sample.numel())
        a_sp = torch.sparse_coo_tensor(
            torch.stack(
                [batch.term_row, batch.action_sample[batch.term_row] * N + batch.term_monomial]
            ),
            batch.term_value,
            (J, B * N),
            device=device,
            check_invariants=False,
        ).coalesce()
        out = []
        for which in (0, 1):
            V, bias = self._folded(which)
            HW = torch.sparse.mm(H_sparse, V.T).view(U, N, N, w)
            if which == 0:
                sample = batch.mem_row // M
                m_sp = torch.sparse_coo_tensor(
                    torch.stack([batch.mem_row, f_of_sample[sample] * N + batch.mem_monomial]),
                    batch.mem_coefficient,
                    (B * M, U * N),
                    device=device,
                    check_invariants=False,
                ).coalesce()
                R = (m_sp @ HW.reshape(U * N, N * w)).view(B, M, N, w)
                valid = torch.arange(M, device=device).view(1, -1) < batch.num_memory.view(-1, 1)
                S = M
            else:
                R = HW[f_of_sample.view(-1, 1), batch.equalities]  # [B, E, N, w]
                valid = batch.equality_valid
                S = E
            rhs = R.permute(0, 2, 1, 3).reshape(B * N, S * w)
            pre = (a_sp @ rhs).view(J, S, w) + bias
            out.append((pre, valid[batch.action_sample]))
        return out[0], out[1]

    # -- reference (explicit z) ------------------------------------------------------------
    def reference_q_values(self, state: DecodedState, actions: torch.Tensor) -> torch.Tensor:
        """Slow reference: explicit ``z`` per (set element, action) pair, then ``W``, ``u``, ``zeta``."""
        tables = monomial_tables(state.n, state.max_degree)
        rows, monos, vals = action_products(state, actions)
        f = (state.objective_index, state.objective_value)
        memory = memory_polynomials(state)
        eqs = [(e.view(1), torch.ones(1)) for e in state.equalities]
        out = []
        for j in range(actions.numel()):
            a = (monos[rows == j], vals[rows == j])
            feats = []
            for which, items in ((0, memory), (1, eqs)):
                t = self.t_memory if which == 0 else self.t_equality
                u = self.u_memory if which == 0 else self.u_equality
                if not items:
                    feats.append(torch.zeros(self.width))
                    continue
                z = torch.stack(
                    [trilinear_features(m, f, a, tables, normalize=self.normalize) for m in items]
                )
                feats.append(u(t(z)).amax(0))
            out.append(self.head(feats[0], feats[1]))
        return torch.stack(out) if out else torch.zeros(0)


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

    def forward(self, obs: dict[str, torch.Tensor], deterministic: bool = True) -> torch.Tensor:
        return self._predict(obs, deterministic=deterministic)

    def all_q_values(self, obs: dict[str, torch.Tensor]) -> torch.Tensor:
        """Dense ``[B, num_actions]`` q-values with ``-inf`` on masked actions (uncached)."""
        q_lists = self.q_net(obs)
        out = torch.full((len(q_lists), self.action_space.n), -torch.inf, device=self.device)
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
