"""Benchmark of PolyProof bounds on random graphs: the rows of the paper's Table 1.

For each ``n`` and each of ``--graphs`` random graphs ``G(n, p)``, ``p ~ U[0.5, 1]``
(graph ``i`` drawn with ``numpy.random.default_rng([seed, n, i])``), every method
computes an upper bound on ``alpha(G)``. Every bound comes with a proof that is
re-checked with ``Proof.is_valid()`` and with the independent checker
:mod:`envs.polyproof.verify`; a bound whose proof fails is recorded as
``certificate_failed`` and never reported as a bound.

Methods: ``sherali_adams:L`` (level-L Sherali–Adams, eq. 10), ``random``,
``dual_pricing``, ``clique_cover`` and ``clique_partition`` (dynamic provers,
``--max-steps`` steps at degree ``--max-degree``, from :mod:`baselines.provers`; the last
two are scripted experts of our own, not in the paper: a greedy clique cover, and a planned
clique partition followed by LP-priced clique cuts), and ``alpha`` (exact ``alpha(G)``, the
reference).

Output: one CSV row per graph × method (appended as soon as it is computed, so an
interrupted run resumes where it stopped; rows already in the CSV are skipped) and a
table of means per ``n`` and method, printed and written next to the CSV as
``<out>.summary.csv``.

With no arguments a small built-in default runs in seconds::

    python -m baselines.benchmark

Table 1 of the paper (Sherali–Adams rows and the provers)::

    python -m baselines.benchmark --n 15 20 25 --graphs 100 \\
        --methods sherali_adams:2 sherali_adams:3 sherali_adams:4 random dual_pricing alpha \\
        --seed 0 --out results/table1.csv

Graphs run in parallel through :mod:`envs.parallel` (``--backend serial|process|ray
--workers N --address ADDR --retries K --task-timeout S``); every backend writes the same
CSV (but for the wall-clock columns), e.g. on a Ray cluster::

    python -m baselines.benchmark --n 15 20 25 --graphs 100 --backend ray --address auto
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from baselines.benchmark_rows import (  # the rows' CSV, resume and summary
    FIELDS,
    format_table,
    prepare_run,
    row_key,
    stream_graph_tasks,
    summarize,
    write_rows,
    write_summary,
)
from baselines.provers import SCRIPTED_CHOICES, prove_scripted
from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import (
    TaskOutcome,
    add_executor_arguments,
    validate_executor_arguments,
)

DEFAULT_N = (8, 10, 12)
DEFAULT_GRAPHS = 5
DEFAULT_METHODS = (
    "sherali_adams:2",
    "sherali_adams:3",
    "random",
    "dual_pricing",
    "clique_cover",
    "alpha",
)
DEFAULT_OUT = "results/benchmark_default.csv"
P_RANGE = (0.5, 1.0)

def parse_method(spec: str) -> tuple[str, int | None]:
    """``"sherali_adams:3"`` -> ``("sherali_adams", 3)``; ``"random"`` -> ``("random", None)``."""
    name, _, arg = spec.partition(":")
    if name == "sherali_adams":
        if not arg.isdigit() or int(arg) < 1:
            raise ValueError(f"bad method {spec!r}: use sherali_adams:<level>, level >= 1")
        return name, int(arg)
    if name in ("random", "alpha", *SCRIPTED_CHOICES) and not arg:
        return name, None
    raise ValueError(
        f"unknown method {spec!r}: choose sherali_adams:<level>, random, "
        f"{', '.join(SCRIPTED_CHOICES)}, alpha"
    )


def graph_for(seed: int, n: int, index: int):
    """Graph ``index`` of size ``n`` for a seed (independent of the other graphs drawn)."""
    from envs.polyproof.graphs import random_graph

    graph = random_graph(n, np.random.default_rng([seed, n, index]), P_RANGE)
    graph.graph["name"] = f"G(n={n},seed={seed},i={index})"
    return graph


def graph_problem(seed: int, n: int, index: int) -> tuple[Any, dict[str, Any]]:
    """The stable-set problem of graph ``index`` (with alpha) and its identifying CSV fields."""
    from envs.polyproof.graphs import stable_set_from_graph

    graph = graph_for(seed, n, index)
    problem = stable_set_from_graph(graph, with_optimum=True)
    base = {
        "seed": seed,
        "n": n,
        "graph": index,
        "p": round(graph.graph["p"], 6),
        "edges": graph.number_of_edges(),
        "alpha": int(problem.known_optimum),
    }
    return problem, base


def prover_seed(seed: int, n: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, n, index, 1]).generate_state(1)[0])


def _independent_check(proof) -> bool:
    try:
        from envs.polyproof.verify import ProofRejected, check_proof
    except ImportError:  # the checker is optional here; Proof.is_valid() is always run
        return True
    try:
        return check_proof(proof.to_json()) == proof.bound
    except ProofRejected:
        return False


def run_method(spec: str, problem, options: dict[str, Any], seed_value: int) -> dict[str, Any]:
    """One method on one problem -> a CSV row fragment (never raises for LP/cert failures)."""
    from envs.highs import LPError
    from envs.polyproof.proof import CertificateError

    name, level = parse_method(spec)
    alpha = problem.known_optimum
    row: dict[str, Any] = {"method": spec}
    start = time.perf_counter()
    if name == "alpha":
        row.update(status="reference", bound=float(alpha), bound_exact=str(alpha))
        row["seconds"] = round(time.perf_counter() - start, 6)
        return row
    try:
        if name == "sherali_adams":
            from baselines.sherali_adams import MemoryBudgetError, sherali_adams_bound

            try:
                result = sherali_adams_bound(
                    problem,
                    level,
                    time_limit=options["time_limit"],
                    memory_budget=options["memory_budget"],
                )
            except MemoryBudgetError as exc:
                row.update(status="skipped_memory", message=str(exc))
                return row
        elif name == "random":
            from baselines.provers import prove_random

            result = prove_random(
                problem,
                seed=seed_value,
                max_steps=options["max_steps"],
                max_degree=options["max_degree"],
            )
        else:
            result = prove_scripted(
                name, problem, max_steps=options["max_steps"], max_degree=options["max_degree"]
            )
    except (LPError, CertificateError) as exc:
        return failed_proof_row(row, exc)
    seconds = time.perf_counter() - start
    proof = result.proof
    row.update(
        lp_columns=result.lp_columns,
        lp_rows=result.lp_rows,
        generators=result.extra.get("generators", ""),
        proof_steps=len(proof.steps) if proof is not None else "",
        build_seconds=round(result.build_seconds, 6),
        solve_seconds=round(result.solve_seconds, 6),
        seconds=round(seconds, 6),
    )
    return certified_row(row, proof, alpha, claimed=result.bound_exact)


def failed_proof_row(row: dict[str, Any], error: Exception) -> dict[str, Any]:
    """Finish a CSV row whose prover stopped: ``lp_error`` or ``certificate_failed``."""
    from envs.polyproof.proof import CertificateError

    if isinstance(error, CertificateError):
        row.update(status="certificate_failed", certificate_valid=False, message=str(error))
    else:
        row.update(status="lp_error", message=str(error))
    return row


def certified_row(row: dict[str, Any], proof, alpha, claimed=None) -> dict[str, Any]:
    """Finish a CSV row: ``ok`` with the proof's bound only if the proof verifies.

    Verified means: ``claimed`` (if given) equals the proof's bound, ``Proof.is_valid()``
    holds and the independent checker agrees; otherwise ``certificate_failed``.
    """
    valid = (
        proof is not None
        and (claimed is None or proof.bound == claimed)
        and proof.is_valid()
        and _independent_check(proof)
    )
    row["certificate_valid"] = valid
    if not valid:
        row.update(status="certificate_failed", message="proof does not verify")
        return row
    row.update(
        status="ok",
        bound=float(proof.bound),
        bound_exact=str(proof.bound),
        sound=alpha is None or proof.bound >= alpha,
    )
    return row


def run_graph(task: tuple[int, int, int, tuple[str, ...], dict[str, Any]]) -> list[dict[str, Any]]:
    """All requested methods on one graph (a unit of work for the process pool)."""

    seed, n, index, methods, options = task
    problem, base = graph_problem(seed, n, index)
    rows = []
    for spec in methods:
        try:
            part = run_method(spec, problem, options, prover_seed(seed, n, index))
        except Exception as exc:  # noqa: BLE001 - recorded, never turned into a bound
            part = {"method": spec, "status": "error", "message": f"{type(exc).__name__}: {exc}"}
        row = {key: "" for key in FIELDS}
        row.update(base)
        row.update(part)
        rows.append(row)
    return rows


def failed_rows(
    task: tuple[int, int, int, tuple[str, ...], dict[str, Any]], outcome: TaskOutcome
) -> list[dict[str, Any]]:
    """``error`` rows for the methods of a graph whose task failed in the executor."""
    seed, n, index, methods, _ = task
    message = f"task failed after {outcome.attempts} attempts: {outcome.error}"
    rows = []
    for spec in methods:
        row = {key: "" for key in FIELDS}
        row.update(seed=seed, n=n, graph=index, method=spec, status="error", message=message)
        rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------------------
def run_benchmark(
    ns: Iterable[int],
    graphs: int,
    methods: Iterable[str],
    seed: int = 0,
    out: str | Path = DEFAULT_OUT,
    resume: bool = True,
    workers: int = 1,
    max_steps: int = 100,
    max_degree: int = 2,
    time_limit: float | None = 600.0,
    memory_budget: float | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
    backend: str | None = None,
    address: str | None = None,
    retries: int = 2,
    task_timeout: float | None = None,
) -> list[dict[str, Any]]:
    """Run (or resume) the benchmark; returns the summary rows (all CSV rows count).

    One task per graph on :func:`envs.parallel.run_tasks` (``backend`` default: ``serial``
    for one worker, else ``process``; ``address``, ``retries``, ``task_timeout`` as there).
    Rows are appended as each graph finishes; at the end the CSV is rewritten in task order
    (:func:`write_rows`), so it is the same, byte for byte, on every backend (but for the
    wall-clock columns). A graph whose task still fails after its retries gets ``error``
    rows.
    """

    methods = tuple(methods)
    for spec in methods:
        parse_method(spec)
    ns = tuple(int(n) for n in ns)
    if not ns or any(n < 1 for n in ns):
        raise ValueError(f"--n needs positive sizes, got {ns}")
    if graphs < 1:
        raise ValueError(f"--graphs must be >= 1, got {graphs}")
    path, existing, done, options = prepare_run(
        out, resume, max_steps, max_degree, time_limit, memory_budget
    )
    tasks = []
    for n in ns:
        for index in range(graphs):
            todo = tuple(m for m in methods if (seed, n, index, m) not in done)
            if todo:
                tasks.append((seed, n, index, todo, options))
    skipped = sum(1 for n in ns for i in range(graphs) for m in methods if (seed, n, i, m) in done)
    if skipped:
        log(
            f"resuming {path}: {skipped} graph x method rows already done, {len(tasks)} graphs to run"
        )
    new_rows = stream_graph_tasks(
        run_graph,
        tasks,
        path,
        append=resume and bool(existing),
        fields=FIELDS,
        failed=failed_rows,
        desc="benchmark",
        progress=progress,
        backend=backend,
        workers=workers,
        address=address,
        retries=retries,
        timeout=task_timeout,
    )
    write_rows(path, existing + new_rows, methods)
    wanted = {(seed, n, i, m) for n in ns for i in range(graphs) for m in methods}
    all_rows = [r for r in existing + new_rows if row_key(r) in wanted]
    summary = summarize(all_rows)
    write_summary(path.with_suffix(".summary.csv"), summary)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m baselines.benchmark",
        description="Upper bounds on alpha(G) for random G(n,p), p~U[0.5,1] (paper's Table 1).",
    )
    parser.add_argument("--n", type=int, nargs="+", default=list(DEFAULT_N), help="graph sizes")
    parser.add_argument("--graphs", type=int, default=DEFAULT_GRAPHS, help="graphs per size")
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=DEFAULT_OUT, help="CSV file (one row per graph x method)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--max-steps", type=int, default=100, help="dynamic provers' steps")
    parser.add_argument("--max-degree", type=int, default=2, help="dynamic provers' degree")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per SA LP")
    parser.add_argument("--memory-gib", type=float, default=None, help="SA memory budget")
    parser.add_argument("--no-progress", action="store_true")
    add_executor_arguments(parser, workers=1)
    args = parser.parse_args(argv)
    validate_executor_arguments(args)
    if args.max_steps < 1 or args.max_degree < 1:
        raise UsageError("--max-steps and --max-degree must be >= 1")
    if args.time_limit <= 0 or (args.memory_gib is not None and args.memory_gib <= 0):
        raise UsageError("--time-limit and --memory-gib must be > 0")
    try:
        summary = run_benchmark(
            args.n,
            args.graphs,
            args.methods,
            seed=args.seed,
            out=args.out,
            resume=args.resume,
            workers=args.workers,
            backend=args.backend,
            address=args.address,
            retries=args.retries,
            task_timeout=args.task_timeout,
            max_steps=args.max_steps,
            max_degree=args.max_degree,
            time_limit=args.time_limit,
            memory_budget=None if args.memory_gib is None else args.memory_gib * 1024**3,
            progress=not args.no_progress,
        )
    except ValueError as exc:  # bad --methods / --n / --graphs, or an --out of other columns
        raise UsageError(str(exc)) from None
    print(format_table(summary))
    print(f"rows: {args.out}   means: {Path(args.out).with_suffix('.summary.csv')}")
    return 0


if __name__ == "__main__":
    run_cli(main)
