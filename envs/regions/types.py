"""State of a RegionEnum-v0 episode."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from envs.regions.exact import RegionResult
from envs.regions.network import ReLUNetwork


@dataclass
class RegionEnumState:
    """Everything an episode needs: the network, its exact regions and the queries so far."""

    network: ReLUNetwork
    regions: RegionResult
    budget: int
    radius: float
    queries: np.ndarray  # (budget, n0), rows [0, num_queries) filled
    found: set[int] = field(default_factory=set)
    num_queries: int = 0
    last_reward: float = 0.0

    @property
    def total_regions(self) -> int:
        return self.regions.count

    @property
    def budget_left(self) -> int:
        return self.budget - self.num_queries

    def region_of(self, point: np.ndarray) -> int | None:
        """Region label of a point of the box (``None`` on a boundary / outside)."""
        pattern = self.network.activation_patterns(point[None, :])[0]
        return self.regions.pattern_to_region.get(np.packbits(pattern).tobytes())
