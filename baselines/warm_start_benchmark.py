"""Per-step bound-LP time: warm-started incremental HiGHS model vs rebuilding the LP.

A random prover (uniform legal products, :class:`envs.polyproof.session.ProofSession`)
grows the memory of a random stable-set instance (``n = 25``, ``p ~ U[0.5, 1]``) up to
``--max-memory`` elements (axioms included; 150 by default, the paper's LP size
``100 + 2n`` for ``n = 25``). After each new product, in the same run, three LPs with
identical columns are solved:

* ``warm``: one :class:`envs.polyproof.lp.BoundLP` per episode, one column added per
  step, solved from the previous optimal basis (what PolyProof-v0 does);
* ``cleared``: the same incremental model with ``warm_start=False`` (solver state
  cleared before each solve, model kept);
* ``rebuild``: a new ``BoundLP`` built from all memory columns and solved from scratch.

Times are wall-clock seconds of the LP work only (adding the column(s) and solving).
The ratios ``rebuild / warm`` and ``cleared / warm`` are computed from the same steps.
All three bounds must agree (checked at every step).

    python -m baselines.warm_start_benchmark --n 25 --max-memory 150 --graphs 5 \\
        --out results/warm_start.json
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.cli import UsageError, UsageParser, run_cli
from envs.polyproof.graphs import random_graph, stable_set_from_graph
from envs.polyproof.lp import BoundLP
from envs.polyproof.session import ProofSession

VARIANTS = ("warm", "cleared", "rebuild")
TIMES = (*VARIANTS, "rebuild_solve_only")


def run_episode(n: int, max_memory: int, seed: int, graph_index: int) -> dict[str, Any]:
    """One random-prover episode; returns per-step times of the three LP variants."""
    graph = random_graph(n, np.random.default_rng([seed, n, graph_index]))
    problem = stable_set_from_graph(graph, with_optimum=False)
    rng = np.random.default_rng([seed, n, graph_index, 7])
    session = ProofSession(problem, max_degree=2, max_memory=max_memory, lp_time_limit=None)
    warm = BoundLP(problem.objective, warm_start=True)
    cleared = BoundLP(problem.objective, warm_start=False)
    for lp in (warm, cleared):
        lp.add_columns(session.memory)
        lp.solve()
    steps: list[dict[str, float]] = []
    while len(session.memory) < max_memory:
        legal = np.flatnonzero(session.action_mask())
        if legal.size == 0:
            break
        action = int(rng.choice(legal))
        product = session.product(action)
        session.apply(action)
        record: dict[str, float] = {"memory": len(session.memory)}
        bounds = {}
        for name, lp in (("warm", warm), ("cleared", cleared)):
            t0 = time.perf_counter()
            lp.add_columns([product])
            sol = lp.solve()
            record[name] = time.perf_counter() - t0
            record[f"{name}_iterations"] = sol.iterations
            bounds[name] = sol.bound
        t0 = time.perf_counter()
        fresh = BoundLP(problem.objective, warm_start=True)
        fresh.add_columns(session.memory)
        t1 = time.perf_counter()
        sol = fresh.solve()
        record["rebuild"] = time.perf_counter() - t0
        record["rebuild_solve_only"] = time.perf_counter() - t1
        record["rebuild_iterations"] = sol.iterations
        bounds["rebuild"] = sol.bound
        if max(bounds.values()) - min(bounds.values()) > 1e-6 * max(1.0, abs(bounds["warm"])):
            raise RuntimeError(f"LP variants disagree at memory {len(session.memory)}: {bounds}")
        record["bound"] = bounds["warm"]
        steps.append(record)
    return {"graph": graph_index, "p": graph.graph["p"], "steps": steps}


def summarize(episodes: list[dict[str, Any]], bins: int = 4) -> dict[str, Any]:
    steps = [s for e in episodes for s in e["steps"]]
    if not steps:
        raise ValueError("no steps were taken")
    mean = {v: float(np.mean([s[v] for s in steps])) for v in TIMES}
    iters = {v: float(np.mean([s[f"{v}_iterations"] for s in steps])) for v in VARIANTS}
    memory = np.array([s["memory"] for s in steps])
    edges = np.linspace(memory.min(), memory.max() + 1, bins + 1).astype(int)
    by_memory = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        chosen = [s for s in steps if lo <= s["memory"] < hi]
        if not chosen:
            continue
        means = {v: float(np.mean([s[v] for s in chosen])) for v in TIMES}
        by_memory.append(
            {
                "memory": f"{lo}-{hi - 1}",
                "steps": len(chosen),
                **{f"{v}_ms": 1e3 * means[v] for v in TIMES},
                "rebuild_over_warm": means["rebuild"] / means["warm"],
                "rebuild_solve_over_warm": means["rebuild_solve_only"] / means["warm"],
                "cleared_over_warm": means["cleared"] / means["warm"],
            }
        )
    return {
        "steps": len(steps),
        "mean_ms": {v: 1e3 * mean[v] for v in TIMES},
        "mean_simplex_iterations": iters,
        "rebuild_over_warm": mean["rebuild"] / mean["warm"],
        "rebuild_solve_over_warm": mean["rebuild_solve_only"] / mean["warm"],
        "cleared_over_warm": mean["cleared"] / mean["warm"],
        "by_memory": by_memory,
    }


def format_table(summary: dict[str, Any]) -> str:
    header = (
        f"{'memory':>9} {'steps':>6} {'warm ms':>9} {'cleared ms':>11} {'rebuild ms':>11} "
        f"{'(solve ms)':>11} {'rebuild/warm':>13} {'cleared/warm':>13}"
    )
    lines = [header, "-" * len(header)]
    rows = summary["by_memory"] + [
        {
            "memory": "all",
            "steps": summary["steps"],
            **{f"{v}_ms": summary["mean_ms"][v] for v in TIMES},
            "rebuild_over_warm": summary["rebuild_over_warm"],
            "cleared_over_warm": summary["cleared_over_warm"],
        }
    ]
    for r in rows:
        lines.append(
            f"{r['memory']:>9} {r['steps']:>6} {r['warm_ms']:>9.3f} {r['cleared_ms']:>11.3f} "
            f"{r['rebuild_ms']:>11.3f} {r['rebuild_solve_only_ms']:>11.3f} {r['rebuild_over_warm']:>13.2f} {r['cleared_over_warm']:>13.2f}"
        )
    it = summary["mean_simplex_iterations"]
    lines.append(
        "mean simplex iterations per step: " + ", ".join(f"{v} {it[v]:.1f}" for v in VARIANTS)
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m baselines.warm_start_benchmark",
        description="Per-step bound-LP time: warm start vs rebuilding (same run, same columns).",
    )
    parser.add_argument("--n", type=int, default=25)
    parser.add_argument("--max-memory", type=int, default=150, help="memory size incl. axioms")
    parser.add_argument("--graphs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="results/warm_start.json")
    args = parser.parse_args(argv)
    if args.n < 2 or args.graphs < 1:
        raise UsageError("--n must be >= 2 and --graphs >= 1")
    if args.max_memory <= 2 * args.n + 1:
        raise UsageError(f"--max-memory must exceed the {2 * args.n + 1} axioms")
    from tqdm import tqdm

    episodes = [
        run_episode(args.n, args.max_memory, args.seed, i)
        for i in tqdm(range(args.graphs), desc="episodes", unit="graph")
    ]
    summary = summarize(episodes)
    print(f"n={args.n}, memory up to {args.max_memory}, {args.graphs} graphs, seed {args.seed}")
    print(format_table(summary))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {"config": vars(args), "summary": summary, "episodes": episodes}
    out.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
