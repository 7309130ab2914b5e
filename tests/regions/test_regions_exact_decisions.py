"""Close calls of the traversal's LPs are decided in exact arithmetic (envs.regions.exact_lp)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from envs.regions.exact import count_regions_traversal
from envs.regions.exact_lp import ExactCells
from envs.regions.lp import ambiguous
from envs.regions.network import ReLUNetwork

TINY = [1e-3, 1e-8, 1e-13, 1e-30]


def tiny_triangle(eps: float, scale: float = 1.0) -> ReLUNetwork:
    """Lines x = 0, y = 0, x + y = eps: 7 regions, one of them a triangle of side eps."""
    return ReLUNetwork.from_lists(
        [np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]]), scale * np.array([[1.0, 2.0, 3.0]])],
        [np.array([0.0, 0.0, eps]), np.array([0.0])])


def tiny_simplex(eps: float) -> ReLUNetwork:
    """Planes x = 0, y = 0, z = 0, x + y + z = eps in R^3: 15 regions, one a simplex of size eps."""
    weights = np.vstack([np.eye(3), -np.ones((1, 3))])
    return ReLUNetwork.from_lists([weights, np.array([[1.0, 2.0, 3.0, 5.0]])],
                                  [np.array([0.0, 0.0, 0.0, eps]), np.array([0.0])])


@pytest.mark.parametrize("facet_method", ["hull", "lp"])
@pytest.mark.parametrize("eps", TINY)
def test_tiny_regions_are_counted(facet_method, eps) -> None:
    result = count_regions_traversal(tiny_triangle(eps), facet_method=facet_method)
    assert result.count == 7
    if eps < 1e-6:
        assert result.num_exact_decisions > 0
    assert count_regions_traversal(tiny_simplex(eps), facet_method=facet_method).count == 15


@pytest.mark.parametrize("scale", [1e-9, 1e9])
def test_tiny_region_at_any_output_scale(scale) -> None:
    assert count_regions_traversal(tiny_triangle(1e-10, scale)).count == 7


def test_exact_cells_answers() -> None:
    exact = ExactCells(tiny_triangle(1e-20), box_radius=None)
    triangle = np.array([True, True, True])
    full, witness = exact.strictly_feasible(triangle)
    assert full
    G, h, _ = exact.rows(triangle)
    assert all(value > 0 for value in G @ witness + h)
    assert isinstance(witness[0], Fraction)
    # no point with x < 0, y < 0 and x + y > 1e-20
    assert exact.strictly_feasible(np.array([False, False, False]))[0] is False
    # the line x + y = 1e-20 is a facet of the triangle, x = 0 too
    assert exact.strictly_feasible(triangle, on_unit=2)[0]
    assert exact.strictly_feasible(triangle, on_unit=0)[0]
    boxed = ExactCells(tiny_triangle(1e-20), box_radius=1e-25)
    assert boxed.strictly_feasible(np.array([True, True, False]))[0] is False


def test_same_hyperplane_rows_are_left_out_of_facet_questions() -> None:
    net = ReLUNetwork.from_lists([np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0]]),
                                  np.array([[1.0, -1.0, 1.0]])],
                                 [np.array([0.0, 0.0, 0.0]), np.array([0.0])])
    exact = ExactCells(net, box_radius=None)
    pattern = np.array([True, True, True])
    assert exact.strictly_feasible(pattern, on_unit=0)[0]  # unit 1 is the same hyperplane
    assert exact.strictly_feasible(pattern, on_unit=0, drop_units=(1,))[0]


def test_ambiguity_band_is_relative_to_the_point() -> None:
    assert ambiguous(1e-7, np.zeros(2)) and not ambiguous(1e-5, np.zeros(2))
    assert ambiguous(1e-3, np.full(2, 1e4))


def test_algorithm4_close_calls_are_checked_by_the_traversal(capsys, tmp_path) -> None:
    import json

    from envs.regions.count import main as count_main
    from envs.regions.exact import count_regions_tropical
    from envs.regions.network import random_network

    with pytest.raises(ValueError, match="unknown"):
        count_regions_tropical(tiny_triangle(1e-10))
    deep = count_regions_tropical(random_network([2, 4, 3, 1], 0))
    assert deep.num_close_calls > 0 and deep.verified_by_traversal
    assert deep.count == count_regions_traversal(random_network([2, 4, 3, 1], 0)).count
    plain = count_regions_tropical(random_network([2, 6, 1], 0))
    assert plain.num_close_calls == 0 and not plain.verified_by_traversal
    weights = tiny_triangle(1e-10)
    path = str(tmp_path / "tiny.npz")
    np.savez(path, W0=weights.weights[0], b0=weights.biases[0], W1=weights.weights[1],
             b1=weights.biases[1])
    assert count_main(["--weights", path, "--method", "exact", "--no-monomials"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] is None and report["status"].startswith("unknown")
    assert count_main(["--weights", path, "--method", "traversal", "--no-monomials"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 7
