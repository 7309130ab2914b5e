"""Polynomials, normal form and problems."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.polyproof.polynomial import Polynomial
from envs.polyproof.problem import Problem, max_cut_problem, stable_set_problem


def test_reduction_drops_edge_monomials_and_multilinearizes():
    p = stable_set_problem(3, [(0, 1)])
    poly = Polynomial({(0, 0, 2): 2, (0, 1): 5, (1,): -1})
    reduced = p.reduce(poly)
    assert reduced == Polynomial({(0, 2): 2, (1,): -1})
    assert all(isinstance(c, int) for c in reduced.terms.values())


def test_multiply_by_one_minus_matches_expansion():
    p = stable_set_problem(4, [(0, 1), (1, 2)])
    one_minus_x1 = Polynomial.one_minus_variable(0)
    product = p.multiply(one_minus_x1, p.n + 1)  # (1-x1)(1-x2), x1x2 = 0
    assert product == Polynomial({(): 1, (0,): -1, (1,): -1})
    assert p.multiply(Polynomial.variable(0), 0) == Polynomial.variable(0)  # x1^2 = x1
    assert p.multiply(Polynomial.variable(0), 1).is_zero()  # x1 x2 = 0
    assert p.multiply(Polynomial.variable(0), p.n + 0).is_zero()  # x1 (1 - x1) = 0


def test_coefficients_must_be_exact():
    with pytest.raises(TypeError):
        Polynomial({(): 0.5})
    assert Polynomial({(): Fraction(1, 2)}).terms[()] == Fraction(1, 2)


def test_printing_follows_the_paper():
    p = Polynomial({(0, 4): 1, (0,): -1, (1, 4): 1, (1,): -1, (4,): -1, (): 1})
    assert p.to_string() == "x1*x5 - x1 + x2*x5 - x2 - x5 + 1"
    assert Polynomial({(8, 9): 1, (9,): -1, (6,): -1, (): 1}).to_string() == "x10*x9 - x10 - x7 + 1"


@settings(max_examples=40, deadline=None)
@given(
    st.dictionaries(
        st.lists(st.integers(0, 5), max_size=3).map(tuple),
        st.integers(-5, 5),
        max_size=8,
    )
)
def test_json_round_trip(terms):
    poly = Polynomial(terms)
    assert Polynomial.from_json(poly.to_json()) == poly


def test_problem_json_round_trip_and_validation():
    p = max_cut_problem(4, [(0, 1), (1, 2), (2, 3)], name="path")
    q = Problem.from_json(p.to_json())
    assert q.same_as(p) and q.kind == "max_cut"
    with pytest.raises(ValueError, match="self-loop"):
        stable_set_problem(3, [(1, 1)])
    with pytest.raises(ValueError, match="outside"):
        stable_set_problem(3, [(0, 3)])
    with pytest.raises(ValueError):
        Problem(n=0, objective=Polynomial())
    with pytest.raises(ValueError, match="missing"):
        Problem.from_json({"n": 2})


def test_multiplier_names_round_trip():
    p = stable_set_problem(12, [])
    for k in range(24):
        assert p.parse_multiplier(p.multiplier_name(k)) == k
    with pytest.raises(ValueError):
        p.parse_multiplier("y3")
    with pytest.raises(ValueError):
        p.parse_multiplier("1-x13")


def test_maxcut_objective_and_trivial_bound():
    p = max_cut_problem(3, [(0, 1), (1, 2), (0, 2)])
    # f = 2 x1 + 2 x2 + 2 x3 - 2 x1x2 - 2 x2x3 - 2 x1x3; value 2 at (1,0,0)
    assert p.objective.evaluate([1, 0, 0]) == 2
    assert p.objective.evaluate([1, 1, 1]) == 0
    assert p.trivial_bound() == 6
