"""Ray Tune sweep of two DQN settings on a tiny CPU config (an example, minutes on 2 cores).

Each trial runs the trainer as a subprocess through its command line (a stable
interface)::

    python agents/train_dqn.py --config CONFIG --override total_timesteps=T \\
        learning_rate=LR target_update_interval=TUI run_dir=OUT/TRIAL ...

and reports the metric it reads from the run's files: ``final_bound``, the mean certified
bound on the held-out graphs (``final_eval.json``'s ``agent_mean_bound_certified``; lower
is better), and ``best_val_bound``, the best point of the validation curve
(``curve.csv``). The grid is ``--learning-rates`` x ``--target-update-intervals``
(default 2 x 2 = 4 trials, ``--workers`` at a time, one CPU each)::

    pip install -e ".[ray]"   # ray[tune]
    python agents/tune_dqn.py --config configs/dqn_cpu.yaml --timesteps 600 \\
        --out runs/tune_dqn --workers 2

On a cluster add ``--address auto`` (the repository must be at the same path on every
node). Writes ``OUT/results.csv`` (one row per trial, sorted by the metric) and prints it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from envs.cli import UsageError, UsageParser, run_cli

REPO = Path(__file__).resolve().parents[1]
TRAINER = REPO / "agents" / "train_dqn.py"
# Tiny-run overrides: few graphs, short episodes, frequent checkpoints.
TINY = {
    "n": 8,
    "max_steps": 15,
    "learning_starts": 100,
    "eval_graphs": 4,
    "final_eval_graphs": 6,
}


def trial_overrides(config: dict[str, Any], timesteps: int, run_dir: Path) -> list[str]:
    """``--override`` arguments of one trial."""
    every = max(1, timesteps // 2)
    values = {
        **TINY,
        "total_timesteps": timesteps,
        "eval_every": every,
        "checkpoint_every": every,
        "learning_rate": config["learning_rate"],
        "target_update_interval": config["target_update_interval"],
        "run_dir": str(run_dir),
    }
    return [f"{key}={value}" for key, value in values.items()]


def read_metrics(run_dir: Path) -> dict[str, float]:
    """``final_bound`` (final_eval.json) and ``best_val_bound`` (curve.csv) of a run."""
    final = json.loads((run_dir / "final_eval.json").read_text())
    with (run_dir / "curve.csv").open(newline="") as handle:
        curve = [float(row["mean_bound"]) for row in csv.DictReader(handle)]
    return {
        "final_bound": float(final["agent_mean_bound_certified"]),
        "best_val_bound": min(curve),
    }


def run_trial(config: dict[str, Any]) -> None:
    """Ray Tune trainable: one training subprocess, then ``tune.report`` of its metrics."""
    from ray import tune

    name = f"lr{config['learning_rate']:g}_tui{config['target_update_interval']}"
    run_dir = Path(config["out"]) / name
    command = [
        sys.executable,
        str(TRAINER),
        "--config",
        str(config["config"]),
        "--override",
        *trial_overrides(config, int(config["timesteps"]), run_dir),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    with (Path(config["out"]) / f"{name}.log").open("w") as log:
        subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
    tune.report({**read_metrics(run_dir), "run_dir": str(run_dir)})


def sweep(
    config: Path,
    out: Path,
    learning_rates: Sequence[float],
    target_update_intervals: Sequence[int],
    timesteps: int,
    workers: int,
    address: str | None = None,
) -> list[dict[str, Any]]:
    """Run the grid with Ray Tune; one result row per trial, best first."""
    import ray
    from ray import tune

    from envs.parallel import start_ray

    out.mkdir(parents=True, exist_ok=True)
    started = start_ray(workers, address)
    try:
        space = {
            "learning_rate": tune.grid_search(list(learning_rates)),
            "target_update_interval": tune.grid_search(list(target_update_intervals)),
            "config": str(config.resolve()),
            "out": str(out.resolve()),
            "timesteps": timesteps,
        }
        tuner = tune.Tuner(
            tune.with_resources(run_trial, {"cpu": 1}),
            param_space=space,
            tune_config=tune.TuneConfig(
                metric="final_bound", mode="min", max_concurrent_trials=workers
            ),
            run_config=tune.RunConfig(
                name="tune_dqn", storage_path=str((out / "ray").resolve()), verbose=0
            ),
        )
        grid = tuner.fit()
    finally:
        if started:
            ray.shutdown()
    rows = []
    for result in grid:
        if result.error is not None:
            rows.append({"error": str(result.error).splitlines()[0], **_params(result.config)})
            continue
        metrics = result.metrics
        rows.append(
            {
                **_params(result.config),
                "final_bound": metrics["final_bound"],
                "best_val_bound": metrics["best_val_bound"],
                "run_dir": metrics["run_dir"],
                "error": "",
            }
        )
    rows.sort(key=lambda r: (r["error"] != "", r.get("final_bound", float("inf"))))
    fields = [
        "learning_rate",
        "target_update_interval",
        "final_bound",
        "best_val_bound",
        "run_dir",
        "error",
    ]
    with (out / "results.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return rows


def _params(config: dict[str, Any]) -> dict[str, Any]:
    return {k: config[k] for k in ("learning_rate", "target_update_interval")}


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(prog="python agents/tune_dqn.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "dqn_cpu.yaml")
    parser.add_argument("--out", type=Path, default=Path("runs/tune_dqn"))
    parser.add_argument("--learning-rates", type=float, nargs="+", default=[3e-4, 1e-3])
    parser.add_argument("--target-update-intervals", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--timesteps", type=int, default=600, help="per trial")
    parser.add_argument("--workers", type=int, default=2, help="trials at a time (CPUs)")
    parser.add_argument("--address", default=None, help="Ray cluster to join (e.g. auto)")
    args = parser.parse_args(argv)
    if not args.config.is_file():
        raise UsageError(f"{args.config}: no such config")
    if args.timesteps < 2 or args.workers < 1:
        raise UsageError("--timesteps must be >= 2 and --workers >= 1")
    try:
        import ray.tune  # noqa: F401
    except ImportError as error:
        raise UsageError(f'Ray Tune is not installed ({error}): pip install -e ".[ray]"') from None
    rows = sweep(
        args.config,
        args.out,
        args.learning_rates,
        args.target_update_intervals,
        args.timesteps,
        args.workers,
        args.address,
    )
    print("learning_rate  target_update_interval  final_bound  best_val_bound  error")
    for row in rows:
        print(
            f"{row['learning_rate']:>13g}  {row['target_update_interval']:>22}  "
            f"{row.get('final_bound', float('nan')):>11.4f}  "
            f"{row.get('best_val_bound', float('nan')):>14.4f}  {row['error']}"
        )
    print(f"results: {args.out / 'results.csv'}")
    return 0


if __name__ == "__main__":
    run_cli(main)
