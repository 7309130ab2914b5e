"""Environment steps per second of experience collection with 1 and 2 envs (issue 13, section 5).

    python -m agents.dqn.collect_speed --n 20 --steps 400 --out results/agents/collect_speed

Steps ``--steps`` random legal actions (exploration's cost is the env's: products, LP
solves) through SB3's ``DummyVecEnv`` (1 env) and ``SubprocVecEnv`` (``k`` envs, one process
each), as :func:`agents.dqn.construction.make_vec_env` builds them for training, and prints
steps per second and the ratio to 1 env, measured in one run. Writes ``<out>.csv`` and
``<out>.json``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from agents.dqn.config import TrainArgs
from agents.dqn.construction import make_vec_env
from envs.cli import UsageError, UsageParser, run_cli


def steps_per_second(n: int, n_envs: int, steps: int, max_steps: int, seed: int = 0) -> float:
    """Env steps per second (all envs together) over ``steps`` steps of random legal actions."""
    args = TrainArgs(n=n, max_steps=max_steps, n_envs=n_envs)
    vec_env = make_vec_env(args)
    vec_env.seed(seed)
    rng = np.random.default_rng(seed)
    obs = vec_env.reset()
    done_steps = 0
    start = time.perf_counter()
    while done_steps < steps:
        masks = obs["action_mask"]
        actions = np.array([rng.choice(np.flatnonzero(m)) for m in masks])
        obs, _, _, _ = vec_env.step(actions)
        done_steps += n_envs
    seconds = time.perf_counter() - start
    vec_env.close()
    return done_steps / seconds


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--steps", type=int, default=400, help="env steps per setting")
    parser.add_argument("--max-steps", type=int, default=40, help="episode length")
    parser.add_argument("--envs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--out", default="results/agents/collect_speed")
    ns = parser.parse_args(argv)
    if ns.n < 2 or ns.steps < 1 or ns.max_steps < 1 or min(ns.envs) < 1:
        raise UsageError("--n >= 2, --steps, --max-steps and --envs must be positive")
    if 1 not in ns.envs:
        raise UsageError("--envs must include 1 (the ratio's reference)")
    rows: list[dict[str, Any]] = []
    for k in ns.envs:
        rate = steps_per_second(ns.n, k, ns.steps, ns.max_steps)
        rows.append({"n": ns.n, "n_envs": k, "steps": ns.steps, "steps_per_second": round(rate, 2)})
    reference = next(r["steps_per_second"] for r in rows if r["n_envs"] == 1)
    for row in rows:
        row["ratio_to_1_env"] = round(row["steps_per_second"] / reference, 3)
    print(f"cpu cores visible: {os.cpu_count()}")
    print("| n_envs | env steps/s | ratio |\n|---|---|---|")
    for row in rows:
        print(f"| {row['n_envs']} | {row['steps_per_second']:.1f} | {row['ratio_to_1_env']:.2f} |")
    out = Path(ns.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.with_suffix(".csv"), "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    run_cli(main)
