"""Wall time of the parallel jobs under each executor backend (serial, process, ray).

    python -m baselines.parallel_speed [--workers 2] [--polytopes 1000] [--d 7]
        [--normality auto|exact] [--noop-tasks 200] [--jobs benchmark check noop]
        [--out results/parallel_speed.json]

Measures, on this machine, one run each of: the default PolyProof benchmark
(``python -m baselines.benchmark`` defaults), a property check of ``--polytopes``
polytopes of dimension ``--d`` (a seeded sample of the shipped dataset) and
``--noop-tasks`` tasks that do nothing (the executor's overhead per task); under
``serial``, ``process`` (``--workers`` processes) and ``ray`` (a local instance with
``--workers`` CPUs, started once; its start-up time is reported apart), with the CPU time
of the serial run (the work itself, less sensitive to other load). Prints a table and
writes it as JSON. Timings are of one run: noisy on a shared machine.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import BACKENDS, noop, run_tasks


def _timed(job: Callable[[], Any]) -> tuple[float, float]:
    """Wall seconds and this process's CPU seconds of ``job()``."""
    start, cpu = time.perf_counter(), time.process_time()
    job()
    return time.perf_counter() - start, time.process_time() - cpu


def benchmark_job(backend: str, workers: int, folder: Path) -> Callable[[], Any]:
    """The default Table 1 benchmark into a fresh CSV."""
    from baselines import benchmark

    def job() -> Any:
        return benchmark.run_benchmark(
            benchmark.DEFAULT_N,
            benchmark.DEFAULT_GRAPHS,
            benchmark.DEFAULT_METHODS,
            out=folder / f"benchmark_{backend}.csv",
            resume=False,
            workers=workers,
            backend=backend,
            progress=False,
            log=lambda _: None,
        )

    return job


def check_job(
    matrices: Sequence[Any], backend: str, workers: int, normality: str
) -> Callable[[], Any]:
    """Property check of ``matrices`` (``normality``: auto, exact or skip)."""
    from envs.polytopes.batch import check_many

    return lambda: check_many(
        matrices, workers=workers, backend=backend, progress=False, normality=normality
    )


def noop_job(tasks: int, backend: str, workers: int) -> Callable[[], Any]:
    """``tasks`` tasks that do nothing (the executor's own cost)."""
    return lambda: run_tasks(noop, range(tasks), backend=backend, workers=workers, progress=False)


def measure(
    workers: int,
    polytopes: int,
    d: int,
    noop_tasks: int,
    seed: int,
    normality: str = "auto",
    jobs: Sequence[str] = ("benchmark", "check", "noop"),
) -> dict[str, Any]:
    """Seconds per job and backend, plus Ray's start-up time."""
    import ray

    from envs.parallel import start_ray
    from envs.polytopes import dataset

    data = dataset.load(d)
    picks = np.random.default_rng(seed).choice(len(data), size=min(polytopes, len(data)))
    matrices = [np.asarray(data[int(i)]) for i in sorted(picks)]
    results: dict[str, Any] = {
        "workers": workers,
        "d": d,
        "polytopes": len(matrices),
        "normality": normality,
    }
    ray_start = time.perf_counter()
    started = start_ray(workers, None)
    results["ray_start_seconds"] = round(time.perf_counter() - ray_start, 3)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            makers = {
                "benchmark": ("benchmark_default", lambda b: benchmark_job(b, workers, Path(tmp))),
                "check": (
                    f"check_{len(matrices)}_d{d}_{normality}",
                    lambda b: check_job(matrices, b, workers, normality),
                ),
                "noop": (f"noop_{noop_tasks}", lambda b: noop_job(noop_tasks, b, workers)),
            }
            for name, make in (makers[job] for job in jobs):
                row: dict[str, float] = {}
                for backend in BACKENDS:
                    wall, cpu = _timed(make(backend))
                    row[backend] = round(wall, 3)
                    if backend == "serial":  # the work itself, whatever else loads the machine
                        row["serial_cpu"] = round(cpu, 3)
                row["process_speedup"] = round(row["serial"] / row["process"], 3)
                row["ray_speedup"] = round(row["serial"] / row["ray"], 3)
                results[name] = row
                print(name, row, flush=True)
    finally:
        if started:
            ray.shutdown()
    results["load_average_1min"] = round(os.getloadavg()[0], 2)
    noop_row = results.get(f"noop_{noop_tasks}")
    if noop_row is not None:
        for backend in ("ray", "process"):
            results[f"{backend}_overhead_ms_per_task"] = round(
                1000 * (noop_row[backend] - noop_row["serial"]) / noop_tasks, 3
            )
    return results


def format_table(results: dict[str, Any]) -> str:
    lines = [
        f"{'job':<22}{'serial s':>10}{'(cpu s)':>9}{'process s':>11}{'ray s':>9}"
        f"{'proc x':>8}{'ray x':>8}"
    ]
    for name, row in results.items():
        if isinstance(row, dict):
            lines.append(
                f"{name:<22}{row['serial']:>10.2f}{row['serial_cpu']:>9.2f}"
                f"{row['process']:>11.2f}{row['ray']:>9.2f}"
                f"{row['process_speedup']:>8.2f}{row['ray_speedup']:>8.2f}"
            )
    line = f"ray start {results['ray_start_seconds']:.2f} s"
    if "ray_overhead_ms_per_task" in results:
        line += (
            f"; overhead per task: ray {results['ray_overhead_ms_per_task']:.2f} ms, "
            f"process {results['process_overhead_ms_per_task']:.2f} ms"
        )
    lines.append(line + f"; load average {results['load_average_1min']}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(prog="python -m baselines.parallel_speed", description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--polytopes", type=int, default=1000)
    parser.add_argument("--d", type=int, default=7)
    parser.add_argument("--noop-tasks", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--normality", choices=("auto", "exact", "skip"), default="auto")
    parser.add_argument(
        "--jobs",
        nargs="+",
        choices=("benchmark", "check", "noop"),
        default=["benchmark", "check", "noop"],
    )
    parser.add_argument("--out", type=Path, default=Path("results/parallel_speed.json"))
    args = parser.parse_args(argv)
    if min(args.workers, args.polytopes, args.noop_tasks) < 1:
        raise UsageError("--workers, --polytopes and --noop-tasks must be >= 1")
    try:
        import ray  # noqa: F401
    except ImportError:
        raise UsageError('the ray backend needs Ray: pip install -e ".[ray]"') from None
    results = measure(
        args.workers,
        args.polytopes,
        args.d,
        args.noop_tasks,
        args.seed,
        args.normality,
        args.jobs,
    )
    print(format_table(results))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
