"""Reward of PolyProof-v0: the decrease of the certified bound."""

from __future__ import annotations

import math


def effective_bound(bound: float, trivial_bound: float) -> float:
    """The LP bound, capped by the problem's trivial bound (so it is always finite)."""
    return min(bound, trivial_bound) if math.isfinite(bound) else trivial_bound


def bound_improvement(previous: float, current: float, trivial_bound: float) -> float:
    """``gamma_t - gamma_{t+1} >= 0`` on effective bounds (tiny LP noise clipped to 0)."""
    gain = effective_bound(previous, trivial_bound) - effective_bound(current, trivial_bound)
    return gain if gain > 1e-9 else 0.0
