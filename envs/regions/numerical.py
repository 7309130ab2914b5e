"""Numerical estimate of the number of linear regions (Algorithm 5), vectorised in torch.

1. Sample N points in ``[-R, R]^n0`` (or in the fundamental domain ``x1 >= ... >= xn``).
2. Compute every point's Jacobian and offset in one batched pass (activation masks).
3. Group points by the rounded affine map; inside a group, points ``a, b`` are joined when
   the network at the midpoint equals the group's affine map there (a same-map group that
   fails the test is split into several regions).  Count the components.

For permutation-invariant networks (DeepSets) each Jacobian found in the fundamental domain is
weighted by ``n! / prod_k mult_k!`` (Lemma 30 of Lezeau et al. 2024), an upper-bound style
estimate of the full count.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from envs.regions.network import ReLUNetwork
from envs.regions.tropical import unique_row_inverse

DECIMALS = 6


@dataclass
class NumericalResult:
    """Estimate and diagnostics of Algorithm 5."""

    count: float
    num_maps: int
    num_points: int
    radius: float
    seconds: float
    fundamental_domain: bool = False

    def summary(self) -> dict:
        return {
            "count": self.count,
            "num_distinct_maps": self.num_maps,
            "num_points": self.num_points,
            "radius": self.radius,
            "seconds": round(self.seconds, 6),
            "fundamental_domain": self.fundamental_domain,
        }


def _torch_layers(network: ReLUNetwork, dtype: torch.dtype) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.as_tensor(w, dtype=dtype), torch.as_tensor(b, dtype=dtype))
            for w, b in zip(network.weights, network.biases, strict=True)]


def batched_affine_maps(
    network: ReLUNetwork, points: torch.Tensor, layers: list | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Outputs ``(N, nL)``, Jacobians ``(N, nL, n0)`` and offsets ``(N, nL)`` at the points."""
    layers = layers if layers is not None else _torch_layers(network, points.dtype)
    batch = points.shape[0]
    jacobian = torch.eye(network.input_dim, dtype=points.dtype).expand(batch, -1, -1)
    activation = points
    for index, (weight, bias) in enumerate(layers):
        pre = activation @ weight.T + bias
        jacobian = torch.matmul(weight, jacobian)  # (N, n_l, n0)
        if index < len(layers) - 1:
            mask = (pre > 0).to(points.dtype)
            activation = pre * mask
            jacobian = jacobian * mask[:, :, None]
        else:
            activation = pre
    offsets = activation - torch.einsum("nij,nj->ni", jacobian, points)
    return activation, jacobian, offsets


def _forward(layers: list[tuple[torch.Tensor, torch.Tensor]], points: torch.Tensor) -> torch.Tensor:
    activation = points
    for index, (weight, bias) in enumerate(layers):
        activation = torch.addmm(bias, activation, weight.T)
        if index < len(layers) - 1:
            activation = torch.relu(activation)
    return activation


def sample_box(num_points: int, dim: int, radius: float, generator: torch.Generator,
               fundamental_domain: bool = False, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Uniform points in ``[-R, R]^dim``; sorted decreasingly per row for the fundamental domain."""
    points = (torch.rand(num_points, dim, generator=generator, dtype=dtype) * 2 - 1) * radius
    if fundamental_domain:
        points = torch.sort(points, dim=1, descending=True).values
    return points


def lemma30_weight(jacobian_row: np.ndarray) -> int:
    """``n! / prod_k mult_k!`` for the multiplicities of the entries of a Jacobian row."""
    _, counts = np.unique(np.round(jacobian_row, DECIMALS), return_counts=True)
    return math.factorial(jacobian_row.size) // math.prod(math.factorial(int(c)) for c in counts)


def estimate_regions(
    network: ReLUNetwork,
    num_points: int = 1000,
    radius: float = 5.0,
    seed: int = 0,
    fundamental_domain: bool = False,
    max_pairs_per_point: int = 32,
    dtype: torch.dtype = torch.float64,
) -> NumericalResult:
    """Algorithm 5 (see module docstring)."""
    if num_points < 1 or not np.isfinite(radius) or radius <= 0:
        raise ValueError("num_points must be >= 1 and radius a positive finite number")
    if fundamental_domain and network.output_dim != 1:
        raise ValueError("the fundamental-domain estimate needs a scalar (invariant) network")
    begin = time.perf_counter()
    generator = torch.Generator().manual_seed(int(seed))
    layers = _torch_layers(network, dtype)
    with torch.no_grad():
        points = sample_box(num_points, network.input_dim, radius, generator, fundamental_domain, dtype)
        outputs, jacobians, offsets = batched_affine_maps(network, points, layers)
        flat = torch.cat([jacobians.reshape(num_points, -1), offsets], dim=1).numpy()
        scale = 1.0 + np.abs(flat).max()
        map_ids = unique_row_inverse(np.round(flat / scale, DECIMALS))
        num_maps = int(map_ids.max()) + 1
        # midpoint test inside each same-map group (vectorised over all candidate pairs)
        order = np.argsort(map_ids, kind="stable")
        boundaries = np.flatnonzero(np.diff(map_ids[order])) + 1
        first_of, second_of = [], []
        rng = np.random.default_rng(seed)
        for members in np.split(order, boundaries):
            size = members.size
            if size < 2:
                continue
            if size * (size - 1) // 2 <= size * max_pairs_per_point:
                a, b = np.triu_indices(size, k=1)
            else:
                a = np.repeat(np.arange(size), max_pairs_per_point)
                b = rng.integers(0, size, size=a.size)
            first_of.append(members[a])
            second_of.append(members[b])
        joined_a, joined_b = [], []
        if first_of:
            first = np.concatenate(first_of)
            second = np.concatenate(second_of)
            chunk = 1 << 16
            for start in range(0, first.size, chunk):
                a_idx, b_idx = first[start : start + chunk], second[start : start + chunk]
                a_torch, b_torch = torch.from_numpy(a_idx), torch.from_numpy(b_idx)
                mids = 0.5 * (points[a_torch] + points[b_torch])
                values = _forward(layers, mids)
                # same affine map at both ends: the map's value at the midpoint is the mean
                predicted = 0.5 * (outputs[a_torch] + outputs[b_torch])
                agree = torch.all(torch.abs(values - predicted) <= 1e-8 * scale, dim=1).numpy()
                joined_a.append(a_idx[agree])
                joined_b.append(b_idx[agree])
        rows = np.concatenate(joined_a) if joined_a else np.zeros(0, dtype=np.int64)
        cols = np.concatenate(joined_b) if joined_b else np.zeros(0, dtype=np.int64)
        graph = coo_matrix((np.ones(rows.size), (rows, cols)), shape=(num_points, num_points))
        _, roots = connected_components(graph, directed=False)
        # a component is a region; each component inherits its map (same map -> same group)
        component_ids, representative = np.unique(roots, return_index=True)
        if fundamental_domain:
            jac = jacobians[:, 0, :].numpy()
            count = float(sum(lemma30_weight(jac[r]) for r in representative))
        else:
            count = float(component_ids.size)
    return NumericalResult(
        count=count,
        num_maps=num_maps,
        num_points=num_points,
        radius=float(radius),
        seconds=time.perf_counter() - begin,
        fundamental_domain=fundamental_domain,
    )
