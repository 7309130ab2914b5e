"""Peak memory and wall time of loading the polytope datasets, each in a fresh process.

    python -m baselines.polytopes.dataset_memory --d 7 8 --out results/polytopes/dataset_memory.json

Steps (``--steps``), each measured in its own fresh Python process:

* ``load``: ``dataset.load(d)`` (the hyperplane rows), then ``len`` and one matrix;
* ``iterate``: ``load`` and then build every matrix once (what an encoder does);
* ``index``: ``DatasetIndex(d)`` (needs the lattice keys: shipped for d <= 7; for d = 8
  they must be cached first, ``python -m envs.polytopes.dataset derive --dims 8 --fields
  keys``, else the step is reported ``skipped``, not computed).

Each child reports its peak resident memory (``VmHWM``, see :func:`peak_rss_mb`,
including the interpreter and numpy, ~40-60 MB) and the wall time of the step after the
imports. ``--module FILE`` measures another ``dataset`` module instead (e.g. the previous
one, ``git show HEAD~1:envs/polytopes/dataset.py > /tmp/old_dataset.py``; it must offer
``load(d)``). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from envs.cli import UsageError, UsageParser, run_cli

STEPS = ("load", "iterate", "index")


def _import_dataset(module: str | None) -> Any:
    if module is None:
        from envs.polytopes import dataset

        return dataset
    spec = importlib.util.spec_from_file_location("dataset_under_test", module)
    if spec is None or spec.loader is None:
        raise UsageError(f"{module}: cannot import")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = loaded  # dataclasses look their module up here
    spec.loader.exec_module(loaded)
    return loaded


def measure(d: int, step: str, module: str | None = None) -> dict[str, Any]:
    """Run one step in this process; returns wall seconds and peak RSS (MB)."""
    dataset = _import_dataset(module)
    result: dict[str, Any] = {"d": d, "step": step, "module": module or "envs.polytopes.dataset"}
    if step == "index":
        from envs.polytopes.identify import DatasetIndex

        if module is None:
            data = dataset.load_data(d)
            if not data.available("keys"):
                return {**result, "skipped": "keys not shipped or cached (derive them first)"}
        start = time.perf_counter()
        index = DatasetIndex(d)
        result["n"] = len(index)
    else:
        start = time.perf_counter()
        matrices = dataset.load(d)
        result["n"] = len(matrices)
        _ = matrices[len(matrices) // 2]
        if step == "iterate":
            result["rows"] = sum(len(matrix) for matrix in matrices)
    result["wall_s"] = round(time.perf_counter() - start, 3)
    result["peak_rss_mb"] = peak_rss_mb()
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB.

    ``VmHWM`` from ``/proc/self/status`` where it exists: ``getrusage``'s ``ru_maxrss``
    survives ``exec`` on Linux, so a child started by a large process would report the
    parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_child(d: int, step: str, module: str | None) -> dict[str, Any]:
    """:func:`measure` in a fresh interpreter (so earlier steps do not count)."""
    command = [sys.executable, "-m", "baselines.polytopes.dataset_memory", "--child", str(d), step]
    if module:
        command += ["--module", module]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        return {"d": d, "step": step, "error": tail}
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, nargs="+", default=[7, 8], help="dimensions")
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--module", default=None, help="dataset module file to measure instead")
    parser.add_argument("--out", type=Path, default=None, help="JSON output file")
    parser.add_argument("--child", nargs=2, metavar=("D", "STEP"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.module and not Path(args.module).is_file():
        raise UsageError(f"{args.module}: no such file")
    if args.child:
        d, step = args.child
        if not d.isdigit() or step not in STEPS:
            raise UsageError(f"--child needs D STEP with STEP in {STEPS}")
        print(json.dumps(measure(int(d), step, args.module)))
        return 0
    for d in args.d:
        if not 2 <= d <= 8:
            raise UsageError(f"--d must be in 2..8, got {d}")
    rows = [run_child(d, step, args.module) for d in args.d for step in args.steps]
    print(f"{'d':>2}  {'step':<8} {'n':>8} {'wall s':>8} {'peak RSS MB':>12}  note")
    for row in rows:
        note = row.get("skipped") or row.get("error") or ""
        print(
            f"{row['d']:>2}  {row['step']:<8} {row.get('n', ''):>8} {row.get('wall_s', ''):>8} "
            f"{row.get('peak_rss_mb', ''):>12}  {note}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    run_cli(main)
