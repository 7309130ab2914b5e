"""Speed-up of the caching trick (Appendix B.3) at |M| = 150, n = 25.

    python -m agents.dqn.benchmark_cache [--n 25 --memory 150 --widths 32 128 --repeats 3]

Builds a PolyProof-v0 state with ``|M|`` memory elements (random legal steps on a random
G(n, p), p ~ U[0.5, 1]), then times the q-values of all legal actions of the next state
(one more step): uncached (every action against every memory element and equality) vs
cached (old actions: only the new memory element; new actions: in full). Checks that both
give the same values, prints a table and writes ``results/agents/cache_benchmark.{csv,json}``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

from agents.dqn.features import decode_observation
from agents.dqn.policies import CachedQEvaluator, SymmetricQNetwork
from envs.cli import UsageParser, run_cli
from envs.polyproof.env import PolyProofEnv


def build_states(n: int, memory: int, seed: int) -> tuple[dict, dict]:
    """Observations with ``memory - 1`` and ``memory`` memory elements (consecutive steps)."""
    axioms = 2 * n + 1
    steps = memory - axioms
    if steps < 1:
        raise ValueError(f"--memory must exceed the {axioms} axioms")
    env = PolyProofEnv(n=n, max_steps=steps + 1)
    rng = np.random.default_rng(seed)
    obs, _ = env.reset(seed=seed)
    previous = obs
    for _ in range(steps):
        legal = np.flatnonzero(obs["action_mask"])
        if legal.size == 0:
            raise RuntimeError("ran out of legal actions; try another --seed")
        previous = obs
        obs, *_ = env.step(int(rng.choice(legal)))
    return previous, obs


def run(
    n: int, memory: int, widths: list[int], repeats: int, seed: int, out_dir: Path
) -> list[dict]:
    before, after = build_states(n, memory, seed)
    rows = []
    for width in widths:
        torch.manual_seed(0)
        net = SymmetricQNetwork(width=width).eval()
        batch = {k: torch.as_tensor(v[None]) for k, v in after.items()}
        state = decode_observation(batch, 0, 2)
        legal = torch.nonzero(state.action_mask).view(-1)
        uncached_times, cached_times = [], []
        for _ in range(repeats):
            with torch.no_grad():
                start = time.perf_counter()
                q_full = net.q_values(state, legal)
                uncached_times.append(time.perf_counter() - start)
            cache = CachedQEvaluator(net)
            cache.q_values(before)  # state t: fills F_t
            start = time.perf_counter()
            q_cached = cache.q_values(after)  # state t+1: incremental
            cached_times.append(time.perf_counter() - start)
            if cache.incremental_evaluations != 1:
                raise RuntimeError("the cached evaluation was not incremental")
        diff = float(np.max(np.abs(q_cached[legal.numpy()] - q_full.numpy())))
        row = {
            "n": n,
            "memory": int(after["memory_mask"].sum()),
            "equalities": int((after["equalities"] >= 0).sum()),
            "legal_actions": int(legal.numel()),
            "width": width,
            "uncached_seconds": round(min(uncached_times), 4),
            "cached_seconds": round(min(cached_times), 4),
            "speedup": round(min(uncached_times) / max(min(cached_times), 1e-9), 2),
            "max_abs_difference": diff,
            "torch_threads": torch.get_num_threads(),
        }
        rows.append(row)
        print(
            f"n={n} |M|={row['memory']} |E|={row['equalities']} actions={row['legal_actions']} width={width}: "
            f"uncached {row['uncached_seconds']:.3f}s, cached {row['cached_seconds']:.3f}s, "
            f"speed-up x{row['speedup']}, max |dq| {diff:.1e}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "cache_benchmark.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    (out_dir / "cache_benchmark.json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=25)
    parser.add_argument("--memory", type=int, default=150)
    parser.add_argument("--widths", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out-dir", default="results/agents")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    run(args.n, args.memory, args.widths, args.repeats, args.seed, Path(args.out_dir))
    return 0


if __name__ == "__main__":
    run_cli(main)
