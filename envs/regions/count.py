"""Command line: count the linear regions of a ReLU network and print JSON.

Examples::

    python -m envs.regions.count --arch 2,6,1 --seed 0 --method exact
    python -m envs.regions.count --arch 3,3,2,1 --method traversal --box 5
    python -m envs.regions.count --weights net.npz --method numerical --points 5000 --radius 20

``--weights`` reads an ``.npz`` with arrays ``W0, b0, W1, b1, ...`` (``W_l`` of shape
``(n_l, n_{l-1})``).  ``exact`` is Algorithm 4 (tropical), ``traversal`` the activation-cell
BFS, ``numerical`` Algorithm 5.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from envs.regions.exact import count_regions_traversal, count_regions_tropical
from envs.regions.network import ReLUNetwork, random_network
from envs.regions.numerical import estimate_regions
from envs.regions.tropical import monomial_counts


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m envs.regions.count", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", help="architecture n0,n1,...,nL of a random Gaussian network")
    source.add_argument("--weights", help=".npz file with W0, b0, W1, b1, ...")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random network/sampling")
    parser.add_argument("--method", choices=["exact", "traversal", "numerical"], default="exact")
    parser.add_argument("--box", type=float, default=None, help="restrict to [-R, R]^n0")
    parser.add_argument("--points", type=int, default=5000, help="numerical: sample size N")
    parser.add_argument("--radius", type=float, default=5.0, help="numerical: sampling radius R")
    parser.add_argument("--no-monomials", action="store_true", help="skip monomial counts")
    parser.add_argument("--no-native", action="store_true",
                        help="skip the native (unpruned) monomial count (can blow up)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.weights:
            network = ReLUNetwork.from_npz(args.weights)
        else:
            network = random_network(args.arch, args.seed)
        report: dict = {"architecture": network.architecture, "method": args.method}
        begin = time.perf_counter()
        if args.method == "exact":
            result = count_regions_tropical(network, box_radius=args.box)
            report.update(result.summary())
            report["method"] = "exact"
        elif args.method == "traversal":
            result = count_regions_traversal(network, box_radius=args.box)
            report.update(result.summary())
        else:
            result = estimate_regions(network, args.points, args.radius, seed=args.seed)
            report.update(result.summary())
            report["method"] = "numerical"
        report["seconds"] = round(time.perf_counter() - begin, 6)
        if not args.no_monomials:
            start = time.perf_counter()
            report["monomials"] = monomial_counts(network, native=not args.no_native)
            report["monomial_seconds"] = round(time.perf_counter() - start, 6)
    except (ValueError, RuntimeError, OSError) as error:
        print(json.dumps({"error": str(error)}), file=sys.stderr)
        return 2
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
