"""Instance generators for PolyProof-v0 (jumanji-style: ``generator(rng) -> Problem``)."""

from __future__ import annotations

import abc
from collections.abc import Sequence

import networkx as nx
import numpy as np

from envs.polyproof.graphs import max_cut_from_graph, random_graph, stable_set_from_graph
from envs.polyproof.problem import Problem


class Generator(abc.ABC):
    """Draws a :class:`Problem` with ``n`` variables from a numpy ``Generator``."""

    n: int

    @abc.abstractmethod
    def __call__(self, rng: np.random.Generator) -> Problem:
        """A new instance; all randomness must come from ``rng``."""


class RandomStableSetGenerator(Generator):
    """Stable set on G(n, p) with ``p ~ U[p_low, p_high]`` (the paper's distribution).

    Arguments:
        n: number of vertices.
        p_range: range of the edge probability.
        with_optimum: attach the exact ``alpha(G)`` (lets episodes stop once it is proved).
    """

    def __init__(self, n: int = 25, p_range: tuple[float, float] = (0.5, 1.0), with_optimum: bool = True):
        if n < 1:
            raise ValueError(f"n must be positive, got {n}")
        self.n = int(n)
        self.p_range = (float(p_range[0]), float(p_range[1]))
        self.with_optimum = with_optimum

    def __call__(self, rng: np.random.Generator) -> Problem:
        graph = random_graph(self.n, rng, self.p_range)
        return stable_set_from_graph(graph, name=f"G({self.n},{graph.graph['p']:.3f})", with_optimum=self.with_optimum)


class RandomMaxCutGenerator(Generator):
    """MaxCut on G(n, p), ``p ~ U[p_range]``."""

    def __init__(self, n: int = 10, p_range: tuple[float, float] = (0.3, 0.7)):
        self.n = int(n)
        self.p_range = (float(p_range[0]), float(p_range[1]))

    def __call__(self, rng: np.random.Generator) -> Problem:
        graph = random_graph(self.n, rng, self.p_range)
        return max_cut_from_graph(graph, name=f"maxcut-G({self.n},{graph.graph['p']:.3f})")


class FixedProblemGenerator(Generator):
    """Always the same problem (a given graph or :class:`Problem`)."""

    def __init__(self, problem: Problem | nx.Graph):
        if isinstance(problem, nx.Graph):
            problem = stable_set_from_graph(problem)
        if not isinstance(problem, Problem):
            raise TypeError(f"expected a Problem or networkx.Graph, got {type(problem).__name__}")
        self.problem = problem
        self.n = problem.n

    def __call__(self, rng: np.random.Generator) -> Problem:
        return self.problem


class ProblemListGenerator(Generator):
    """A uniformly random problem from a fixed list (all with the same ``n``)."""

    def __init__(self, problems: Sequence[Problem | nx.Graph]):
        if not problems:
            raise ValueError("the problem list is empty")
        self.problems = [FixedProblemGenerator(p).problem for p in problems]
        sizes = {p.n for p in self.problems}
        if len(sizes) != 1:
            raise ValueError(f"all problems must have the same n, got {sorted(sizes)}")
        self.n = sizes.pop()

    def __call__(self, rng: np.random.Generator) -> Problem:
        return self.problems[int(rng.integers(len(self.problems)))]
