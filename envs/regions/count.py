"""Command line: count the linear regions of a ReLU network and print one JSON line.

Examples::

    python -m envs.regions.count --arch 2,6,1 --seed 0 --method exact
    python -m envs.regions.count --arch 3,3,2,1 --method traversal --box 5
    python -m envs.regions.count --arch 2,512,1 --method traversal --backend process --workers 2
    python -m envs.regions.count --weights net.npz --method numerical --points 5000 --radius 20

What is counted: the linear regions of the function the network computes, i.e. the maximal
connected open sets on which it is affine.  Activation cells (or tropical pieces) with the same
affine map that share a facet are merged; the same affine map on disconnected pieces counts
once per piece.  ``exact`` is Algorithm 4 of Lezeau et al. (2024, tropical), ``traversal`` the
breadth-first search over activation cells (both exact, and the same at every weight scale:
the network is normalised first and close decisions are made in rational arithmetic);
``numerical`` is Algorithm 5 (a sampling estimate, a lower bound).

``num_cells`` (with ``cell_kind`` in the output) is what the method enumerated before merging:
for ``traversal`` the activation cells (non-empty open sets with one activation pattern), for
``exact`` the tropical pieces (full-dimensional intersections of the linear regions of the
tropical polynomials p_k and q_k with f_k = p_k - q_k).  Both are >= ``count``; they differ in
general.

``--weights`` reads an ``.npz`` archive with real arrays ``W0, b0, W1, b1, ...`` (``W_l`` of shape
``(n_{l+1}, n_l)``, no gaps).  Bad input (an unreadable file, a layer gap, complex weights, an
empty layer size in ``--arch``, weights that overflow float64) is one ``error:`` line on stderr,
exit status 2.  A computation that fails (an LP that fails after retries, a float tropical
representation too coarse for the weights) is one ``error:`` line, exit status 1; a
``--time-limit`` that runs out, or an Algorithm 4 count that its close float LP calls leave in
doubt (checked against the traversal, whose close calls are decided in exact arithmetic),
prints ``"count": null`` with ``"status": "unknown ..."``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence

import numpy as np

from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import BACKENDS
from envs.regions.cells import FACET_METHODS
from envs.regions.exact import count_regions_traversal, count_regions_tropical
from envs.regions.network import ReLUNetwork, parse_architecture, random_network
from envs.regions.normalise import map_bound, normalise_network
from envs.regions.numerical import estimate_regions
from envs.regions.results import CountUnknown
from envs.regions.tropical import monomial_counts


def build_parser() -> argparse.ArgumentParser:
    """The command's argument parser (errors are :class:`UsageError`)."""
    parser = UsageParser(prog="python -m envs.regions.count", description=__doc__,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--arch", help="architecture n0,n1,...,nL of a random Gaussian network")
    source.add_argument("--weights", help=".npz file with W0, b0, W1, b1, ...")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random network/sampling")
    parser.add_argument("--method", choices=["exact", "traversal", "numerical"], default="exact",
                        help="exact = Algorithm 4 (tropical); traversal = activation-cell BFS; "
                             "numerical = Algorithm 5 estimate")
    parser.add_argument("--box", type=float, default=None, help="restrict to [-R, R]^n0")
    parser.add_argument("--points", type=int, default=5000, help="numerical: sample size N")
    parser.add_argument("--radius", type=float, default=5.0, help="numerical: sampling radius R")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds for the exact methods; past it the count is unknown")
    parser.add_argument("--facet-method", choices=FACET_METHODS, default="auto",
                        help="traversal: how a cell's facets are found (auto: qhull for "
                             "2 <= n0 <= 8, pycddlib for n0 = 1 and 9..12, HiGHS LPs above)")
    parser.add_argument("--backend", choices=BACKENDS, default="serial",
                        help="traversal: expand cells in this process (serial), on a local "
                             "process pool (process) or on Ray (ray); same count on each")
    parser.add_argument("--workers", type=int, default=None,
                        help="traversal: processes / Ray CPUs (default: all CPUs)")
    parser.add_argument("--address", default=None,
                        help="traversal with --backend ray: cluster to join (e.g. auto)")
    parser.add_argument("--progress", action="store_true", help="traversal: tqdm cell counter")
    parser.add_argument("--no-monomials", action="store_true", help="skip monomial counts")
    parser.add_argument("--no-native", action="store_true",
                        help="skip the native (unpruned) monomial count (can blow up)")
    return parser


def load_network(args: argparse.Namespace) -> ReLUNetwork:
    """The network named by ``--weights`` or ``--arch``; bad input raises :class:`UsageError`."""
    try:
        with np.errstate(over="raise", invalid="raise"):
            if args.weights:
                network = ReLUNetwork.from_npz(args.weights)
            else:
                network = random_network(parse_architecture(args.arch), args.seed)
            normalise_network(network)  # rejects weights too far apart for float64
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.isfinite(map_bound(network)).all():
                raise OverflowError("weights too large: the network's affine maps overflow "
                                    "float64 (entries beyond ~1e308)")
    except FileNotFoundError as error:
        raise UsageError(f"{args.weights}: no such file") from error
    except (ValueError, OverflowError, FloatingPointError) as error:
        raise UsageError(str(error).splitlines()[0] if str(error) else type(error).__name__) from error
    return network


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return the exit status (bad input raises :class:`UsageError`)."""
    args = build_parser().parse_args(argv)
    for name in ("box", "radius", "time_limit"):
        value = getattr(args, name)
        if value is not None and not (np.isfinite(value) and value > 0):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive number, got {value}")
    if args.points < 1:
        raise UsageError(f"--points must be >= 1, got {args.points}")
    if args.workers is not None and args.workers < 1:
        raise UsageError(f"--workers must be >= 1, got {args.workers}")
    network = load_network(args)
    normalised, _ = normalise_network(network)  # same regions, same patterns, no overflow
    report: dict = {"architecture": network.architecture, "method": args.method}
    begin = time.perf_counter()
    try:
        if args.method == "exact":
            result = count_regions_tropical(network, box_radius=args.box, time_limit=args.time_limit)
            report.update(result.summary())
            report["method"] = "exact"
        elif args.method == "traversal":
            result = count_regions_traversal(
                network, box_radius=args.box, time_limit=args.time_limit,
                facet_method=args.facet_method, backend=args.backend, workers=args.workers,
                address=args.address, progress=args.progress)
            report.update(result.summary())
        else:
            result = estimate_regions(normalised, args.points, args.radius, seed=args.seed)
            report.update(result.summary())
            report["method"] = "numerical"
        report["seconds"] = round(time.perf_counter() - begin, 6)
        if not args.no_monomials:
            start = time.perf_counter()
            report["monomials"] = monomial_counts(normalised, native=not args.no_native)
            report["monomial_seconds"] = round(time.perf_counter() - start, 6)
    except (RuntimeError, ValueError, OverflowError, FloatingPointError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        unknown = isinstance(error, CountUnknown)
        if unknown or "time_limit" in message or "time limit" in message:
            report.update({"count": None, "status": f"unknown ({message})",
                           "seconds": round(time.perf_counter() - begin, 6)})
            print(json.dumps(report))
            return 0
        print(f"error: {message}", file=sys.stderr)
        return 1
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    run_cli(main)
