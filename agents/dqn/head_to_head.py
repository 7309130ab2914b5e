"""Per-graph win/tie/loss of the agent against the clique-cover prover, from ``agents.evaluate`` CSVs.

    python -m agents.dqn.head_to_head results/agents/issue13/imitation_seed0.csv [...] [--out table.csv]

For every CSV, seed and n: graphs where both have a certified bound, mean bounds (agent,
clique cover, alpha) and how often the agent's exact bound is below (win), equal to (tie)
or above (loss) clique cover's. Bounds are compared exactly (``bound_exact`` fractions).
"""

from __future__ import annotations

import argparse
import csv
from collections import defaultdict
from fractions import Fraction
from pathlib import Path
from typing import Any

from envs.cli import UsageError, UsageParser, run_cli


def head_to_head(
    path: str | Path, method: str = "agent", other: str = "clique_cover"
) -> list[dict[str, Any]]:
    """One summary row per (seed, n) of ``path``."""
    bounds: dict[tuple[int, int, int], dict[str, Fraction]] = defaultdict(dict)
    alphas: dict[tuple[int, int, int], float] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"seed", "n", "graph", "alpha", "method", "status", "bound_exact"} - set(
            reader.fieldnames or ()
        )
        if missing:
            raise UsageError(
                f"{path}: not an agents.evaluate CSV (no {', '.join(sorted(missing))})"
            )
        for row in reader:
            key = (int(row["seed"]), int(row["n"]), int(row["graph"]))
            alphas[key] = float(row["alpha"])
            if row["method"] in (method, other) and row["status"] == "ok":
                bounds[key][row["method"]] = Fraction(row["bound_exact"])
    groups: dict[tuple[int, int], list[tuple[int, int, int]]] = defaultdict(list)
    for key, found in bounds.items():
        if method in found and other in found:
            groups[key[:2]].append(key)
    rows = []
    for (seed, n), keys in sorted(groups.items()):
        a = [bounds[k][method] for k in keys]
        b = [bounds[k][other] for k in keys]
        rows.append(
            {
                "file": Path(path).name,
                "seed": seed,
                "n": n,
                "graphs": len(keys),
                "alpha": round(sum(alphas[k] for k in keys) / len(keys), 3),
                method: round(float(sum(a)) / len(a), 3),
                other: round(float(sum(b)) / len(b), 3),
                "win": sum(x < y for x, y in zip(a, b, strict=True)),
                "tie": sum(x == y for x, y in zip(a, b, strict=True)),
                "loss": sum(x > y for x, y in zip(a, b, strict=True)),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = UsageParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("csv", nargs="+", help="agents.evaluate CSVs")
    parser.add_argument("--method", default="agent")
    parser.add_argument("--other", default="clique_cover")
    parser.add_argument("--out", help="write the table as CSV")
    ns = parser.parse_args(argv)
    rows: list[dict[str, Any]] = []
    for path in ns.csv:
        if not Path(path).is_file():
            raise UsageError(f"{path}: no such file")
        rows += head_to_head(path, ns.method, ns.other)
    if not rows:
        raise UsageError("no graph has both methods' certified bounds")
    cols = list(rows[0])
    print("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(str(row[c]) for c in cols) + " |")
    if ns.out:
        with open(ns.out, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=cols)
            writer.writeheader()
            writer.writerows(rows)
    return 0


if __name__ == "__main__":
    run_cli(main)
