"""The symmetry-invariant Q-network (trilinear class features; size independent of n)."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from agents.dqn.features import (
    DecodedBatch,
    DecodedState,
    action_products,
    memory_polynomials,
    monomial_tables,
    num_classes,
    objective_class_tensor,
    trilinear_features,
)
from agents.dqn.networks import ActionTerms, ProofQNetwork, _mlp, _sparse_rows


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
