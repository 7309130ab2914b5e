"""Sherali–Adams baseline: generator counts, reference values, soundness, certificates, CLI."""

from __future__ import annotations

import itertools
import json
from fractions import Fraction

import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baselines.sherali_adams import (
    MemoryBudgetError,
    brute_force_generators,
    build_sherali_adams_lp,
    count_generators,
    main,
    sherali_adams_bound,
)
from envs.cli import UsageError
from envs.highs import LPError
from envs.polyproof.graphs import (
    named_graph,
    random_graph,
    stable_set_from_graph,
    write_dimacs,
)
from envs.polyproof.polynomial import Polynomial
from envs.polyproof.problem import Problem, max_cut_problem
from envs.polyproof.proof import Proof


def _independent_bound(proof: Proof) -> Fraction:
    verify = pytest.importorskip("envs.polyproof.verify")
    return verify.check_proof(json.loads(json.dumps(proof.to_json())))


def _check_result(result, problem: Problem, level: int) -> None:
    proof = result.proof
    assert proof is not None
    assert proof.max_degree == level
    assert proof.bound == result.bound_exact
    assert result.bound == float(result.bound_exact)
    assert proof.is_valid()
    assert all(lam > 0 for lam in proof.multipliers.values())
    assert result.lp_columns == result.extra["generators"] + 1
    assert result.build_seconds >= 0 and result.solve_seconds >= 0


@st.composite
def small_graphs(draw, max_n: int = 7) -> nx.Graph:
    n = draw(st.integers(min_value=2, max_value=max_n))
    pairs = list(itertools.combinations(range(n), 2))
    keep = draw(st.lists(st.booleans(), min_size=len(pairs), max_size=len(pairs)))
    graph = nx.empty_graph(n)
    graph.add_edges_from(p for p, k in zip(pairs, keep, strict=True) if k)
    return graph


# -- distinct generators --------------------------------------------------------------
@settings(max_examples=15, deadline=None)
@given(graph=small_graphs(6), level=st.integers(min_value=1, max_value=4))
def test_generators_match_brute_force_on_graphs(graph: nx.Graph, level: int) -> None:
    problem = stable_set_from_graph(graph, with_optimum=False)
    lp = build_sherali_adams_lp(problem, level)
    expected = brute_force_generators(problem, level)
    columns = [lp.column_polynomial(c) for c in range(lp.num_columns)]
    assert len(set(columns)) == len(columns) == len(expected)
    assert set(columns) == expected
    assert count_generators(problem, level).generators == len(expected)
    assert lp.num_rows == len(problem.monomial_basis(level))


@pytest.mark.parametrize("level", [1, 2, 3])
def test_generators_match_brute_force_max_cut_and_higher_equalities(level: int) -> None:
    max_cut = max_cut_problem(5, [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4)])
    custom = Problem(
        n=6,
        objective=Polynomial({(0,): 1, (1, 2): 1, (3,): 2}),
        equalities=((0, 1, 2), (3, 4), (5,)),
    )
    for problem in (max_cut, custom):
        lp = build_sherali_adams_lp(problem, max(level, problem.objective.degree))
        expected = brute_force_generators(problem, lp.level)
        assert {lp.column_polynomial(c) for c in range(lp.num_columns)} == expected
        assert lp.num_columns == len(expected)


def test_count_at_n50_level5_is_in_the_papers_range() -> None:
    problem = stable_set_from_graph(random_graph(50, np.random.default_rng(0)), with_optimum=False)
    estimate = count_generators(problem, 5)
    assert 2.3e6 <= estimate.generators <= 3e6
    assert estimate.seconds < 5.0
    assert estimate.nonzeros_upper >= estimate.generators


def test_memory_budget_refuses_up_front() -> None:
    problem = stable_set_from_graph(random_graph(50, np.random.default_rng(0)), with_optimum=False)
    with pytest.raises(MemoryBudgetError, match="refused"):
        sherali_adams_bound(problem, 5, memory_budget=100 * 1024**2)
    empty = stable_set_from_graph(nx.empty_graph(60), with_optimum=False)
    with pytest.raises(MemoryBudgetError):  # even counting the rows would not fit
        count_generators(empty, 8, memory_budget=1024**3)


# -- reference values -------------------------------------------------------------------
@pytest.mark.parametrize("n", [10, 12, 15])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_levels_two_and_three_give_n_over_l(n: int, seed: int) -> None:
    problem = stable_set_from_graph(random_graph(n, np.random.default_rng([seed, n])))
    for level in (2, 3):
        result = sherali_adams_bound(problem, level)
        assert result.bound_exact == Fraction(n, level)
        _check_result(result, problem, level)


@pytest.mark.parametrize("seed", range(4))
def test_never_below_n_over_l_nor_alpha(seed: int) -> None:
    n = 11
    problem = stable_set_from_graph(random_graph(n, np.random.default_rng([seed, 99])))
    for level in (1, 2, 3, 4):
        result = sherali_adams_bound(problem, level)
        assert result.bound_exact >= Fraction(n, level)
        assert result.bound_exact >= problem.known_optimum
        _check_result(result, problem, level)


def test_complete_graph_needs_level_n() -> None:
    problem = stable_set_from_graph(named_graph("complete", 4))
    bounds = [sherali_adams_bound(problem, level).bound_exact for level in (1, 2, 3, 4)]
    assert bounds == [4, 2, Fraction(4, 3), 1]
    assert all(b > 1 for b in bounds[:3])


@pytest.mark.parametrize(
    ("name", "levels"), [("complete", (2, 5)), ("cycle", (2, 3, 4)), ("petersen", (2, 3, 4))]
)
def test_sound_on_named_graphs(name: str, levels: tuple[int, ...]) -> None:
    graph = named_graph(name, 5 if name == "complete" else 7 if name == "cycle" else None)
    problem = stable_set_from_graph(graph)
    for level in levels:
        result = sherali_adams_bound(problem, level)
        assert result.bound_exact >= problem.known_optimum
        _check_result(result, problem, level)
        assert _independent_bound(result.proof) == result.bound_exact
    if name == "complete":
        assert result.bound_exact == 1  # level n = 5 is exact on K_5


@settings(max_examples=12, deadline=None)
@given(graph=small_graphs(8), level=st.integers(min_value=1, max_value=4))
def test_sound_on_hypothesis_graphs(graph: nx.Graph, level: int) -> None:
    problem = stable_set_from_graph(graph)
    result = sherali_adams_bound(problem, level)
    assert result.bound_exact >= problem.known_optimum
    assert result.bound_exact >= Fraction(problem.n, level)
    _check_result(result, problem, level)
    assert _independent_bound(result.proof) == result.bound_exact
    if level >= problem.n:
        assert result.bound_exact == problem.known_optimum  # completeness at level n


def test_max_cut_bound_is_sound() -> None:
    edges = [(0, 1), (1, 2), (2, 3), (3, 4), (0, 4), (0, 2)]
    problem = max_cut_problem(5, edges)
    best = max(sum(x[u] != x[v] for u, v in edges) for x in itertools.product((0, 1), repeat=5))
    previous = None
    for level in (2, 3, 4, 5):
        result = sherali_adams_bound(problem, level)
        assert result.bound_exact >= best
        assert previous is None or result.bound_exact <= previous
        previous = result.bound_exact
        _check_result(result, problem, level)
    assert previous == best


# -- failures -----------------------------------------------------------------------------
def test_lp_time_out_raises() -> None:
    graph = random_graph(16, np.random.default_rng(1), (0.1, 0.3))
    problem = stable_set_from_graph(graph, with_optimum=False)
    with pytest.raises(LPError, match="Time limit"):
        sherali_adams_bound(problem, 4, time_limit=1e-6)


def test_bad_levels() -> None:
    problem = stable_set_from_graph(named_graph("cycle", 5), with_optimum=False)
    for level in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="level"):
            count_generators(problem, level)  # type: ignore[arg-type]
    quadratic = Problem(n=3, objective=Polynomial({(0, 1): 1}))
    with pytest.raises(ValueError, match="objective degree"):
        sherali_adams_bound(quadratic, 1)


# -- CLI ------------------------------------------------------------------------------------
def test_cli_dimacs_json_and_proof(tmp_path, capsys) -> None:
    path = tmp_path / "petersen.col"
    write_dimacs(named_graph("petersen"), path)
    proof_path = tmp_path / "proof.json"
    assert main(["--dimacs", str(path), "--level", "3", "--proof-out", str(proof_path)]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("bound", "bound_exact", "lp_columns", "lp_rows", "seconds", "generators"):
        assert key in out
    assert Fraction(out["bound_exact"]) >= 4  # alpha(Petersen) = 4
    proof = Proof.load(proof_path)
    assert proof.is_valid() and proof.bound == Fraction(out["bound_exact"])
    verify = pytest.importorskip("envs.polyproof.verify")
    assert verify.main([str(proof_path)]) == 0


def test_cli_errors(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.col"
    bad.write_text("p edge 3 1\ne 1 9\n")
    with pytest.raises(UsageError, match="bad.col:2"):
        main(["--dimacs", str(bad), "--level", "2"])
    assert main(["--random-n", "50", "--level", "5", "--memory-gib", "0.01"]) == 2
    assert json.loads(capsys.readouterr().out)["error"] == "memory_budget"
    assert main(["--random-n", "30", "--level", "4", "--count-only"]) == 0
    assert json.loads(capsys.readouterr().out)["generators"] > 0


def test_large_n_uses_positional_keys() -> None:
    n = 64  # beyond the 62-bit masks: the sorted base-(n+1) keys are used
    problem = stable_set_from_graph(random_graph(n, np.random.default_rng(3)), with_optimum=False)
    lp = build_sherali_adams_lp(problem, 2)
    assert lp.monomials.base == n + 1
    expected = brute_force_generators(problem, 2)
    assert {lp.column_polynomial(c) for c in range(lp.num_columns)} == expected
    assert lp.num_columns == len(expected)
    assert sherali_adams_bound(problem, 2).bound_exact == n // 2


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(3))
def test_n20_up_to_level5_certified(seed: int) -> None:
    n = 20
    problem = stable_set_from_graph(random_graph(n, np.random.default_rng([seed, n])))
    previous = None
    for level in (2, 3, 4, 5):
        result = sherali_adams_bound(problem, level)
        assert result.bound_exact >= max(Fraction(n, level), problem.known_optimum)
        assert previous is None or result.bound_exact <= previous
        previous = result.bound_exact
        _check_result(result, problem, level)
        assert _independent_bound(result.proof) == result.bound_exact


def test_presolve_on_and_off_agree() -> None:
    problem = stable_set_from_graph(random_graph(14, np.random.default_rng(7)))
    for level in (3, 4):
        off = sherali_adams_bound(problem, level, presolve=False)
        on = sherali_adams_bound(problem, level, presolve=True)
        assert off.bound_exact == on.bound_exact
        _check_result(on, problem, level)
