"""Soundness, exact certificates, JSON export and the independent checker."""

from __future__ import annotations

import copy
import json

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from baselines.provers import prove_dual_pricing, prove_random
from envs.polyproof.graphs import stable_set_from_graph
from envs.polyproof.proof import Proof
from envs.polyproof.verify import ProofRejected, check_proof
from envs.polyproof.verify import main as verify_main


@pytest.mark.parametrize("name", ["K5", "C7", "petersen"])
def test_provers_are_sound_on_named_graphs(small_named_problems, name):
    problem = small_named_problems[name]
    for result in (
        prove_random(problem, seed=0, max_steps=40),
        prove_dual_pricing(problem, max_steps=40),
    ):
        assert result.bound_exact >= problem.known_optimum
        assert result.proof.is_valid()
        assert check_proof(result.proof.to_json()) == result.bound_exact


def test_dual_pricing_proves_small_optima(small_named_problems):
    assert prove_dual_pricing(small_named_problems["K5"]).bound_exact == 1
    assert prove_dual_pricing(small_named_problems["petersen"]).bound_exact == 4


@st.composite
def graphs(draw):
    n = draw(st.integers(2, 8))
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True)) if pairs else []
    g = nx.Graph()
    g.add_nodes_from(range(n))
    g.add_edges_from(chosen)
    return g


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs(), st.integers(0, 3))
def test_no_bound_below_alpha_on_random_graphs(graph, seed):
    problem = stable_set_from_graph(graph)
    for result in (
        prove_random(problem, seed=seed, max_steps=15),
        prove_dual_pricing(problem, max_steps=15),
    ):
        assert result.bound_exact >= problem.known_optimum
        assert check_proof(result.proof.to_json()) == result.bound_exact


def _proof_document(problems):
    return prove_dual_pricing(problems["petersen"], max_steps=30).proof.to_json()


def test_json_round_trip(small_named_problems, tmp_path):
    proof = prove_dual_pricing(small_named_problems["C7"]).proof
    path = tmp_path / "c7.json"
    proof.save(path)
    loaded = Proof.load(path)
    assert loaded.bound == proof.bound and loaded.is_valid()
    assert loaded.problem.same_as(proof.problem)
    assert verify_main([str(path)]) == 0


def _tamper(document, how):
    doc = copy.deepcopy(document)
    if how == "bound":
        doc["bound"] = str(json.loads(json.dumps(float(doc["bound_float"]) - 1)))
    elif how == "negative_multiplier":
        key = next(iter(doc["multipliers"]))
        doc["multipliers"][key] = "-" + doc["multipliers"][key]
    elif how == "multiplier_value":
        key = next(iter(doc["multipliers"]))
        doc["multipliers"][key] = doc["multipliers"][key] + "1"
    elif how == "step_multiplier":
        step = doc["steps"][0]
        step["multiplier"] = "x1" if step["multiplier"] != "x1" else "x2"
    elif how == "step_polynomial":
        doc["steps"][0]["polynomial"] = [[[], "1"]]
    elif how == "parent":
        doc["steps"][0]["parent"] = 10_000
    elif how == "objective":
        doc["problem"]["objective"].append([[0], "1"])
    return doc


@pytest.mark.parametrize(
    "how",
    [
        "bound",
        "negative_multiplier",
        "multiplier_value",
        "step_multiplier",
        "step_polynomial",
        "parent",
        "objective",
    ],
)
def test_tampered_proofs_fail(small_named_problems, tmp_path, how):
    document = _proof_document(small_named_problems)
    assert check_proof(document) == Proof.from_json(document).bound >= 4
    bad = _tamper(document, how)
    with pytest.raises(ProofRejected):
        check_proof(bad)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(bad))
    assert verify_main([str(path)]) == 1


def test_checker_names_the_first_wrong_step(small_named_problems, capsys, tmp_path):
    document = _proof_document(small_named_problems)
    document["steps"][2]["polynomial"] = [[[], "7"]]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    assert verify_main([str(path)]) == 1
    assert "[Step 2]" in capsys.readouterr().out
