"""Reward functions of RegionEnum-v0."""

from __future__ import annotations

from envs.regions.types import RegionEnumState


class NewRegionReward:
    """``new_region`` when the query lies in an undiscovered linear region, else ``repeat``."""

    def __init__(self, new_region: float = 1.0, repeat: float = 0.0) -> None:
        self.new_region, self.repeat = float(new_region), float(repeat)

    def __call__(self, state: RegionEnumState, region: int | None, is_new: bool) -> float:
        return self.new_region if is_new else self.repeat
