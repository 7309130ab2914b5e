"""Linear regions of ReLU networks (Lezeau et al. 2024): tropical representation, exact and
numerical region counts, Hoffman constants and the RegionEnum-v0 environment."""

from envs.regions.exact import count_regions, count_regions_traversal, count_regions_tropical
from envs.regions.network import ReLUNetwork, random_deepsets_network, random_network
from envs.regions.tropical import TropicalPolynomial, TropicalRational, network_to_tropical


def __getattr__(name: str):
    """``estimate_regions`` is imported on first use: it needs torch, and the traversal's
    worker processes start faster without it."""
    if name == "estimate_regions":
        from envs.regions.numerical import estimate_regions

        return estimate_regions
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "ReLUNetwork",
    "TropicalPolynomial",
    "TropicalRational",
    "count_regions",
    "count_regions_traversal",
    "count_regions_tropical",
    "estimate_regions",
    "network_to_tropical",
    "random_deepsets_network",
    "random_network",
]
