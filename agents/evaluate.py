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

Graphs run in parallel through :mod:`envs.parallel` (``--backend serial|process|ray
--workers N --address ADDR --retries K --task-timeout S``; one task per graph, see
:func:`agents.dqn.evaluation.evaluate_graph`); every backend writes the same CSV (but for
the wall-clock columns). ``--threads`` sets the torch threads of each worker (``--threads 1``
with several workers avoids oversubscribing the CPUs).

Bad input (a missing or non-zip checkpoint, an unknown method) is one ``error:`` line on
stderr and exit status 2 (``--debug`` shows the traceback).

The symmetric network does not depend on ``n``: a model trained at one ``n`` runs at any
``n`` (the vanilla ablation only at its training ``n``).
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from fractions import Fraction
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

from agents.dqn.evaluation import (
    EVAL_FIELDS,
    EvalTask,
    GreedyProver,
    cached_q_network,
    evaluate_graph,
    failed_rows,
    read_q_network,
    run_agent,
    run_beam,
    uses_agent,
)
from agents.dqn.policies import ProofQNetwork
from agents.dqn.search import parse_beam_method
from baselines.benchmark_rows import read_rows
from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import (
    add_executor_arguments,
    executor_options,
    validate_executor_arguments,
)

__all__ = [
    "EVAL_FIELDS",
    "GreedyProver",
    "check_checkpoint",
    "check_method",
    "evaluate",
    "evaluate_graph",
    "load_q_network",
    "main",
    "run_agent",
    "run_beam",
    "uses_agent",
]

DEFAULT_CHECKPOINT = "checkpoints/polyproof_dqn.zip"
FALLBACK_CHECKPOINT = "checkpoints/dqn_cpu_dagger.zip"
BASELINE_METHODS = ("random", "dual_pricing", "clique_cover", "clique_partition", "alpha")
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
    return read_q_network(check_checkpoint(checkpoint), device)


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
    backend: str | None = None,
    workers: int | None = 1,
    address: str | None = None,
    retries: int = 2,
    task_timeout: float | None = None,
    threads: int = 0,
) -> list[dict[str, Any]]:
    """Run (or resume) the evaluation; returns the summary rows.

    One task per graph with rows missing (:func:`agents.dqn.evaluation.evaluate_graph`) on
    :func:`envs.parallel.run_tasks` (``backend``, ``workers``, ``address``, ``retries``,
    ``task_timeout`` as there; ``threads``: torch threads per worker, 0 keeps the
    default). Rows are appended as each graph finishes, and the CSV is rewritten in task
    order at the end, so it is the same on every backend (but for the wall-clock columns);
    a graph whose task still fails after its retries gets ``error`` rows.

    ``reuse``: CSVs written by :mod:`baselines.benchmark` (same graphs); their rows for the
    requested seed, sizes, graphs and baseline methods are copied into the output instead
    of being recomputed. Raises :class:`envs.cli.UsageError` for bad arguments.
    """
    from baselines.benchmark_rows import (
        format_table,
        prepare_run,
        row_key,
        stream_graph_tasks,
        summarize,
        write_rows,
        write_summary,
    )

    for spec in methods:
        check_method(spec)
    if graphs < 1 or not ns or any(n < 1 for n in ns):
        raise UsageError("need --graphs >= 1 and positive --n values")
    if any(map(uses_agent, methods)):
        q_net = cached_q_network(check_checkpoint(checkpoint), device)  # checked here, once
        if q_net.architecture == "vanilla" and any(n != q_net.n for n in ns):  # type: ignore[attr-defined]
            raise UsageError(f"a vanilla network only runs at its training n={q_net.n}")  # type: ignore[attr-defined]
    path, _, _, options = prepare_run(out, False, max_steps, max_degree, time_limit, memory_budget)
    existing = _read_eval_rows(path, resume)
    done = {row_key(r) for r in existing}
    mode = "a" if resume and existing else "w"
    wanted = {(seed, n, i, m) for n in ns for i in range(graphs) for m in methods}
    copied: list[dict[str, Any]] = []
    for other in reuse:
        for row in read_rows(Path(other)):
            key = row_key(row)
            if key in wanted and key not in done and not uses_agent(row["method"]):
                copied.append(row)
                done.add(key)
    tasks = []
    for n in ns:
        for index in range(graphs):
            todo = tuple(m for m in methods if (seed, n, index, m) not in done)
            if todo:
                tasks.append(
                    EvalTask(str(checkpoint), device, seed, n, index, todo, options, threads)
                )
    new_rows = stream_graph_tasks(
        evaluate_graph,
        tasks,
        path,
        append=mode == "a",
        fields=EVAL_FIELDS,
        failed=failed_rows,
        initial_rows=copied,
        desc="evaluate",
        progress=progress,
        backend=backend,
        workers=workers,
        address=address,
        retries=retries,
        timeout=task_timeout,
    )
    write_rows(path, existing + new_rows, methods, EVAL_FIELDS)
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
    parser.add_argument(
        "--threads", type=int, default=0, help="torch threads per worker (0: default)"
    )
    parser.add_argument(
        "--reuse", nargs="*", default=[], help="baselines.benchmark CSVs to copy rows from"
    )
    add_executor_arguments(parser, workers=1)
    args = parser.parse_args(argv)
    validate_executor_arguments(args)
    if args.threads < 0:
        raise UsageError(f"--threads must be >= 0, got {args.threads}")
    for other in args.reuse:
        if not Path(other).is_file():
            raise UsageError(f"--reuse {other}: no such file")
    if any(map(uses_agent, args.methods)):
        check_checkpoint(args.checkpoint)
    if args.threads:
        torch.set_num_threads(args.threads)
    execution = executor_options(args)
    execution["task_timeout"] = execution.pop("timeout")
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
        threads=args.threads,
        **execution,
    )
    return 0


if __name__ == "__main__":
    run_cli(main)
