"""Graph instances: random G(n, p), named graphs, DIMACS files, exact alpha(G).

Graphs are :class:`networkx.Graph` objects. Before they become problems their
nodes are relabelled ``0..n-1`` in sorted order (:func:`canonical_graph`).
"""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np

from envs.polyproof.problem import Problem, max_cut_problem, stable_set_problem

NAMED_GRAPHS = ("complete", "cycle", "path", "petersen", "empty", "star", "wheel")


class GraphFormatError(ValueError):
    """A malformed graph file; the message names the file and line."""


def canonical_graph(graph: nx.Graph) -> nx.Graph:
    """Relabel nodes to ``0..n-1`` (sorted order); reject self-loops and directed graphs."""
    if not isinstance(graph, nx.Graph):
        raise TypeError(f"expected a networkx.Graph, got {type(graph).__name__}")
    if graph.is_directed():
        raise ValueError("directed graphs are not supported; convert with .to_undirected()")
    if graph.number_of_nodes() == 0:
        raise ValueError("the graph has no vertices")
    loops = list(nx.selfloop_edges(graph))
    if loops:
        raise ValueError(f"self-loops are not allowed (at {loops[0][0]!r})")
    try:
        nodes = sorted(graph.nodes())
    except TypeError:
        nodes = list(graph.nodes())
    mapping = {v: i for i, v in enumerate(nodes)}
    out = nx.Graph()
    out.add_nodes_from(range(len(nodes)))
    out.add_edges_from((mapping[u], mapping[v]) for u, v in graph.edges())
    out.graph.update(graph.graph)
    return out


def random_graph(n: int, rng: np.random.Generator, p_range: tuple[float, float] = (0.5, 1.0)) -> nx.Graph:
    """G(n, p) with ``p ~ U[p_range]``, as in the paper; all randomness from ``rng``."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    lo, hi = p_range
    if not (0.0 <= lo <= hi <= 1.0):
        raise ValueError(f"p_range must satisfy 0 <= low <= high <= 1, got {p_range}")
    p = float(rng.uniform(lo, hi))
    iu, ju = np.triu_indices(n, k=1)
    keep = rng.random(iu.shape[0]) < p
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(zip(iu[keep].tolist(), ju[keep].tolist(), strict=True))
    graph.graph["p"] = p
    return graph


def named_graph(name: str, n: int | None = None) -> nx.Graph:
    """``complete``, ``cycle``, ``path``, ``star``, ``wheel``, ``empty`` (need ``n``), ``petersen``."""
    key = name.lower()
    if key == "petersen":
        return canonical_graph(nx.petersen_graph())
    if key not in NAMED_GRAPHS:
        raise ValueError(f"unknown graph {name!r}; choose from {NAMED_GRAPHS}")
    if n is None or n < 1:
        raise ValueError(f"graph {name!r} needs a positive n")
    builders = {
        "complete": nx.complete_graph,
        "cycle": nx.cycle_graph,
        "path": nx.path_graph,
        "empty": nx.empty_graph,
        "star": lambda k: nx.star_graph(k - 1),
        "wheel": nx.wheel_graph,
    }
    return canonical_graph(builders[key](n))


def read_dimacs(path: str | os.PathLike) -> nx.Graph:
    """Read a DIMACS ``.col``/``.clq`` graph (``p edge n m`` then ``e u v`` lines, 1-based).

    Raises :class:`GraphFormatError` naming the line for any malformed content.
    """
    path = Path(path)
    graph: nx.Graph | None = None
    declared_edges = 0
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        for lineno, raw in enumerate(handle, start=1):
            line = raw.strip()
            if not line or line[0] == "c":
                continue
            tokens = line.split()
            where = f"{path}:{lineno}: "
            if tokens[0] == "p":
                if graph is not None:
                    raise GraphFormatError(where + "a second 'p' line")
                if len(tokens) != 4 or tokens[1] not in ("edge", "edges", "col"):
                    raise GraphFormatError(where + f"expected 'p edge <n> <m>', got {line!r}")
                try:
                    n, declared_edges = int(tokens[2]), int(tokens[3])
                except ValueError as exc:
                    raise GraphFormatError(where + f"non-integer size in {line!r}") from exc
                if n < 1 or declared_edges < 0:
                    raise GraphFormatError(where + f"bad sizes in {line!r}")
                graph = nx.Graph()
                graph.add_nodes_from(range(n))
            elif tokens[0] == "e":
                if graph is None:
                    raise GraphFormatError(where + "an 'e' line before the 'p edge n m' line")
                if len(tokens) != 3:
                    raise GraphFormatError(where + f"expected 'e <u> <v>', got {line!r}")
                try:
                    u, v = int(tokens[1]), int(tokens[2])
                except ValueError as exc:
                    raise GraphFormatError(where + f"non-integer vertex in {line!r}") from exc
                n = graph.number_of_nodes()
                if not (1 <= u <= n and 1 <= v <= n):
                    raise GraphFormatError(where + f"vertex out of range 1..{n} in {line!r}")
                if u == v:
                    raise GraphFormatError(where + f"self-loop in {line!r}")
                graph.add_edge(u - 1, v - 1)
            elif tokens[0] == "n":
                continue  # vertex weights: accepted and ignored
            else:
                raise GraphFormatError(where + f"unknown line type {tokens[0]!r}")
    if graph is None:
        raise GraphFormatError(f"{path}: no 'p edge <n> <m>' line")
    graph.graph["name"] = path.stem
    graph.graph["declared_edges"] = declared_edges
    return graph


def write_dimacs(graph: nx.Graph, path: str | os.PathLike) -> None:
    """Write a graph as DIMACS (1-based vertices)."""
    g = canonical_graph(graph)
    lines = [f"p edge {g.number_of_nodes()} {g.number_of_edges()}"]
    lines += [f"e {u + 1} {v + 1}" for u, v in sorted(g.edges())]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def stability_number(graph: nx.Graph) -> int:
    """Exact alpha(G): the size of a maximum clique of the complement (networkx)."""
    g = canonical_graph(graph)
    complement = nx.complement(g)
    clique, weight = nx.max_weight_clique(complement, weight=None)
    return int(weight)


def stable_set_from_graph(graph: nx.Graph, name: str = "", with_optimum: bool = True) -> Problem:
    """The stable-set problem of a graph; ``known_optimum = alpha(G)`` if requested."""
    g = canonical_graph(graph)
    alpha = stability_number(g) if with_optimum else None
    return stable_set_problem(
        g.number_of_nodes(), g.edges(), name=name or str(g.graph.get("name", "")), known_optimum=alpha
    )


def max_cut_from_graph(graph: nx.Graph, name: str = "") -> Problem:
    """The MaxCut problem of a graph (no known optimum attached)."""
    g = canonical_graph(graph)
    return max_cut_problem(g.number_of_nodes(), g.edges(), name=name or str(g.graph.get("name", "")))
