"""Evaluate a trained DQN prover against the baselines on held-out random graphs.

    python -m agents.evaluate --n 15 20 25 30 35 40 45 50 --graphs 100 \\
        --out results/agents/agent_eval.csv          # the main prover, checkpoints/polyproof_dqn.zip
    python -m agents.evaluate --checkpoint checkpoints/dqn_cpu_dagger.zip --n 30 --graphs 20 \\
        --methods agent agent_beam:4 clique_cover alpha

For each ``n`` and graph ``i`` (``G(n, p)``, ``p ~ U[0.5, 1]``, drawn exactly as in
:mod:`baselines.benchmark`, so rows are comparable with its CSVs) every method bounds
``alpha(G)``: ``agent`` (greedy actions of the checkpoint's Q-network, ``--max-steps``
steps), ``agent_beam:K`` (beam search of width ``K`` guided by the same Q-network, expanding
the top ``K`` actions of each state; ``agent_beam:KxM`` expands ``M``; see
:mod:`agents.dqn.search`), ``random``, ``dual_pricing``, ``clique_cover``, ``sherali_adams:L`` (levels refused by the memory
budget are recorded as ``skipped_memory``) and ``alpha`` (the exact value). Every agent
bound is the bound of its exact certificate, re-checked with ``Proof.is_valid()`` and the
independent checker; a failing proof is recorded as ``certificate_failed``, never as a
bound. Rows go to a CSV as they are computed (an interrupted run resumes); the ``lp_solves``
column counts the LP solves of the agent methods (a greedy proof of ``T`` steps makes
``T + 1``). The table of means per ``n`` (bound, alpha, LP columns and rows, LP solves,
seconds, and wins/ties/losses per graph against ``clique_cover`` when it ran) is printed
and written to ``<out>.summary.csv``.

Bad input (a missing or non-zip checkpoint, an unknown method) is one ``error:`` line on
stderr and exit status 2 (``--debug`` shows the traceback).

The symmetric network does not depend on ``n``: a model trained at one ``n`` runs at any
``n`` (the vanilla ablation only at its training ``n``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from agents.dqn.policies import CachedQEvaluator, ProofQNetwork
from agents.dqn.runner import run_greedy_episode
from agents.dqn.search import beam_search, parse_beam_method
from baselines.benchmark import FIELDS, read_rows
from envs.cli import UsageError, UsageParser, run_cli
from envs.polyproof.env import PolyProofEnv

DEFAULT_CHECKPOINT = "checkpoints/polyproof_dqn.zip"
FALLBACK_CHECKPOINT = "checkpoints/dqn_cpu_dagger.zip"
BASELINE_METHODS = ("random", "dual_pricing", "clique_cover", "alpha")
METHOD_CHOICES = (
    "agent",
    "agent_beam:<width>[x<expansions>]",
    *BASELINE_METHODS,
    "sherali_adams:<level>",
)
DEFAULT_METHODS = (
    "agent",
    "random",
    "dual_pricing",
    "clique_cover",
    "sherali_adams:2",
    "sherali_adams:3",
    "alpha",
)
EVAL_FIELDS = (*FIELDS, "lp_solves")


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


def check_checkpoint(checkpoint: str | Path) -> Path:
    """The checkpoint path, or :class:`UsageError` if it is missing or not a ``.zip`` model."""
    path = Path(checkpoint)
    if not path.exists():
        hint = ""
        if str(checkpoint) == DEFAULT_CHECKPOINT:
            hint = f" (the main prover is not shipped yet; give --checkpoint {FALLBACK_CHECKPOINT})"
        raise UsageError(f"checkpoint {path} not found{hint}")
    if not path.is_file() or not zipfile.is_zipfile(path):
        raise UsageError(f"checkpoint {path} is not a model .zip (ProofDQN.save)")
    return path


def load_q_network(checkpoint: str | Path, device: str = "cpu") -> ProofQNetwork:
    """The online Q-network of a saved :class:`agents.dqn.ProofDQN` model (``.zip``)."""
    from agents.dqn import ProofDQN

    path = check_checkpoint(checkpoint)
    try:
        model = ProofDQN.load(path, device=device)
    except (AssertionError, KeyError, ValueError, zipfile.BadZipFile, RuntimeError) as exc:
        raise UsageError(
            f"checkpoint {path} is not a ProofDQN model ({type(exc).__name__}: {exc})"
        ) from exc
    return model.policy.q_net


def check_method(spec: str) -> str:
    """``spec`` if it names a method, else :class:`UsageError` listing the valid choices."""
    from baselines.benchmark import parse_method

    try:
        if spec != "agent" and parse_beam_method(spec) is None:
            parse_method(spec)
    except ValueError as exc:
        raise UsageError(
            f"unknown method {spec!r} ({exc}); choose from {', '.join(METHOD_CHOICES)}"
        ) from exc
    return spec


def uses_agent(spec: str) -> bool:
    """Whether a method needs the checkpoint's Q-network."""
    return spec == "agent" or parse_beam_method(spec) is not None


def run_agent(prover: GreedyProver, env: PolyProofEnv, problem: Any) -> dict[str, Any]:
    """One certified agent proof -> a CSV row fragment (never raises for LP/cert failures)."""
    from baselines.benchmark import certified_row
    from envs.highs import LPError
    from envs.polyproof.proof import CertificateError

    row: dict[str, Any] = {"method": "agent"}
    try:
        result = run_greedy_episode(prover, env, problem, certify=False)
        proof = env.certificate()
    except LPError as exc:
        row.update(status="lp_error", message=str(exc))
        return row
    except CertificateError as exc:
        row.update(status="certificate_failed", certificate_valid=False, message=str(exc))
        return row
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
    from baselines.benchmark import certified_row
    from envs.highs import LPError
    from envs.polyproof.proof import CertificateError

    width, expansions = parse_beam_method(spec)  # type: ignore[misc]
    row: dict[str, Any] = {"method": spec}
    try:
        result = beam_search(CachedQEvaluator(q_net), env, problem, width, expansions)
        proof = result.env.certificate()
    except LPError as exc:
        row.update(status="lp_error", message=str(exc))
        return row
    except CertificateError as exc:
        row.update(status="certificate_failed", certificate_valid=False, message=str(exc))
        return row
    session = result.env.session
    row.update(
        lp_columns=int(session.lp.num_columns) + 1,  # type: ignore[union-attr]
        lp_rows=int(session.lp.num_rows),  # type: ignore[union-attr]
        proof_steps=len(proof.steps),
        lp_solves=result.lp_solves,
        seconds=round(result.seconds, 6),
    )
    return certified_row(row, proof, problem.known_optimum)


def _read_eval_rows(path: Path, resume: bool) -> list[dict[str, str]]:
    """Rows of an earlier run of this tool at ``path`` (resume), with the columns checked."""
    if not resume or not path.exists() or path.stat().st_size == 0:
        return []
    try:
        return read_rows(path, EVAL_FIELDS)
    except ValueError as error:
        raise UsageError(str(error)) from None


def compare_to(
    rows: list[dict[str, Any]], summary: list[dict[str, Any]], reference: str = "clique_cover"
) -> None:
    """Add ``mean_lp_solves`` and per-graph ``wins``/``ties``/``losses`` against
    ``reference`` (exact bounds; a graph counts where both are certified) to ``summary``."""
    certified = {
        (int(r["seed"]), int(r["n"]), int(r["graph"]), r["method"]): Fraction(r["bound_exact"])
        for r in rows
        if r["status"] == "ok" and r.get("bound_exact", "") != ""
    }
    for entry in summary:
        n, method = entry["n"], entry["method"]
        solves = [
            float(r["lp_solves"])
            for r in rows
            if int(r["n"]) == n
            and r["method"] == method
            and r["status"] == "ok"
            and str(r.get("lp_solves", "")) != ""
        ]
        entry["mean_lp_solves"] = sum(solves) / len(solves) if solves else float("nan")
        wins = ties = losses = 0
        for (seed, size, graph, name), bound in certified.items():
            if size != n or name != method or method == reference:
                continue
            other = certified.get((seed, size, graph, reference))
            if other is None:
                continue
            wins += bound < other
            ties += bound == other
            losses += bound > other
        entry[f"wins_vs_{reference}"] = wins
        entry[f"ties_vs_{reference}"] = ties
        entry[f"losses_vs_{reference}"] = losses


def format_comparison(summary: list[dict[str, Any]], reference: str = "clique_cover") -> str:
    """Table of mean bound, LP solves, seconds and W/T/L vs ``reference`` per (n, method)."""
    lines = [
        f"{'n':>4}  {'method':<16} {'bound':>7} {'LP solves':>10} {'sec':>8}  W/T/L vs {reference}"
    ]
    for e in summary:
        solves = e.get("mean_lp_solves", float("nan"))
        wtl = (
            f"{e[f'wins_vs_{reference}']}/{e[f'ties_vs_{reference}']}/{e[f'losses_vs_{reference}']}"
        )
        lines.append(
            f"{e['n']:>4}  {e['method']:<16} {e['mean_bound']:>7.3f} "
            f"{'-' if solves != solves else f'{solves:.1f}':>10} {e['mean_seconds']:>8.2f}  "
            f"{'-' if e['method'] in (reference, 'alpha') else wtl}"
        )
    return "\n".join(lines)


def evaluate(
    checkpoint: str | Path,
    ns: list[int],
    graphs: int,
    methods: tuple[str, ...] = DEFAULT_METHODS,
    seed: int = 0,
    out: str | Path = "results/agents/agent_eval.csv",
    max_steps: int = 100,
    max_degree: int = 2,
    time_limit: float | None = 600.0,
    memory_budget: float | None = None,
    resume: bool = True,
    device: str = "cpu",
    progress: bool = True,
    reuse: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Run (or resume) the evaluation; returns the summary rows.

    ``reuse``: CSVs written by :mod:`baselines.benchmark` (same graphs); their rows for the
    requested seed, sizes, graphs and baseline methods are copied into the output instead
    of being recomputed. Raises :class:`envs.cli.UsageError` for bad arguments.
    """
    from baselines.benchmark import (
        format_table,
        graph_problem,
        prepare_run,
        prover_seed,
        row_key,
        run_method,
        summarize,
        write_summary,
    )

    for spec in methods:
        check_method(spec)
    if graphs < 1 or not ns or any(n < 1 for n in ns):
        raise UsageError("need --graphs >= 1 and positive --n values")
    q_net = load_q_network(checkpoint, device=device) if any(map(uses_agent, methods)) else None
    if q_net is not None and q_net.architecture == "vanilla" and any(n != q_net.n for n in ns):  # type: ignore[attr-defined]
        raise UsageError(f"a vanilla network only runs at its training n={q_net.n}")  # type: ignore[attr-defined]
    prover = GreedyProver(q_net) if q_net is not None else None
    path, _, _, options = prepare_run(out, False, max_steps, max_degree, time_limit, memory_budget)
    existing = _read_eval_rows(path, resume)
    done = {row_key(r) for r in existing}
    mode = "a" if resume and existing else "w"
    new_rows: list[dict[str, Any]] = []
    wanted = {(seed, n, i, m) for n in ns for i in range(graphs) for m in methods}
    copied: list[dict[str, Any]] = []
    for other in reuse:
        for row in read_rows(Path(other)):
            key = row_key(row)
            if key in wanted and key not in done and not uses_agent(row["method"]):
                copied.append(row)
                done.add(key)
    from tqdm import tqdm

    tasks = [
        (n, i)
        for n in ns
        for i in range(graphs)
        if any((seed, n, i, m) not in done for m in methods)
    ]
    envs: dict[int, PolyProofEnv] = {}
    with path.open(mode, newline="", encoding="utf-8") as handle, torch.no_grad():
        writer = csv.DictWriter(handle, fieldnames=list(EVAL_FIELDS))
        if mode == "w":
            writer.writeheader()
        writer.writerows(copied)
        new_rows.extend(copied)
        for n, index in tqdm(tasks, desc="evaluate", unit="graph", disable=not progress):
            problem, base = graph_problem(seed, n, index)
            for spec in methods:
                if (seed, n, index, spec) in done:
                    continue
                start = time.perf_counter()
                try:
                    if uses_agent(spec):
                        if n not in envs:
                            envs[n] = PolyProofEnv(n=n, max_steps=max_steps, max_degree=max_degree)
                        if spec == "agent":
                            part = run_agent(prover, envs[n], problem)  # type: ignore[arg-type]
                        else:
                            part = run_beam(q_net, envs[n], problem, spec)  # type: ignore[arg-type]
                    else:
                        part = run_method(spec, problem, options, prover_seed(seed, n, index))
                except Exception as exc:  # noqa: BLE001 - recorded, never turned into a bound
                    part = {
                        "method": spec,
                        "status": "error",
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                part.setdefault("seconds", round(time.perf_counter() - start, 6))
                row = {key: "" for key in EVAL_FIELDS}
                row.update(base)
                row.update(part)
                writer.writerow(row)
                handle.flush()
                new_rows.append(row)
    all_rows = [r for r in existing + new_rows if row_key(r) in wanted]
    summary = summarize(all_rows)
    compare_to(all_rows, summary)
    write_summary(path.with_suffix(".summary.csv"), summary)
    if progress:
        print(format_table(summary))
        print()
        print(format_comparison(summary))
    return summary


def _method_arg(text: str) -> str:
    return check_method(text)


def main(argv: list[str] | None = None) -> int:
    """Command line; bad input raises :class:`UsageError` (one line, exit 2 via ``run_cli``)."""
    parser = UsageParser(
        prog="python -m agents.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--checkpoint",
        default=DEFAULT_CHECKPOINT,
        help=f"a ProofDQN model .zip (default {DEFAULT_CHECKPOINT}, the main prover)",
    )
    parser.add_argument("--n", type=int, nargs="+", default=[15, 20, 25, 30, 35, 40, 45, 50])
    parser.add_argument("--graphs", type=int, default=100)
    parser.add_argument(
        "--methods",
        nargs="+",
        type=_method_arg,
        default=list(DEFAULT_METHODS),
        help=f"any of: {', '.join(METHOD_CHOICES)}",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        help="graph seed (as baselines.benchmark; training graphs come from another stream)",
    )
    parser.add_argument("--out", default="results/agents/agent_eval.csv")
    parser.add_argument("--max-steps", type=int, default=100)
    parser.add_argument("--max-degree", type=int, default=2)
    parser.add_argument(
        "--time-limit", type=float, default=600.0, help="seconds per Sherali-Adams LP"
    )
    parser.add_argument(
        "--memory-gib", type=float, default=None, help="Sherali-Adams memory budget"
    )
    parser.add_argument("--no-resume", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument(
        "--reuse", nargs="*", default=[], help="baselines.benchmark CSVs to copy rows from"
    )
    args = parser.parse_args(argv)
    for other in args.reuse:
        if not Path(other).is_file():
            raise UsageError(f"--reuse {other}: no such file")
    if any(map(uses_agent, args.methods)):
        check_checkpoint(args.checkpoint)
    if args.threads:
        torch.set_num_threads(args.threads)
    evaluate(
        args.checkpoint,
        args.n,
        args.graphs,
        methods=tuple(args.methods),
        seed=args.seed,
        out=args.out,
        max_steps=args.max_steps,
        max_degree=args.max_degree,
        time_limit=args.time_limit,
        memory_budget=None if args.memory_gib is None else args.memory_gib * 1024**3,
        resume=not args.no_resume,
        device=args.device,
        reuse=tuple(args.reuse),
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
