"""Shared fixtures for PolyProof tests."""

from __future__ import annotations

import pytest

from envs.polyproof.graphs import named_graph, stable_set_from_graph


@pytest.fixture(scope="session")
def small_named_problems():
    """Stable-set problems on K_5, C_7 and Petersen with their exact alpha."""
    return {
        "K5": stable_set_from_graph(named_graph("complete", 5)),
        "C7": stable_set_from_graph(named_graph("cycle", 7)),
        "petersen": stable_set_from_graph(named_graph("petersen")),
    }
