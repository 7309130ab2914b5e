"""Network generators for RegionEnum-v0 (all randomness from the env's ``np_random``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from envs.regions.network import (
    ReLUNetwork,
    parse_architecture,
    random_deepsets_network,
    random_network,
)


class NetworkGenerator(Protocol):
    """Draws a network; ``input_dim`` is fixed so that the spaces are fixed."""

    input_dim: int

    def __call__(self, rng: np.random.Generator) -> ReLUNetwork: ...


class RandomMLPGenerator:
    """Gaussian ReLU MLPs whose architecture is drawn from a list (same ``n0`` for all)."""

    def __init__(self, architectures: Sequence[Sequence[int] | str] = ((2, 8, 1),),
                 bias_scale: float = 1.0) -> None:
        self.architectures = [parse_architecture(a) for a in architectures]
        if not self.architectures:
            raise ValueError("need at least one architecture")
        dims = {a[0] for a in self.architectures}
        if len(dims) != 1:
            raise ValueError(f"all architectures must share the input dimension, got {sorted(dims)}")
        self.input_dim = dims.pop()
        self.bias_scale = float(bias_scale)

    def __call__(self, rng: np.random.Generator) -> ReLUNetwork:
        arch = self.architectures[int(rng.integers(len(self.architectures)))]
        return random_network(arch, rng, bias_scale=self.bias_scale)


class DeepSetsGenerator:
    """Permutation-invariant networks ``R^n -> R`` (``W = a I + b 11^T``)."""

    def __init__(self, input_dim: int = 3, depth: int = 2) -> None:
        self.input_dim, self.depth = int(input_dim), int(depth)

    def __call__(self, rng: np.random.Generator) -> ReLUNetwork:
        return random_deepsets_network(self.input_dim, self.depth, rng)


class FixedNetworkGenerator:
    """Always the same network."""

    def __init__(self, network: ReLUNetwork) -> None:
        self.network = network
        self.input_dim = network.input_dim

    def __call__(self, rng: np.random.Generator) -> ReLUNetwork:
        return self.network


def make_generator(kind: str = "mlp", **kwargs) -> NetworkGenerator:
    """``mlp`` (architectures, bias_scale) or ``deepsets`` (input_dim, depth)."""
    if kind == "mlp":
        return RandomMLPGenerator(**kwargs)
    if kind == "deepsets":
        return DeepSetsGenerator(**kwargs)
    raise ValueError(f"unknown generator kind {kind!r}; use 'mlp' or 'deepsets'")
