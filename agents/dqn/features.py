"""Symmetry-invariant trilinear features of (memory element, objective, action) triplets.

Fawzi et al. (2019), Section 4.3 and Appendix B.1: a feature map ``T(m, f, a)`` that is
trilinear in the three polynomials and constant on each equivalence class of monomial
triplets ``(x^alpha, x^beta, x^gamma)`` under permutations of the variables, so that
``T(pi m, pi f, pi a) = T(m, f, a)`` for every variable permutation ``pi``.

For multilinear monomials (sets of variables) a triplet's class is its *overlap
pattern*: the Venn diagram of the three supports, i.e. the number of variables in each
of the 7 nonempty regions (in alpha only, in beta only, in alpha and beta only, ...).
Two triplets are equivalent iff these 7 counts agree. With degrees ``<= D`` the classes
are the 7-tuples with ``|alpha|, |beta|, |gamma| <= D`` and at most ``n`` variables in
total; for ``n >= 3D`` the total never binds, so the number of classes does not depend
on ``n`` (``D = 2``: see :func:`num_classes`).

``z_k(m, f, a) = sum over (alpha, beta, gamma) in class k of m_alpha f_beta a_gamma``
is computed here from the sparse supports (no ``N^3`` tensor). The Q-network uses the
equivalent factorisation ``T(m, f, a) = sum_{alpha, gamma} m_alpha a_gamma H_f[alpha, gamma]``
with ``H_f[alpha, gamma, k] = sum_beta f_beta [class(alpha, beta, gamma) = k]``
(:func:`objective_class_tensor`), which is cheaper when many (m, a) pairs share one f.

The module also rebuilds, from an observation alone, everything the network needs:
memory polynomials, the equalities and the candidate product of every action
(:func:`action_products`), using a precomputed monomial multiplication table.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from envs.polyproof.types import MonomialIndex

# Region r (0..6) holds the variables whose membership bitmask (bit0: alpha, bit1: beta,
# bit2: gamma) equals r + 1.
REGION_MASKS = tuple(range(1, 8))


def enumerate_classes(n: int | None, max_degree: int) -> list[tuple[int, ...]]:
    """All overlap patterns of monomial triplets in ``n`` variables, degrees ``<= max_degree``.

    Each class is a 7-tuple of region counts (regions ordered by bitmask 1..7, bit0 =
    first monomial, bit1 = second, bit2 = third). ``n=None`` means "enough variables",
    which is the same set as any ``n >= 3 * max_degree``. Sorted lexicographically.
    """
    if max_degree < 0:
        raise ValueError(f"max_degree must be >= 0, got {max_degree}")
    if n is not None and n < 0:
        raise ValueError(f"n must be >= 0, got {n}")
    out = []
    for counts in itertools.product(range(max_degree + 1), repeat=7):
        sizes = [
            sum(c for mask, c in zip(REGION_MASKS, counts, strict=True) if mask & bit)
            for bit in (1, 2, 4)
        ]
        if max(sizes) > max_degree:
            continue
        if n is not None and sum(counts) > n:
            continue
        out.append(counts)
    return sorted(out)


@lru_cache(maxsize=64)
def num_classes(max_degree: int, n: int | None = None) -> int:
    """Number of equivalence classes (``n=None``: the ``n``-independent value for ``n >= 3D``)."""
    return len(enumerate_classes(n, max_degree))


@lru_cache(maxsize=8)
def class_tables(max_degree: int) -> tuple[dict[tuple[int, ...], int], np.ndarray]:
    """``(class id of each 7-count tuple, pair/beta lookup table)``.

    The lookup table ``L[pair_code, beta_code]`` gives the class of a triplet from the
    pair counts ``(|alpha \\ gamma|, |gamma \\ alpha|, |alpha & gamma|)`` (mixed radix
    ``D + 1``) and the counts of beta's variables in the 4 regions (outside both,
    alpha only, gamma only, both), ``-1`` where impossible.
    """
    classes = enumerate_classes(None, max_degree)
    ids = {c: i for i, c in enumerate(classes)}
    base = max_degree + 1
    table = np.full((base**3, base**4), -1, dtype=np.int64)
    for a_only, g_only, both in itertools.product(range(base), repeat=3):
        if a_only + both > max_degree or g_only + both > max_degree:
            continue
        pair_code = a_only + base * g_only + base * base * both
        for r0, r1, r2, r3 in itertools.product(range(base), repeat=4):
            if r0 + r1 + r2 + r3 > max_degree or r1 > a_only or r2 > g_only or r3 > both:
                continue
            # regions by mask: 1 a, 2 b, 3 ab, 4 g, 5 ag, 6 bg, 7 abg
            counts = (a_only - r1, r0, r1, g_only - r2, both - r3, r2, r3)
            table[pair_code, r0 + base * r1 + base**2 * r2 + base**3 * r3] = ids[counts]
    return ids, table


@dataclass(frozen=True)
class MonomialTables:
    """Precomputed tables over :class:`MonomialIndex` ``(n, max_degree)`` (torch, CPU).

    - ``variables[N, D]``: the variables of each monomial, padded with ``-1``.
    - ``degree[N]``.
    - ``incidence[N, n]``: bool, monomial contains variable.
    - ``times_variable[N, n]``: index of ``x^alpha * x_i`` (multilinear), ``-1`` if its
      degree exceeds ``max_degree``.
    - ``divisors[N, 2^D - 1]``: indices of the nonempty sub-monomials, padded with ``N``
      (a dummy slot that is never an equality).
    """

    n: int
    max_degree: int
    size: int
    variables: torch.Tensor
    degree: torch.Tensor
    incidence: torch.Tensor
    times_variable: torch.Tensor
    divisors: torch.Tensor


@lru_cache(maxsize=16)
def monomial_tables(n: int, max_degree: int) -> MonomialTables:
    """Tables for ``MonomialIndex(n, max_degree)`` (cached)."""
    index = MonomialIndex(n, max_degree)
    monos = index.monomials  # type: ignore[attr-defined]
    position = index.position  # type: ignore[attr-defined]
    size = len(monos)
    variables = np.full((size, max(max_degree, 1)), -1, dtype=np.int64)
    degree = np.zeros(size, dtype=np.int64)
    incidence = np.zeros((size, n), dtype=bool)
    times = np.full((size, n), -1, dtype=np.int64)
    width = max(2**max_degree - 1, 1)
    divisors = np.full((size, width), size, dtype=np.int64)
    for pos, mono in enumerate(monos):
        variables[pos, : len(mono)] = mono
        degree[pos] = len(mono)
        incidence[pos, list(mono)] = True
        for i in range(n):
            new = mono if i in mono else tuple(sorted(mono + (i,)))
            if len(new) <= max_degree:
                times[pos, i] = position[new]
        subs = [s for r in range(1, len(mono) + 1) for s in itertools.combinations(mono, r)]
        divisors[pos, : len(subs)] = [position[s] for s in subs]
    return MonomialTables(
        n=n,
        max_degree=max_degree,
        size=size,
        variables=torch.from_numpy(variables),
        degree=torch.from_numpy(degree),
        incidence=torch.from_numpy(incidence),
        times_variable=torch.from_numpy(times),
        divisors=torch.from_numpy(divisors),
    )


# -- class ids ------------------------------------------------------------------------------
def triplet_classes(
    alpha: torch.Tensor, beta: torch.Tensor, gamma: torch.Tensor, max_degree: int
) -> torch.Tensor:
    """Class ids of monomial triplets given as padded variable lists ``[..., D]`` (-1 = none).

    Direct computation of the 7 Venn-region counts (the reference implementation).
    """
    base = max_degree + 1
    allv = torch.cat([alpha, beta, gamma], dim=-1)  # [..., 3D]
    present = allv >= 0
    in_a = (allv.unsqueeze(-1) == alpha.unsqueeze(-2)).any(-1) & present
    in_b = (allv.unsqueeze(-1) == beta.unsqueeze(-2)).any(-1) & present
    in_g = (allv.unsqueeze(-1) == gamma.unsqueeze(-2)).any(-1) & present
    mask = in_a.long() + 2 * in_b.long() + 4 * in_g.long()
    width = allv.shape[-1]
    earlier = _earlier_mask(width).to(allv.device)
    duplicate = ((allv.unsqueeze(-1) == allv.unsqueeze(-2)) & earlier).any(-1)
    first = present & ~duplicate
    code = torch.zeros(allv.shape[:-1], dtype=torch.long, device=allv.device)
    for r, region in enumerate(REGION_MASKS):
        count = ((mask == region) & first).sum(-1)
        code = code + count * base**r
    return _venn_lookup(max_degree).to(allv.device)[code]


@lru_cache(maxsize=8)
def _earlier_mask(width: int) -> torch.Tensor:
    return torch.ones(width, width, dtype=torch.bool).tril(-1)


@lru_cache(maxsize=8)
def _venn_lookup(max_degree: int) -> torch.Tensor:
    """Class id of each mixed-radix code of the 7 region counts (-1: impossible)."""
    ids, _ = class_tables(max_degree)
    base = max_degree + 1
    lookup = torch.full((base**7,), -1, dtype=torch.long)
    for counts, k in ids.items():
        lookup[sum(c * base**r for r, c in enumerate(counts))] = k
    return lookup


def objective_class_tensor(
    alpha_idx: torch.Tensor,
    gamma_idx: torch.Tensor,
    f_idx: torch.Tensor,
    f_val: torch.Tensor,
    tables: MonomialTables,
    chunk: int = 4_000_000,
    normalize: bool = False,
) -> torch.Tensor:
    """``H[a, g, k] = sum_beta f_beta [class(alpha_a, beta, gamma_g) = k]``, shape ``[A, G, K]``.

    ``alpha_idx``/``gamma_idx`` are monomial indices (rows/columns to build), ``f_idx``,
    ``f_val`` the objective's sparse support. Uses the pair/beta factorisation of the
    class (:func:`class_tables`); memory ``O(A * G * nnz(f))`` in chunks of ``chunk``.

    ``normalize=True`` divides each entry by the number of ``beta`` in ``supp(f)`` that
    fall in class ``k`` for this ``(alpha, gamma)`` (a per-class mean instead of a sum).
    This is still invariant under variable relabelling and linear in ``m`` and ``a``, and
    removes the growth with ``n`` of the classes where ``beta`` is disjoint from
    ``alpha`` and ``gamma`` (for ``f = sum x_i`` they sum ``n - |alpha u gamma|`` ones).
    """
    device = f_val.device
    D = tables.max_degree
    base = D + 1
    _, lookup = class_tables(D)
    lookup_t = torch.as_tensor(lookup, device=device)
    K = lookup.max() + 1
    inc = tables.incidence.to(device)
    deg = tables.degree.to(device)
    A, G, F = alpha_idx.numel(), gamma_idx.numel(), f_idx.numel()
    out = torch.zeros(A * G, int(K), dtype=f_val.dtype, device=device)
    count = torch.zeros_like(out) if normalize else out
    if A == 0 or G == 0 or F == 0:
        return out.view(A, G, int(K))
    inc_a = inc[alpha_idx].to(torch.int8)  # [A, n]
    inc_g = inc[gamma_idx].to(torch.int8)  # [G, n]
    both = (inc_a.float() @ inc_g.float().T).long()  # [A, G]
    a_only = deg[alpha_idx].unsqueeze(1) - both
    g_only = deg[gamma_idx].unsqueeze(0) - both
    pair_code = (a_only + base * g_only + base * base * both).reshape(-1)  # [A*G]
    bvars = tables.variables.to(device)[f_idx]  # [F, D]
    bpresent = bvars >= 0
    bsafe = bvars.clamp(min=0)
    rows_per_chunk = max(1, chunk // max(1, G * F))
    for start in range(0, A, rows_per_chunk):
        stop = min(A, start + rows_per_chunk)
        ia = inc_a[start:stop][:, bsafe].long()  # [a, F, D]
        ig = inc_g[:, bsafe].long()  # [G, F, D]
        region = ia.unsqueeze(1) + 2 * ig.unsqueeze(0)  # [a, G, F, D] in 0..3
        weight = torch.pow(base, region) * bpresent.long()  # counts in mixed radix
        beta_code = weight.sum(-1)  # [a, G, F]
        pc = pair_code[start * G : stop * G].view(stop - start, G, 1)
        cls = lookup_t[pc, beta_code]  # [a, G, F]
        flat_rows = (
            torch.arange((stop - start) * G, device=device).view(stop - start, G, 1) + start * G
        )
        values = f_val.view(1, 1, F).expand_as(cls)
        where = (flat_rows.expand_as(cls).reshape(-1), cls.reshape(-1))
        out.index_put_(where, values.reshape(-1), accumulate=True)
        if normalize:
            count.index_put_(where, torch.ones_like(values.reshape(-1)), accumulate=True)
    if normalize:
        out = out / count.clamp(min=1.0)
    return out.view(A, G, int(K))


def trilinear_features(
    m: tuple[torch.Tensor, torch.Tensor],
    f: tuple[torch.Tensor, torch.Tensor],
    a: tuple[torch.Tensor, torch.Tensor],
    tables: MonomialTables,
    normalize: bool = False,
) -> torch.Tensor:
    """``z[k] = sum_{(alpha, beta, gamma) in class k} m_alpha f_beta a_gamma`` from sparse supports.

    Each polynomial is ``(monomial indices, coefficients)``. Cost
    ``O(nnz(m) nnz(f) nnz(a))``; no ``N^3`` tensor. ``normalize``: per ``(alpha, gamma, k)``
    mean over ``beta`` instead of the sum (see :func:`objective_class_tensor`).
    """
    K = num_classes(tables.max_degree)
    (mi, mv), (fi, fv), (ai, av) = m, f, a
    dtype = fv.dtype if torch.is_floating_point(fv) else torch.float32
    z = torch.zeros(K, dtype=dtype)
    if mi.numel() == 0 or fi.numel() == 0 or ai.numel() == 0:
        return z
    var = tables.variables
    A, B, C = torch.meshgrid(
        torch.arange(mi.numel()), torch.arange(fi.numel()), torch.arange(ai.numel()), indexing="ij"
    )
    cls = triplet_classes(var[mi[A]], var[fi[B]], var[ai[C]], tables.max_degree)
    weight = fv.to(dtype)[B]
    if normalize:  # divide f_beta by the number of beta sharing (alpha, gamma, class)
        key = (A * ai.numel() + C) * K + cls
        _, inverse, counts = torch.unique(key.reshape(-1), return_inverse=True, return_counts=True)
        weight = weight / counts[inverse].view_as(weight).to(dtype)
    prod = mv.to(dtype)[A] * weight * av.to(dtype)[C]
    z.index_add_(0, cls.reshape(-1), prod.reshape(-1))
    return z


# -- observation decoding -----------------------------------------------------------------------
@dataclass
class DecodedState:
    """One observation as sparse tensors (all indices are monomial indices of the full index)."""

    n: int
    max_degree: int
    num_memory: int  # filled memory slots
    memory_owner: torch.Tensor  # [T] slot of each memory term
    memory_monomial: torch.Tensor  # [T]
    memory_coefficient: torch.Tensor  # [T] float
    objective_index: torch.Tensor  # [F]
    objective_value: torch.Tensor  # [F]
    equalities: torch.Tensor  # [E] monomial indices
    zero: torch.Tensor  # [N] bool, monomial is zero modulo the equalities
    action_mask: torch.Tensor  # [num_actions] bool


def infer_n(obs: dict, max_degree: int) -> int:
    """The number of variables, from the observation's shapes."""
    num_actions = obs["action_mask"].shape[-1]
    max_memory = obs["memory_mask"].shape[-1]
    if num_actions % max_memory or (num_actions // max_memory) % 2:
        raise ValueError("action_mask length must be max_memory * 2n")
    n = num_actions // max_memory // 2
    size = MonomialIndex(n, max_degree).size
    if obs["objective"].shape[-1] != size:
        raise ValueError(
            f"objective has {obs['objective'].shape[-1]} entries but n={n}, "
            f"max_degree={max_degree} gives {size} monomials"
        )
    return n


def decode_observation(
    obs: dict, index: int, max_degree: int, device: torch.device | str = "cpu"
) -> DecodedState:
    """Decode sample ``index`` of a batched observation dict (numpy arrays or torch tensors)."""

    def get(key: str) -> torch.Tensor:
        value = obs[key][index]
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(np.asarray(value))
        return value.to(device)

    n = infer_n({k: obs[k][index] for k in ("action_mask", "memory_mask", "objective")}, max_degree)
    tables = monomial_tables(n, max_degree)
    objective = get("objective").float()
    if not torch.isfinite(objective).all():
        raise ValueError("objective contains NaN or inf")
    owner = get("memory_term_owner").long()
    keep = owner >= 0
    owner = owner[keep]
    mono = get("memory_term_monomial").long()[keep]
    coef = get("memory_term_coefficient").float()[keep]
    num_memory = int(get("memory_mask").long().sum())
    eq = get("equalities").long()
    eq = eq[eq >= 0]
    is_eq = torch.zeros(tables.size + 1, dtype=torch.bool, device=device)
    is_eq[eq] = True
    zero = is_eq[tables.divisors.to(device)].any(-1)
    f_idx = torch.nonzero(objective, as_tuple=False).view(-1)
    return DecodedState(
        n=n,
        max_degree=max_degree,
        num_memory=num_memory,
        memory_owner=owner,
        memory_monomial=mono,
        memory_coefficient=coef,
        objective_index=f_idx,
        objective_value=objective[f_idx],
        equalities=eq,
        zero=zero,
        action_mask=get("action_mask").bool(),
    )


def _ragged_ranges(starts: torch.Tensor, counts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The ranges ``[starts[i], starts[i] + counts[i])`` flattened: ``(row i, position)`` per entry."""
    rows = torch.repeat_interleave(torch.arange(counts.numel(), device=counts.device), counts)
    offsets = torch.arange(rows.numel(), device=counts.device) - torch.repeat_interleave(
        torch.cumsum(counts, 0) - counts, counts
    )
    return rows, starts[rows] + offsets


def action_products(
    state: DecodedState, actions: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Sparse reduced products of ``actions`` as COO ``(row, monomial, coefficient)``.

    ``row`` indexes ``actions``. Action ``a`` multiplies memory slot ``a // 2n`` by
    ``x_{k+1}`` (``k = a % 2n < n``) or ``1 - x_{k-n+1}``; products are reduced
    modulo ``x_i^2 = x_i`` and the equalities. Terms of degree above ``max_degree``
    are dropped (such actions are masked by the environment).
    """
    device = actions.device
    n = state.n
    tables = monomial_tables(n, state.max_degree)
    times = tables.times_variable.to(device)
    two_n = 2 * n
    parent = actions // two_n
    k = actions % two_n
    var = k % n
    negated = k >= n
    owner = state.memory_owner
    order = torch.argsort(owner, stable=True)
    owner_s = owner[order]
    mono_s = state.memory_monomial[order]
    coef_s = state.memory_coefficient[order]
    num_slots = max(int(state.num_memory), int(owner_s.max().item()) + 1 if owner_s.numel() else 0)
    counts = (
        torch.bincount(owner_s, minlength=num_slots)
        if owner_s.numel()
        else torch.zeros(num_slots, dtype=torch.long, device=device)
    )
    starts = torch.cumsum(counts, 0) - counts
    if parent.numel() and int(parent.max()) >= num_slots:
        raise ValueError("an action refers to an empty memory slot")
    rows, term = _ragged_ranges(starts[parent], counts[parent])
    alpha = mono_s[term]
    c = coef_s[term]
    prod = times[alpha, var[rows]]
    ok = prod >= 0
    ok = ok & ~state.zero[prod.clamp(min=0)]
    sign = torch.where(negated[rows], -1.0, 1.0)
    out_rows = [rows[ok]]
    out_monos = [prod[ok]]
    out_vals = [(c * sign)[ok]]
    neg = negated[rows]
    out_rows.append(rows[neg])
    out_monos.append(alpha[neg])
    out_vals.append(c[neg])
    r = torch.cat(out_rows)
    m = torch.cat(out_monos)
    v = torch.cat(out_vals)
    key = r * tables.size + m
    uniq, inverse = torch.unique(key, return_inverse=True)
    summed = torch.zeros(uniq.numel(), dtype=v.dtype, device=device).index_add_(0, inverse, v)
    nonzero = summed != 0
    uniq, summed = uniq[nonzero], summed[nonzero]
    return uniq // tables.size, uniq % tables.size, summed


def same_product(state: DecodedState, reference: int, actions: torch.Tensor) -> torch.Tensor:
    """Bool ``[len(actions)]``: whether each action's reduced product equals ``reference``'s.

    Different actions can give the same polynomial (``(1 - x_u)(1 - x_v)`` from either
    parent); a network that sees only the product cannot tell them apart.
    """
    ids = torch.cat([torch.tensor([reference], device=actions.device), actions.view(-1)]).long()
    rows, monos, vals = action_products(state, ids)
    size = monomial_tables(state.n, state.max_degree).size
    dense = torch.zeros(ids.numel(), size, dtype=vals.dtype, device=vals.device)
    dense[rows, monos] = vals
    return (dense[1:] == dense[:1]).all(1)


def memory_polynomials(state: DecodedState) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The memory as a list of ``(monomial indices, coefficients)``, one per filled slot."""
    out = []
    for slot in range(state.num_memory):
        sel = state.memory_owner == slot
        out.append((state.memory_monomial[sel], state.memory_coefficient[sel]))
    return out


# -- batched decoding (training path) ------------------------------------------------------------
@dataclass
class DecodedBatch:
    """A batch of observations (same ``n``) as flat sparse tensors.

    Memory slot ``(b, i)`` has padded row ``b * max_slots + i``; action row ``j`` belongs to
    sample ``action_sample[j]``; action terms are COO ``(term_row, term_monomial, term_value)``.
    """

    n: int
    max_degree: int
    size: int
    batch: int
    max_slots: int  # largest number of filled memory slots in the batch
    num_memory: torch.Tensor  # [B]
    mem_row: torch.Tensor  # [T] padded memory row b * max_slots + slot
    mem_monomial: torch.Tensor
    mem_coefficient: torch.Tensor
    equalities: torch.Tensor  # [B, E_max] monomial indices (0 where padded)
    equality_valid: torch.Tensor  # [B, E_max] bool
    objective: torch.Tensor  # [B, N]
    action_sample: torch.Tensor  # [J]
    action_id: torch.Tensor  # [J]
    counts: list[int]  # actions per sample
    term_row: torch.Tensor
    term_monomial: torch.Tensor
    term_value: torch.Tensor


def decode_batch(obs: dict, max_degree: int, actions: torch.Tensor | None = None) -> DecodedBatch:
    """Decode a batched observation dict of torch tensors.

    ``actions=None`` takes every legal action of each sample (its ``action_mask``);
    otherwise ``actions`` is ``[B, k]`` action ids per sample.
    """
    mask = obs["action_mask"]
    device = mask.device
    B = mask.shape[0]
    n = infer_n({k: obs[k][0] for k in ("action_mask", "memory_mask", "objective")}, max_degree)
    tables = monomial_tables(n, max_degree)
    N = tables.size
    two_n = 2 * n
    objective = obs["objective"].float()
    if not torch.isfinite(objective).all():
        raise ValueError("objective contains NaN or inf")
    num_memory = obs["memory_mask"].long().sum(1)
    max_slots = max(1, int(num_memory.max()))
    owner = obs["memory_term_owner"].long()
    valid = (owner >= 0) & (owner < num_memory.view(-1, 1))
    b_of_term = torch.arange(B, device=device).view(-1, 1).expand_as(owner)[valid]
    slot = owner[valid]
    mono = obs["memory_term_monomial"].long()[valid]
    coef = obs["memory_term_coefficient"].float()[valid]
    mem_row = b_of_term * max_slots + slot
    eq = obs["equalities"].long()
    eq_valid = eq >= 0
    e_max = max(1, int(eq_valid.sum(1).max()))
    eq = eq[:, :e_max]
    eq_valid = eq_valid[:, :e_max]
    is_eq = torch.zeros(B, N + 1, dtype=torch.bool, device=device)
    is_eq.scatter_(1, torch.where(eq_valid, eq, torch.full_like(eq, N)), True)
    is_eq[:, N] = False
    zero = is_eq[:, tables.divisors.to(device)].any(-1)  # [B, N]
    if actions is None:
        act_b, act_id = torch.nonzero(mask > 0, as_tuple=True)
    else:
        acts = actions.view(B, -1).long()
        act_b = torch.arange(B, device=device).repeat_interleave(acts.shape[1])
        act_id = acts.reshape(-1)
    counts = torch.bincount(act_b, minlength=B).tolist()
    # candidate products
    parent_row = act_b * max_slots + act_id // two_n
    k = act_id % two_n
    var = k % n
    negated = k >= n
    order = torch.argsort(mem_row, stable=True)
    row_s, mono_s, coef_s = mem_row[order], mono[order], coef[order]
    per_row = torch.bincount(row_s, minlength=B * max_slots)
    starts = torch.cumsum(per_row, 0) - per_row
    rows, term = _ragged_ranges(starts[parent_row], per_row[parent_row])
    alpha = mono_s[term]
    c = coef_s[term]
    prod = tables.times_variable.to(device)[alpha, var[rows]]
    ok = (prod >= 0) & ~zero[act_b[rows], prod.clamp(min=0)]
    sign = torch.where(negated[rows], -1.0, 1.0)
    neg = negated[rows]
    r = torch.cat([rows[ok], rows[neg]])
    m = torch.cat([prod[ok], alpha[neg]])
    v = torch.cat([(c * sign)[ok], c[neg]])
    key = r * N + m
    uniq, inverse = torch.unique(key, return_inverse=True)
    summed = torch.zeros(uniq.numel(), dtype=v.dtype, device=device).index_add_(0, inverse, v)
    nz = summed != 0
    uniq, summed = uniq[nz], summed[nz]
    return DecodedBatch(
        n=n,
        max_degree=max_degree,
        size=N,
        batch=B,
        max_slots=max_slots,
        num_memory=num_memory,
        mem_row=mem_row,
        mem_monomial=mono,
        mem_coefficient=coef,
        equalities=torch.where(eq_valid, eq, torch.zeros_like(eq)),
        equality_valid=eq_valid,
        objective=objective,
        action_sample=act_b,
        action_id=act_id,
        counts=counts,
        term_row=uniq // N,
        term_monomial=uniq % N,
        term_value=summed,
    )
