"""Speed of PolytopeGen-v0 under a random grammar-respecting policy, and of identification.

    python -m baselines.polytopes.env_speed --episodes 200 --out results/polytopes/env_speed.json

The random policy samples uniformly among the allowed tokens (``env.action_masks()``)
with a seeded numpy generator; the replay policy writes the encoded training sequence of
a random dataset entry (all checks and identification run in full). Configurations:
d = 7 random with and without dataset identification, d = 7 replay, and d = 8 random
with ``identify=False, known=None``, plus d = 8 random with identification when the d = 8
lattice keys are already cached (they do not ship; ``python -m envs.polytopes.dataset
derive --dims 8 --fields keys`` computes them once, about 14 CPU-minutes). Also times
:meth:`DatasetIndex.identify` at d = 7 (and d = 8 with cached keys) on dataset entries
(exact copies, re-embedded copies and copies with a repeated row).
Prints a table and writes JSON (and a CSV next to it).
"""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes import dataset, tokens
from envs.polytopes.env import PolytopeGenEnv, dataset_index

CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("random", {"d": 7, "identify": True, "known": "half_a"}),
    ("random", {"d": 7, "identify": False, "known": "half_a"}),
    ("replay", {"d": 7, "identify": True, "known": "half_a"}),
    ("random", {"d": 8, "identify": False, "known": None}),
]
# timed only when the d = 8 keys are shipped or cached (``SmoothFanoData.available``)
D8_IDENTIFY: tuple[str, dict[str, Any]] = ("random", {"d": 8, "identify": True, "known": "half_a"})


def run_env(policy: str, config: dict[str, Any], episodes: int, seed: int) -> dict[str, Any]:
    """Steps/s and episodes/s of ``episodes`` episodes.

    ``policy="random"``: uniform over the allowed tokens; ``"replay"``: the encoded
    training sequence of a random dataset entry (every sample is a correct polytope, so
    the end-of-episode check, identification and novelty run in full).
    """
    start = time.perf_counter()
    env = PolytopeGenEnv(**config)
    setup = time.perf_counter() - start
    rng = np.random.default_rng(seed)
    data = dataset.load_data(env.d) if policy == "replay" else None
    steps = 0
    successes = 0
    statuses: dict[str, int] = {}
    end_seconds = 0.0
    start = time.perf_counter()
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        script: list[int] = []
        if data is not None:
            i = int(rng.integers(len(data)))
            matrix = tokens.prepare(data.rows[i], index=i)  # the env's default encoding
            script = env.tokenizer.encode(matrix)[:0:-1]  # reversed, <start> dropped
        while not done:
            if script:
                action = script.pop()
            else:
                action = int(rng.choice(np.flatnonzero(env.action_masks())))
            tic = time.perf_counter()
            _, _, terminated, truncated, info = env.step(action)
            if action == tokens.END_ID:
                end_seconds += time.perf_counter() - tic
            steps += 1
            done = terminated or truncated
        report = info.get("report") or {}
        successes += bool(report.get("all"))
        status = (info.get("identification") or {}).get("status", "none")
        statuses[status] = statuses.get(status, 0) + 1
    elapsed = time.perf_counter() - start
    return {
        "benchmark": "env",
        "policy": policy,
        **config,
        "episodes": episodes,
        "steps": steps,
        "seconds": round(elapsed, 2),
        "steps_per_s": round(steps / elapsed, 1),
        "episodes_per_s": round(episodes / elapsed, 2),
        "end_check_ms": round(1000 * end_seconds / episodes, 2),
        "setup_s": round(setup, 2),
        "all_true": successes,
        "statuses": statuses,
    }


def run_identify(d: int, n: int, seed: int) -> list[dict[str, Any]]:
    """ms per identification of ``n`` dataset entries in three forms."""
    index = dataset_index(d, 0, "negated", "shuffled", 0, "hyperplane", None)
    data = dataset.load_data(d)
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(data), n, replace=False)
    prepared = [index.representative(int(i)) for i in picks]
    forms = {
        "exact_copy": prepared,
        "re_embedded": [
            tokens.prepare(data.rows[int(i)], embedding="random_unimodular", rng=rng) for i in picks
        ],
        "repeated_row": [np.concatenate([rows, rows[:1]]) for rows in prepared],
    }
    out = []
    for name, matrices in forms.items():
        start = time.perf_counter()
        results = [index.identify(matrix) for matrix in matrices]
        elapsed = time.perf_counter() - start
        out.append(
            {
                "benchmark": "identify",
                "d": d,
                "form": name,
                "n": n,
                "ms_per_identification": round(1000 * elapsed / n, 2),
                "in_dataset": sum(r.in_dataset for r in results),
                "statuses": sorted({r.status for r in results}),
            }
        )
    return out


def print_table(rows: list[dict[str, Any]]) -> None:
    """One line per measurement."""
    print(f"{'what':<40} {'steps/s':>9} {'episodes/s':>11} {'end ms':>7} {'ms/identify':>12}")
    for row in rows:
        if row["benchmark"] == "env":
            what = f"env d={row['d']} {row['policy']} identify={row['identify']}"
            print(
                f"{what:<40} {row['steps_per_s']:>9} {row['episodes_per_s']:>11} "
                f"{row['end_check_ms']:>7} {'':>12}"
            )
        else:
            what = f"identify d={row['d']} {row['form']}"
            print(f"{what:<40} {'':>9} {'':>11} {'':>7} {row['ms_per_identification']:>12}")


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--identify-n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dims", type=int, nargs="*", default=[7, 8])
    parser.add_argument("--out", default="results/polytopes/env_speed.json")
    args = parser.parse_args(argv)
    if args.episodes < 1 or args.identify_n < 0:
        raise UsageError("--episodes must be >= 1 and --identify-n >= 0")
    measured = sorted({config["d"] for _, config in CONFIGS})
    if not set(args.dims) <= set(measured):
        raise UsageError(f"--dims: measured dimensions are {measured}, got {args.dims}")
    rows: list[dict[str, Any]] = []
    try:
        d8_keys = 8 in args.dims and dataset.load_data(8).available("keys")
        for policy, config in CONFIGS + ([D8_IDENTIFY] if d8_keys else []):
            if config["d"] in args.dims:
                rows.append(run_env(policy, config, args.episodes, args.seed))
        for d in (7, 8):
            if d in args.dims and args.identify_n > 0 and (d == 7 or d8_keys):
                rows.extend(run_identify(d, args.identify_n, args.seed))
    except ValueError as error:  # e.g. the d = 7 dataset is not built
        raise UsageError(str(error)) from None
    print_table(rows)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2))
    fields = sorted({key for row in rows for key in row})
    with out.with_suffix(".csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {out} and {out.with_suffix('.csv')}")
    return 0


if __name__ == "__main__":
    run_cli(main)
