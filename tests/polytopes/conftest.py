"""Shared fixtures for the polytope tests."""

from __future__ import annotations

import pytest

FIGURE_1_LEFT = """-1 0 0 0 0 0 0 0
0 0 0 0 0 0 0 -1
0 -1 0 0 0 0 0 0
0 0 0 0 -1 0 0 0
0 0 0 0 -1 1 0 1
0 0 0 0 0 -1 0 0
0 0 -1 0 0 0 0 0
0 0 0 -1 0 0 0 0
0 0 0 0 0 0 -1 0
1 1 1 1 0 -4 1 1
0 0 0 0 1 0 0 -1"""


@pytest.fixture(scope="session")
def figure_1_left() -> str:
    """The paper's Figure 1 (left): smooth reflexive, d = 8; exact normality takes 40-120 s."""
    return FIGURE_1_LEFT


@pytest.fixture(scope="session")
def figure_1_right() -> str:
    """The paper's Figure 1 (right): the left one with its last row changed (no property)."""
    return FIGURE_1_LEFT[: FIGURE_1_LEFT.rindex("\n")] + "\n0 0 0 0 1 0 1 -1"
