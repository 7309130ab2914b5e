"""The per-graph work of :mod:`agents.evaluate`: one task of :func:`envs.parallel.run_tasks`.

:func:`evaluate_graph` runs every requested method (the checkpoint's greedy ``agent``, its
``agent_beam:K`` searches, and the baselines of :mod:`baselines.benchmark`) on one graph
``G(n, p)`` and returns its CSV rows. It is a module-level function of a picklable
:class:`EvalTask`, so it runs the same on the ``serial``, ``process`` and ``ray`` backends;
the Q-network is loaded once per worker process (:func:`cached_q_network`, keyed by the
checkpoint file and device). Each graph gets a fresh environment and Q-value cache, so a
row does not depend on which worker ran it or on the graphs that worker ran before.
"""

from __future__ import annotations

import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agents.dqn.policies import CachedQEvaluator, ProofQNetwork
from agents.dqn.runner import run_greedy_episode
from agents.dqn.search import beam_search, parse_beam_method
from baselines.benchmark_rows import FIELDS
from envs.cli import UsageError
from envs.parallel import TaskOutcome
from envs.polyproof.env import PolyProofEnv

__all__ = [
    "EVAL_FIELDS",
    "EvalTask",
    "GreedyProver",
    "cached_q_network",
    "evaluate_graph",
    "failed_rows",
    "read_q_network",
    "run_agent",
    "run_beam",
    "uses_agent",
]

EVAL_FIELDS = (*FIELDS, "lp_solves")

_Q_NETWORKS: dict[tuple[str, int, str], ProofQNetwork] = {}


@dataclass(frozen=True)
class EvalTask:
    """One graph of an evaluation: graph ``index`` of size ``n`` for ``seed``, the methods
    still to run on it and their options (``max_steps``, ``max_degree``, ``time_limit``,
    ``memory_budget`` as :func:`baselines.benchmark.run_method`; ``threads``: torch threads
    of the worker, 0 keeps its default)."""

    checkpoint: str
    device: str
    seed: int
    n: int
    index: int
    methods: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)
    threads: int = 0


class GreedyProver:
    """Greedy policy of a Q-network on observations of any ``n`` (caching trick on)."""

    def __init__(self, q_net: ProofQNetwork) -> None:
        self.q_net = q_net.eval()
        self.cache = CachedQEvaluator(self.q_net)

    def predict(self, obs: dict[str, np.ndarray], deterministic: bool = True) -> tuple[int, None]:
        q = self.cache.q_values(obs)
        if not np.isfinite(q).any():
            raise ValueError("no legal action")
        return int(np.argmax(q)), None


def uses_agent(spec: str) -> bool:
    """Whether a method needs the checkpoint's Q-network."""
    return spec == "agent" or parse_beam_method(spec) is not None


def read_q_network(path: str | Path, device: str = "cpu") -> ProofQNetwork:
    """The online Q-network of the :class:`agents.dqn.ProofDQN` model at ``path`` (a file
    known to exist); :class:`UsageError` when it is not such a model."""
    from agents.dqn import ProofDQN

    try:
        model = ProofDQN.load(Path(path), device=device)
    except (AssertionError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
        raise UsageError(
            f"checkpoint {path} is not a ProofDQN model ({type(exc).__name__}: {exc})"
        ) from exc
    return model.policy.q_net.eval()


def cached_q_network(checkpoint: str | Path, device: str = "cpu") -> ProofQNetwork:
    """:func:`read_q_network`, loaded once per process for each checkpoint file and device
    (a file rewritten since is loaded again)."""
    path = Path(checkpoint).resolve()
    key = (str(path), path.stat().st_mtime_ns, device)
    if key not in _Q_NETWORKS:
        _Q_NETWORKS[key] = read_q_network(path, device)
    return _Q_NETWORKS[key]


def run_agent(prover: GreedyProver, env: PolyProofEnv, problem: Any) -> dict[str, Any]:
    """One certified agent proof -> a CSV row fragment (never raises for LP/cert failures)."""
    from baselines.benchmark import certified_row, failed_proof_row
    from envs.highs import LPError
    from envs.polyproof.proof import CertificateError

    row: dict[str, Any] = {"method": "agent"}
    try:
        result = run_greedy_episode(prover, env, problem, certify=False)
        proof = env.certificate()
    except (LPError, CertificateError) as exc:
        return failed_proof_row(row, exc)
    row.update(
        lp_columns=result.lp_columns,
        lp_rows=result.lp_rows,
        proof_steps=len(proof.steps),
        lp_solves=len(proof.steps) + 1,
        seconds=round(result.seconds, 6),
    )
    return certified_row(row, proof, problem.known_optimum)


def run_beam(q_net: ProofQNetwork, env: PolyProofEnv, problem: Any, spec: str) -> dict[str, Any]:
    """One certified beam-search proof -> a CSV row fragment (as :func:`run_agent`)."""
    from baselines.benchmark import certified_row, failed_proof_row
    from envs.highs import LPError
    from envs.polyproof.proof import CertificateError

    width, expansions = parse_beam_method(spec)  # type: ignore[misc]
    row: dict[str, Any] = {"method": spec}
    try:
        result = beam_search(CachedQEvaluator(q_net), env, problem, width, expansions)
        proof = result.env.certificate()
    except (LPError, CertificateError) as exc:
        return failed_proof_row(row, exc)
    session = result.env.session
    row.update(
        lp_columns=int(session.lp.num_columns) + 1,  # type: ignore[union-attr]
        lp_rows=int(session.lp.num_rows),  # type: ignore[union-attr]
        proof_steps=len(proof.steps),
        lp_solves=result.lp_solves,
        seconds=round(result.seconds, 6),
    )
    return certified_row(row, proof, problem.known_optimum)


def evaluate_graph(task: EvalTask) -> list[dict[str, Any]]:
    """The CSV rows (columns :data:`EVAL_FIELDS`) of ``task.methods`` on one graph.

    A method that raises is an ``error`` row, never a bound.
    """
    from baselines.benchmark import graph_problem, prover_seed, run_method

    if task.threads:
        torch.set_num_threads(task.threads)
    problem, base = graph_problem(task.seed, task.n, task.index)
    options = task.options
    q_net = (
        cached_q_network(task.checkpoint, task.device)
        if any(map(uses_agent, task.methods))
        else None
    )
    env: PolyProofEnv | None = None
    rows = []
    with torch.no_grad():
        for spec in task.methods:
            start = time.perf_counter()
            try:
                if uses_agent(spec):
                    if env is None:
                        env = PolyProofEnv(
                            n=task.n,
                            max_steps=options["max_steps"],
                            max_degree=options["max_degree"],
                        )
                    if spec == "agent":
                        part = run_agent(GreedyProver(q_net), env, problem)  # type: ignore[arg-type]
                    else:
                        part = run_beam(q_net, env, problem, spec)  # type: ignore[arg-type]
                else:
                    seed_value = prover_seed(task.seed, task.n, task.index)
                    part = run_method(spec, problem, options, seed_value)
            except Exception as exc:  # noqa: BLE001 - recorded, never turned into a bound
                part = {"method": spec, "status": "error", "message": f"{type(exc).__name__}: {exc}"}
            part.setdefault("seconds", round(time.perf_counter() - start, 6))
            row = {key: "" for key in EVAL_FIELDS}
            row.update(base)
            row.update(part)
            rows.append(row)
    return rows


def failed_rows(task: EvalTask, outcome: TaskOutcome) -> list[dict[str, Any]]:
    """``error`` rows for the methods of a graph whose task failed in the executor."""
    message = f"task failed after {outcome.attempts} attempts: {outcome.error}"
    rows = []
    for spec in task.methods:
        row = {key: "" for key in EVAL_FIELDS}
        row.update(
            seed=task.seed, n=task.n, graph=task.index, method=spec, status="error", message=message
        )
        rows.append(row)
    return rows
