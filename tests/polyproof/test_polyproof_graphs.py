"""Graph instances: DIMACS files, named graphs, random graphs, alpha."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from envs.polyproof.graphs import (
    GraphFormatError,
    named_graph,
    random_graph,
    read_dimacs,
    stability_number,
    write_dimacs,
)


def test_dimacs_round_trip(tmp_path):
    g = named_graph("petersen")
    path = tmp_path / "petersen.col"
    write_dimacs(g, path)
    h = read_dimacs(path)
    assert nx.is_isomorphic(g, h)
    assert stability_number(h) == 4


@pytest.mark.parametrize(
    "content, line",
    [
        ("p edge 3 1\ne 1 x\n", 2),
        ("c comment\ne 1 2\n", 2),
        ("p edge 3 1\ne 1 4\n", 2),
        ("p edge 3 1\ne 2 2\n", 2),
        ("p edge three 1\n", 1),
        ("p edge 3 1\nq 1 2\n", 2),
        ("p edge 3 1\np edge 3 1\n", 2),
    ],
)
def test_malformed_dimacs_names_the_line(tmp_path, content, line):
    path = tmp_path / "bad.col"
    path.write_text(content)
    with pytest.raises(GraphFormatError, match=f"bad.col:{line}:"):
        read_dimacs(path)


def test_dimacs_without_header(tmp_path):
    path = tmp_path / "empty.col"
    path.write_text("c nothing here\n")
    with pytest.raises(GraphFormatError, match="no 'p edge"):
        read_dimacs(path)


def test_named_graphs_and_alpha():
    assert stability_number(named_graph("complete", 6)) == 1
    assert stability_number(named_graph("cycle", 7)) == 3
    assert stability_number(named_graph("empty", 4)) == 4
    with pytest.raises(ValueError):
        named_graph("nonsense", 3)


def test_random_graph_is_deterministic_under_seed():
    a = random_graph(12, np.random.default_rng(3))
    b = random_graph(12, np.random.default_rng(3))
    assert sorted(a.edges()) == sorted(b.edges()) and a.graph["p"] == b.graph["p"]
    assert 0.5 <= a.graph["p"] <= 1.0
