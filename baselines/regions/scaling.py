"""Largest architecture each exact method handles within a time limit (default 5 minutes).

    python -m baselines.regions.scaling [--limit 300] [--families one,two]

Walks up architecture families ([2, w, 1], [4, w, 1], [3, w, w, 1]) with one random network
(seed 0) per size; a method stops at its first run over ``--limit`` seconds (aborted via the
methods' ``time_limit``).  Writes ``scaling.csv`` and prints, per family and method, the largest
architecture finished in time.  Timings depend on the (shared) CPU.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV
from envs.regions.exact import count_regions_traversal, count_regions_tropical
from envs.regions.network import random_network

FAMILIES = {
    "one2": [[2, w, 1] for w in (8, 16, 32, 48, 64, 96, 128, 160, 192, 256, 384, 512)],
    "one4": [[4, w, 1] for w in (8, 12, 16, 20, 24, 28, 32, 40, 48)],
    "two3": [[3, w, w, 1] for w in (4, 6, 8, 10, 12, 14, 16, 20, 24, 32, 40, 48)],
}
METHODS = {"tropical": count_regions_tropical, "traversal": count_regions_traversal}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=float, default=300.0)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    fields = ["family", "method", "architecture", "count", "seconds", "status"]
    runs = ResumableCSV(args.output / "scaling.csv", fields, ["family", "method", "architecture"])
    largest: dict = {}
    for family in args.families.split(","):
        for method in args.methods.split(","):
            for arch in FAMILIES[family]:
                name = ",".join(map(str, arch))
                previous = [
                    r
                    for r in runs.rows
                    if r["family"] == family and r["method"] == method and r["architecture"] == name
                ]
                if previous:
                    row = previous[0]
                else:
                    network = random_network(arch, 0)
                    begin = time.perf_counter()
                    try:
                        count = METHODS[method](network, time_limit=args.limit).count
                        status = "ok"
                    except (RuntimeError, ValueError) as error:
                        count, status = "", f"aborted: {error}"
                    row = {
                        "family": family,
                        "method": method,
                        "architecture": name,
                        "count": count,
                        "seconds": f"{time.perf_counter() - begin:.2f}",
                        "status": status,
                    }
                    runs.append(row)
                    print(row, flush=True)
                if row["status"] != "ok" or float(row["seconds"]) > args.limit:
                    break
                largest[(family, method)] = (name, row["seconds"], row["count"])
    print("family | method | largest architecture within limit | seconds | regions")
    for (family, method), (name, seconds, count) in largest.items():
        print(f"{family} | {method} | [{name}] | {seconds} | {count}")
    return largest


if __name__ == "__main__":
    main()
