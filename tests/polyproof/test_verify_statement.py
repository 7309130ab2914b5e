"""envs.polyproof.verify checks the problem statement, not only the steps (issue 13 §4)."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from baselines.provers import prove_clique_cover, prove_dual_pricing
from envs.cli import run_cli
from envs.polyproof.graphs import (
    max_cut_from_graph,
    named_graph,
    stability_number,
    stable_set_from_graph,
    write_dimacs,
)
from envs.polyproof.verify import (
    EXIT_CONTRADICTION,
    Contradiction,
    ProofRejected,
    check_proof,
    main,
    verify_proof,
)

ROOT = Path(__file__).resolve().parents[2]


def _four_cliques() -> nx.Graph:
    """15 vertices, disjoint cliques of sizes 4, 4, 4, 3: alpha = 4."""
    graph = nx.Graph()
    graph.add_nodes_from(range(15))
    for block in (range(0, 4), range(4, 8), range(8, 12), range(12, 15)):
        graph.add_edges_from((u, v) for u in block for v in block if u < v)
    return graph


@pytest.fixture(scope="module")
def k15_document() -> dict:
    proof = prove_clique_cover(
        stable_set_from_graph(named_graph("complete", 15)), max_steps=30
    ).proof
    assert proof.bound == 1
    return proof.to_json()


def _relabel_as_four_cliques(document: dict, equalities: bool) -> dict:
    """The issue's attack: K15's proof (bound 1) restated as a graph with alpha 4."""
    other = _four_cliques()
    assert stability_number(other) == 4
    doc = copy.deepcopy(document)
    doc["problem"]["name"] = "four_cliques"
    doc["problem"]["edges"] = sorted([u, v] for u, v in other.edges())
    doc["problem"]["known_optimum"] = "4"
    if equalities:
        doc["problem"]["equalities"] = doc["problem"]["edges"]
    return doc


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv)
    out = capsys.readouterr()
    return int(info.value.code), out.out, out.err


def _write(tmp_path: Path, document: dict, name: str = "proof.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def test_untampered_proof_is_valid(k15_document, tmp_path, capsys) -> None:
    assert check_proof(k15_document) == 1
    code, out, _ = _run([str(_write(tmp_path, k15_document))], capsys)
    assert code == 0
    report = json.loads(out)
    assert report["valid"] and report["bound"] == "1" and report["edges"] == 105


def test_relabelled_edges_name_and_optimum_are_rejected(k15_document, tmp_path, capsys) -> None:
    doc = _relabel_as_four_cliques(k15_document, equalities=False)
    with pytest.raises(ProofRejected, match="equality constraints do not match"):
        check_proof(doc)
    code, out, _ = _run([str(_write(tmp_path, doc))], capsys)
    assert code == 1 and out.startswith("invalid: problem: the equality constraints")


def test_relabelled_constraints_too_are_rejected(k15_document) -> None:
    doc = _relabel_as_four_cliques(k15_document, equalities=True)
    with pytest.raises(ProofRejected) as info:
        check_proof(doc)
    assert not isinstance(info.value, Contradiction)  # the steps no longer hold


def test_edited_constraint_list_is_rejected(k15_document) -> None:
    doc = copy.deepcopy(k15_document)
    doc["problem"]["equalities"].pop()
    with pytest.raises(ProofRejected, match="1 edge\\(s\\) without one"):
        check_proof(doc)
    doc = copy.deepcopy(k15_document)
    doc["problem"]["equalities"].append([0, 1, 2])
    with pytest.raises(ProofRejected, match="1 not from an edge"):
        check_proof(doc)


@pytest.mark.parametrize(
    "edit", [[[[0], "2"]], [[[0, 1], "1"]], [[[], "1"]], []], ids=["coef", "quad", "const", "empty"]
)
def test_edited_objective_is_rejected(k15_document, edit) -> None:
    doc = copy.deepcopy(k15_document)
    doc["problem"]["objective"] = edit + [t for t in doc["problem"]["objective"] if t[0] != [0]]
    with pytest.raises(ProofRejected, match="objective"):
        check_proof(doc)


def test_custom_kind_cannot_hide_edges(k15_document) -> None:
    doc = copy.deepcopy(k15_document)
    doc["problem"]["kind"] = "custom"
    with pytest.raises(ProofRejected, match="custom problem states edges"):
        check_proof(doc)
    doc["problem"]["edges"] = []
    assert check_proof(doc) == 1  # a custom problem is its constraints and objective


def test_bound_below_known_optimum_is_a_contradiction(k15_document, tmp_path, capsys) -> None:
    doc = copy.deepcopy(k15_document)
    doc["problem"]["known_optimum"] = "4"
    with pytest.raises(Contradiction, match="known_optimum is 4"):
        check_proof(doc)
    code, out, _ = _run([str(_write(tmp_path, doc))], capsys)
    assert code == EXIT_CONTRADICTION
    assert out.startswith("contradiction: the proof certifies f <= 1")


def test_dimacs_and_python_problem_arguments(k15_document, tmp_path, capsys) -> None:
    proof_path = _write(tmp_path, k15_document)
    same, other = tmp_path / "k15.col", tmp_path / "four.col"
    write_dimacs(named_graph("complete", 15), same)
    write_dimacs(_four_cliques(), other)
    assert _run([str(proof_path), "--dimacs", str(same)], capsys)[0] == 0
    code, out, _ = _run([str(proof_path), "--dimacs", str(other)], capsys)
    assert code == 1 and "not a proof of the given problem: the edge sets differ" in out
    code, out, _ = _run([str(proof_path), "--dimacs", str(same), "--kind", "max_cut"], capsys)
    assert code == 1 and "max_cut" in out
    assert verify_proof(k15_document, graph=named_graph("complete", 15)) == 1
    with pytest.raises(ProofRejected, match="n is 15 in the proof but 14"):
        verify_proof(k15_document, graph=named_graph("complete", 14))
    problem = stable_set_from_graph(named_graph("complete", 15))
    assert verify_proof(k15_document, problem=problem) == 1
    assert verify_proof(k15_document, problem=problem.to_json()) == 1
    problem_path = _write(tmp_path, problem.to_json(), "problem.json")
    assert _run([str(proof_path), "--problem", str(problem_path)], capsys)[0] == 0


def test_relabelled_isomorphic_graph_is_a_different_problem(tmp_path, capsys) -> None:
    petersen = named_graph("petersen")
    proof = prove_dual_pricing(stable_set_from_graph(petersen), max_steps=30).proof
    proof_path = _write(tmp_path, proof.to_json())
    permuted = nx.relabel_nodes(petersen, {v: (v + 1) % 10 for v in petersen})
    assert nx.is_isomorphic(permuted, petersen)
    col = tmp_path / "permuted.col"
    write_dimacs(permuted, col)
    code, out, _ = _run([str(proof_path), "--dimacs", str(col)], capsys)
    assert code == 1 and "under the stated vertex labelling" in out
    with pytest.raises(ProofRejected, match="edge sets differ"):
        verify_proof(proof.to_json(), graph=permuted)
    # a given problem whose stated optimum disagrees with the proof's is another statement
    given = stable_set_from_graph(petersen, with_optimum=False).to_json()
    given["known_optimum"] = str(proof.bound + 1)
    with pytest.raises(ProofRejected, match="known_optimum is 4 in the proof"):
        verify_proof(proof.to_json(), problem=given)
    # an optimum stated only by the given problem, above the bound: contradiction
    silent = proof.to_json()
    silent["problem"]["known_optimum"] = None
    with pytest.raises(Contradiction):
        verify_proof(silent, problem=given)


def test_max_cut_statement_is_rebuilt() -> None:
    proof = prove_dual_pricing(max_cut_from_graph(named_graph("cycle", 5)), max_steps=30).proof
    doc = proof.to_json()
    assert check_proof(doc) == proof.bound
    assert verify_proof(doc, graph=named_graph("cycle", 5), kind="max_cut") == proof.bound
    bad = copy.deepcopy(doc)
    bad["problem"]["edges"].pop()  # a path: its MaxCut objective differs
    with pytest.raises(ProofRejected, match="max_cut objective"):
        check_proof(bad)


@pytest.mark.parametrize("case", ["missing", "bad_json", "bad_dimacs", "missing_dimacs"])
def test_bad_input_is_one_line_exit_2(k15_document, tmp_path, capsys, case) -> None:
    proof_path = _write(tmp_path, k15_document)
    if case == "missing":
        argv = [str(tmp_path / "nope.json")]
        expected = "nope.json: no such file"
    elif case == "bad_json":
        proof_path.write_text('{"format":\n oops', encoding="utf-8")
        argv = [str(proof_path)]
        expected = "proof.json:2: not valid JSON"
    elif case == "bad_dimacs":
        col = tmp_path / "bad.col"
        col.write_text("p edge 3 1\ne 1 9\n", encoding="utf-8")
        argv = [str(proof_path), "--dimacs", str(col)]
        expected = "bad.col:2: vertex out of range"
    else:
        argv = [str(proof_path), "--dimacs", str(tmp_path / "none.col")]
        expected = "none.col: no such file"
    code, out, err = _run(argv, capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err


def test_shell_exit_statuses(k15_document, tmp_path) -> None:
    doc = copy.deepcopy(k15_document)
    doc["problem"]["known_optimum"] = "4"
    base = [sys.executable, "-m", "envs.polyproof.verify"]
    runs = {
        0: [str(_write(tmp_path, k15_document, "good.json"))],
        3: [str(_write(tmp_path, doc, "contra.json"))],
        2: [str(tmp_path / "missing.json")],
    }
    for status, args in runs.items():
        done = subprocess.run(base + args, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == status, done.stderr
        assert "Traceback" not in done.stderr
