"""Exact linear regions of a trained sklearn-digits classifier on random 2-D and 3-D slices.

    python -m baselines.regions.digits_slices [--hidden 32,32] [--epochs 300] [--radius 10]

A ReLU classifier ``[64, *hidden, 10]`` is trained on scikit-learn's 8x8 digits (pixels scaled
to ``[-1, 1]``, 80/20 split, full-batch Adam, seeded; see :mod:`baselines.regions.digits`).
Its input space is 64-dimensional, far too large to enumerate, so, as is standard for looking
at a trained network's partition, it is restricted to random affine slices
``x = x0 + R_s U t`` with ``t`` in ``[-1, 1]^k`` (``k = 2, 3``): ``x0`` a random training image,
``U`` a random ``64 x k`` matrix with orthonormal columns, ``R_s`` = ``--radius``.  The restriction
is again a ReLU network ``[k, *hidden, 10]`` (first layer ``W1 R_s U``, bias ``W1 x0 + b1``),
whose linear regions inside the box are counted exactly by the activation-cell traversal.
The 2-D slice is drawn (regions in random colours, predicted-class boundaries in black).
Writes ``digits_slices.csv`` and ``digits_slice_2d.png``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from baselines.regions.digits import load_data, train_classifier
from baselines.regions.io_utils import DEFAULT_OUTPUT, save_figure, write_csv
from envs.cli import UsageError, UsageParser, run_cli
from envs.regions.exact import RegionResult, count_regions_traversal
from envs.regions.network import ReLUNetwork


def random_slice(network: ReLUNetwork, dim: int, radius: float, seed: int,
                 anchor: np.ndarray) -> tuple[ReLUNetwork, np.ndarray, np.ndarray]:
    """The network restricted to ``x0 + radius U t``; returns it, ``x0`` and ``radius U``."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((network.input_dim, dim)))
    directions = radius * basis
    weights = [network.weights[0] @ directions, *network.weights[1:]]
    biases = [network.weights[0] @ anchor + network.biases[0], *network.biases[1:]]
    return ReLUNetwork.from_lists(weights, biases), anchor, directions


def draw_slice(sliced: ReLUNetwork, result: RegionResult, path: Path, resolution: int = 500,
               title: str = "") -> None:
    """Regions of a 2-D slice on ``[-1, 1]^2`` in random colours, class boundaries in black."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = np.linspace(-1.0, 1.0, resolution)
    grid = np.stack(np.meshgrid(axis, axis), axis=-1).reshape(-1, 2)
    patterns = np.packbits(sliced.activation_patterns(grid), axis=1)
    labels = np.array([result.pattern_to_region.get(row.tobytes(), -1) for row in patterns])
    colours = np.random.default_rng(0).permutation(max(result.count, 1))
    image = np.where(labels >= 0, colours[np.maximum(labels, 0)], -1).reshape(resolution, resolution)
    classes = sliced.forward(grid).argmax(axis=1).reshape(resolution, resolution)
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.imshow(np.ma.masked_less(image, 0), origin="lower", extent=(-1, 1, -1, 1),
              cmap="tab20", interpolation="nearest")
    ax.contour(axis, axis, classes, levels=np.arange(10) + 0.5, colors="black", linewidths=0.8)
    ax.set_title(title or f"{result.count} linear regions")
    ax.set_xlabel("t1")
    ax.set_ylabel("t2")
    save_figure(fig, path)


def run(argv: Sequence[str] | None = None) -> list[dict]:
    """Run the experiment; return its rows (bad input raises :class:`UsageError`)."""
    parser = UsageParser(prog="python -m baselines.regions.digits_slices", description=__doc__)
    parser.add_argument("--hidden", default="32,32", help="hidden widths, e.g. 32,32")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--radius", type=float, default=10.0, help="slice half-width R_s")
    parser.add_argument("--dims", default="2,3", help="slice dimensions")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per count")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        hidden = [int(w) for w in args.hidden.split(",")]
        dims = [int(d) for d in args.dims.split(",")]
    except ValueError as error:
        raise UsageError(f"--hidden and --dims must be comma-separated integers: {error}") from error
    if min(hidden) < 1 or min(dims) < 1 or not args.radius > 0 or args.epochs < 0:
        raise UsageError("widths, dimensions, --radius must be positive and --epochs >= 0")
    torch.set_num_threads(1)
    network, accuracy = train_classifier(hidden, args.seed, args.epochs)
    x_train = load_data(args.seed)[0].numpy().astype(np.float64)
    anchor = x_train[np.random.default_rng(args.seed).integers(len(x_train))]
    rows = []
    args.output.mkdir(parents=True, exist_ok=True)
    for dim in dims:
        sliced, _, _ = random_slice(network, dim, args.radius, args.seed + dim, anchor)
        begin = time.perf_counter()
        try:
            result = count_regions_traversal(sliced, box_radius=1.0, time_limit=args.time_limit)
            count, cells, status = result.count, result.num_cells, "ok"
        except RuntimeError as error:
            result, count, cells, status = None, "", "", f"unknown: {error}"
        row = {"architecture": ",".join(map(str, [64, *hidden, 10])), "slice_dim": dim,
               "radius": args.radius, "seed": args.seed, "test_accuracy": f"{accuracy:.4f}",
               "regions": count, "cells": cells, "seconds": f"{time.perf_counter() - begin:.2f}",
               "status": status}
        rows.append(row)
        print(row, flush=True)
        if dim == 2 and result is not None:
            draw_slice(sliced, result, args.output / "digits_slice_2d.png",
                       title=f"[64,{args.hidden},10] digits classifier (test acc {accuracy:.3f})\n"
                             f"random 2-D slice, radius {args.radius:g}: {result.count} regions")
    write_csv(args.output / "digits_slices.csv", rows)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point (exit status)."""
    run(argv)
    return 0


if __name__ == "__main__":
    run_cli(main)
