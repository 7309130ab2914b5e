"""Picture of the linear regions of a random [2, ...] network (cf. Fig. 10 of the paper).

    python -m baselines.regions.picture [--arch 2,6,3,1] [--seed 4] [--radius 3]

Each pixel of ``[-R, R]^2`` is coloured by its linear region (exact traversal in the box,
looked up by activation pattern); regions that carry the same affine map are annotated with
the same letter, so disconnected same-map regions are visible.  Writes ``regions_picture.png``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from baselines.regions.io_utils import DEFAULT_OUTPUT
from envs.cli import UsageParser, run_cli
from envs.regions.exact import count_regions_traversal
from envs.regions.network import random_network


def main(argv: list[str] | None = None) -> dict:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--arch", default="2,6,3,1")
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--radius", type=float, default=3.0)
    parser.add_argument("--pixels", type=int, default=600)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    network = random_network(args.arch, args.seed)
    if network.input_dim != 2:
        raise ValueError("the picture needs a network with 2 inputs")
    result = count_regions_traversal(network, box_radius=args.radius)
    grid = np.linspace(-args.radius, args.radius, args.pixels)
    xx, yy = np.meshgrid(grid, grid)
    points = np.column_stack([xx.ravel(), yy.ravel()])
    patterns = np.packbits(network.activation_patterns(points), axis=1)
    labels = np.array([result.pattern_to_region.get(p.tobytes(), -1) for p in patterns])
    image = labels.reshape(args.pixels, args.pixels)
    # regions sharing an affine map
    keys: dict[bytes, str] = {}
    letters = []
    for linear, offset in result.region_maps:
        key = np.round(np.concatenate([linear.ravel(), offset]), 7).tobytes()
        keys.setdefault(
            key, chr(ord("A") + len(keys) % 26) + ("" if len(keys) < 26 else str(len(keys) // 26))
        )
        letters.append(keys[key])
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 7))
    rng = np.random.default_rng(0)
    colours = rng.uniform(0.2, 1.0, size=(result.count + 1, 3))
    colours[-1] = 0.0
    ax.imshow(colours[image], origin="lower", extent=[-args.radius, args.radius] * 2)
    for label in range(result.count):
        mask = image == label
        if mask.any():
            ys, xs = np.nonzero(mask)
            ax.text(
                grid[int(np.median(xs))],
                grid[int(np.median(ys))],
                f"{label}:{letters[label]}",
                fontsize=7,
                ha="center",
                va="center",
            )
    ax.set_title(
        f"[{args.arch}] seed {args.seed}: {result.count} linear regions in the box, "
        f"{len(keys)} distinct affine maps"
    )
    path = args.output / "regions_picture.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    summary = {
        "architecture": args.arch,
        "regions": result.count,
        "distinct_maps": len(keys),
        "path": str(path),
    }
    print(summary)
    return summary


if __name__ == "__main__":
    run_cli(main)
