"""Evaluate a trained DQN prover against the baselines on held-out random graphs.

    python -m agents.evaluate --checkpoint checkpoints/dqn_cpu_dagger.zip \\
        --n 15 20 25 30 35 40 45 50 --graphs 100 --out results/agents/agent_eval.csv

For each ``n`` and graph ``i`` (``G(n, p)``, ``p ~ U[0.5, 1]``, drawn exactly as in
:mod:`baselines.benchmark`, so rows are comparable with its CSVs) every method bounds
``alpha(G)``: ``agent`` (greedy actions of the checkpoint's Q-network, ``--max-steps``
steps), ``random``, ``dual_pricing``, ``clique_cover``, ``sherali_adams:L`` (levels refused by the memory
budget are recorded as ``skipped_memory``) and ``alpha`` (the exact value). Every agent
bound is the bound of its exact certificate, re-checked with ``Proof.is_valid()`` and the
independent checker; a failing proof is recorded as ``certificate_failed``, never as a
bound. Rows go to a CSV as they are computed (an interrupted run resumes), and the table
of means per ``n`` (bound, alpha, LP columns and rows, seconds) is printed and written to
``<out>.summary.csv``.

The symmetric network does not depend on ``n``: a model trained at one ``n`` runs at any
``n`` (the vanilla ablation only at its training ``n``).
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np
import torch

from agents.dqn.policies import CachedQEvaluator, ProofQNetwork
from agents.dqn.runner import run_greedy_episode
from envs.polyproof.env import PolyProofEnv

DEFAULT_METHODS = (
    "agent",
    "random",
    "dual_pricing",
    "clique_cover",
    "sherali_adams:2",
    "sherali_adams:3",
    "alpha",
)


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


def load_q_network(checkpoint: str | Path, device: str = "cpu") -> ProofQNetwork:
    """The online Q-network of a saved :class:`agents.dqn.ProofDQN` model (``.zip``)."""
    from agents.dqn import ProofDQN

    path = Path(checkpoint)
    if not path.exists():
        raise FileNotFoundError(f"no checkpoint at {path}")
    model = ProofDQN.load(path, device=device)
    return model.policy.q_net


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
        seconds=round(result.seconds, 6),
    )
    return certified_row(row, proof, problem.known_optimum)


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

    ``reuse``: CSVs written by :mod:`baselines.benchmark` (same columns and graphs); their
    rows for the requested seed, sizes, graphs and baseline methods are copied into the
    output instead of being recomputed.
    """
    from baselines.benchmark import (
        FIELDS,
        format_table,
        graph_problem,
        parse_method,
        prepare_run,
        prover_seed,
        read_rows,
        row_key,
        run_method,
        summarize,
        write_summary,
    )

    for spec in methods:
        if spec != "agent":
            parse_method(spec)
    if graphs < 1 or not ns or any(n < 1 for n in ns):
        raise ValueError("need --graphs >= 1 and positive --n values")
    q_net = load_q_network(checkpoint, device=device) if "agent" in methods else None
    if q_net is not None and q_net.architecture == "vanilla" and any(n != q_net.n for n in ns):  # type: ignore[attr-defined]
        raise ValueError(f"a vanilla network only runs at its training n={q_net.n}")  # type: ignore[attr-defined]
    prover = GreedyProver(q_net) if q_net is not None else None
    path, existing, done, options = prepare_run(
        out, resume, max_steps, max_degree, time_limit, memory_budget
    )
    mode = "a" if resume and existing else "w"
    new_rows: list[dict[str, Any]] = []
    wanted = {(seed, n, i, m) for n in ns for i in range(graphs) for m in methods}
    copied: list[dict[str, Any]] = []
    for other in reuse:
        for row in read_rows(Path(other)):
            key = row_key(row)
            if key in wanted and key not in done and row["method"] != "agent":
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
        writer = csv.DictWriter(handle, fieldnames=list(FIELDS))
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
                    if spec == "agent":
                        if n not in envs:
                            envs[n] = PolyProofEnv(n=n, max_steps=max_steps, max_degree=max_degree)
                        part = run_agent(prover, envs[n], problem)  # type: ignore[arg-type]
                    else:
                        part = run_method(spec, problem, options, prover_seed(seed, n, index))
                except Exception as exc:  # noqa: BLE001 - recorded, never turned into a bound
                    part = {
                        "method": spec,
                        "status": "error",
                        "message": f"{type(exc).__name__}: {exc}",
                    }
                part.setdefault("seconds", round(time.perf_counter() - start, 6))
                row = {key: "" for key in FIELDS}
                row.update(base)
                row.update(part)
                writer.writerow(row)
                handle.flush()
                new_rows.append(row)
    all_rows = [r for r in existing + new_rows if row_key(r) in wanted]
    summary = summarize(all_rows)
    write_summary(path.with_suffix(".summary.csv"), summary)
    if progress:
        print(format_table(summary))
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m agents.evaluate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--checkpoint", required=True, help="a ProofDQN model .zip")
    parser.add_argument("--n", type=int, nargs="+", default=[15, 20, 25, 30, 35, 40, 45, 50])
    parser.add_argument("--graphs", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=list(DEFAULT_METHODS))
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
    raise SystemExit(main())
