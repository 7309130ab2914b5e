"""Sensitivity of the global properties to one local change (paper Section 3.3).

Draw ``n`` dataset polytopes (with replacement, seeded), change one entry: a random
entry among those equal to 0 or +-1 is picked; a 0 becomes +-1, a +-1 becomes 0. Then
check compact / lattice / smooth / normal and print the counts next to the paper's
8-d figures (compact 851, lattice 789, smooth 227, normal 642, all 147 out of 1000).

A change that zeroes a whole row leaves the trivial inequality ``1 >= 0``; that row is
dropped before checking (the checker itself rejects zero rows) and counted as
``zero_row``. ``--reembed`` applies a random GL_d(Z) map to each polytope before the
change (the shipped data are all in Øbro's embedding, which changes the statistics).

    python -m baselines.polytopes.sensitivity --d 6 --n 1000 --out results/polytopes

Results: one JSON line per sample in ``<out>/sensitivity_d{d}[_reembed]_samples.jsonl``
(resumable: rerunning skips finished samples), the table in ``..._summary.json`` and
``..._summary.csv``.
"""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from envs.cli import UsageError, UsageParser, run_cli
from envs.polytopes import dataset
from envs.polytopes.batch import check_many

PAPER_8D = {"compact": 851, "lattice": 789, "smooth": 227, "normal": 642, "all": 147}
PROPERTIES = ("compact", "lattice", "reflexive", "smooth", "normal", "all")


def random_unimodular(d: int, rng: np.random.Generator, steps: int = 3) -> np.ndarray:
    """A random matrix in GL_d(Z) from elementary column operations (small entries)."""
    matrix = np.eye(d, dtype=np.int64)
    for _ in range(steps * d):
        i, j = rng.choice(d, 2, replace=False)
        matrix[:, i] += int(rng.choice([-1, 1])) * matrix[:, j]
    return matrix


def modify(rows: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, dict]:
    """One change: a 0 to +-1 or a +-1 to 0 (uniform over eligible entries)."""
    rows = rows.copy()
    eligible = np.argwhere(np.abs(rows) <= 1)
    i, j = (int(v) for v in eligible[rng.integers(len(eligible))])
    old = int(rows[i, j])
    new = int(rng.choice([-1, 1])) if old == 0 else 0
    rows[i, j] = new
    return rows, {"row": i, "column": j, "old": old, "new": new}


def make_samples(d: int, n: int, seed: int, reembed: bool) -> list[dict]:
    polytopes = dataset.load(d)
    rng = np.random.default_rng(seed)
    samples = []
    for sample in range(n):
        index = int(rng.integers(len(polytopes)))
        rows = polytopes[index]
        if reembed:
            rows = rows @ random_unimodular(d, rng)
        changed, change = modify(rows, rng)
        zero_row = bool((~changed.any(axis=1)).any())
        changed = changed[changed.any(axis=1)]
        samples.append(
            {
                "sample": sample,
                "index": index,
                "change": change,
                "zero_row": zero_row,
                "matrix": changed.tolist(),
            }
        )
    return samples


def run(
    d: int,
    n: int,
    seed: int,
    out: Path,
    workers: int,
    normality: str,
    reembed: bool,
    chunk: int = 50,
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    stem = f"sensitivity_d{d}" + ("_reembed" if reembed else "")
    samples_path = out / f"{stem}_samples.jsonl"
    done: dict[int, dict] = {}
    if samples_path.exists():
        for line in samples_path.read_text().splitlines():
            record = json.loads(line)
            done[record["sample"]] = record
    samples = [s for s in make_samples(d, n, seed, reembed) if s["sample"] not in done]
    start = time.perf_counter()
    with (
        open(samples_path, "a", encoding="utf-8") as handle,
        tqdm(total=n, initial=len(done), desc=f"sensitivity d={d}", unit="polytope") as bar,
    ):
        for offset in range(0, len(samples), chunk):
            batch = samples[offset : offset + chunk]
            reports = check_many(
                [s["matrix"] for s in batch], workers=workers, progress=False, normality=normality
            )
            for sample, report in zip(batch, reports, strict=True):
                record = {**sample, **report.to_dict()}
                done[sample["sample"]] = record
                handle.write(json.dumps(record) + "\n")
            handle.flush()
            bar.update(len(batch))
    elapsed = time.perf_counter() - start
    records = [done[i] for i in range(n)]
    counts = {name: int(sum(bool(r[name]) for r in records)) for name in PROPERTIES}
    summary = {
        "d": d,
        "n": n,
        "seed": seed,
        "reembed": reembed,
        "normality": normality,
        "counts": counts,
        "zero_row": int(sum(r["zero_row"] for r in records)),
        "paper_8d_per_1000": PAPER_8D,
        "seconds_this_run": round(elapsed, 1),
    }
    (out / f"{stem}_summary.json").write_text(json.dumps(summary, indent=2))
    with open(out / f"{stem}_summary.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["property", f"d={d} (per {n})", "paper d=8 (per 1000)"])
        for name in PROPERTIES:
            writer.writerow([name, counts[name], PAPER_8D.get(name, "")])
    return summary


def print_table(summary: dict) -> None:
    d, n = summary["d"], summary["n"]
    print(
        f"\nOne-entry changes of {n} d={d} polytopes"
        f"{' (random re-embedding)' if summary['reembed'] else ' (Obro embedding)'}"
        f", normality={summary['normality']}"
    )
    print(f"{'property':<10} {'d=' + str(d):>8} {'paper d=8':>10}")
    for name in PROPERTIES:
        print(f"{name:<10} {summary['counts'][name]:>8} {PAPER_8D.get(name, ''):>10}")
    print(f"zero rows created (dropped): {summary['zero_row']}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m baselines.polytopes.sensitivity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--d", type=int, default=6)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--normality", choices=("exact", "auto", "skip"), default="exact")
    parser.add_argument("--reembed", action="store_true")
    parser.add_argument("--out", type=Path, default=Path("results/polytopes"))
    args = parser.parse_args(argv)
    if args.n < 1 or args.workers < 1:
        raise UsageError(f"--n and --workers must be >= 1, got {args.n} and {args.workers}")
    try:
        dataset.load(args.d)
    except ValueError as error:  # no data for d
        raise UsageError(str(error)) from None
    summary = run(args.d, args.n, args.seed, args.out, args.workers, args.normality, args.reembed)
    print_table(summary)
    return 0


if __name__ == "__main__":
    run_cli(main)
