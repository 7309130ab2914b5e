"""Real data (MNIST-like): exact linear regions of [64, w, 10] trained on sklearn's digits.

    python -m baselines.regions.digits [--widths 4,6,8,10,12] [--epochs 300]

MNIST cannot be downloaded here; scikit-learn's bundled 8x8 digits (1797 images, 64 pixels in
0..16) are used instead, scaled to ``[-1, 1]^64`` (x / 8 - 1).  Each network is trained with
Adam (full batch, seeded) on 80% of the data and tested on 20%.  Exact region counts by the
activation-cell traversal on all of R^64 and inside the data cube ``[-1, 1]^64`` (box R = 1);
Algorithm 4 is not run (10 outputs x 2^w monomials in 64 dimensions).  Writes ``digits.csv``
and ``digits.png``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, ResumableCSV, save_figure
from envs.cli import UsageParser, int_list, run_cli
from envs.regions.exact import count_regions_traversal
from envs.regions.network import ReLUNetwork
from envs.regions.numerical import estimate_regions
from envs.regions.tropical import monomial_counts


def load_data(seed: int) -> tuple[torch.Tensor, ...]:
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = torch.as_tensor(digits.data / 8.0 - 1.0, dtype=torch.float32)
    y = torch.as_tensor(digits.target, dtype=torch.long)
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    split = int(0.8 * len(y))
    return x[order[:split]], y[order[:split]], x[order[split:]], y[order[split:]]


def train_classifier(hidden: Sequence[int], seed: int, epochs: int) -> tuple[ReLUNetwork, float]:
    """Train ``[64, *hidden, 10]`` on the digits; return the network and its test accuracy."""
    x_train, y_train, x_test, y_test = load_data(seed)
    torch.manual_seed(seed)
    sizes = [64, *hidden, 10]
    layers: list[torch.nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        layers.append(torch.nn.Linear(fan_in, fan_out))
        if index < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimiser = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(epochs):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(x_train), y_train).backward()
        optimiser.step()
    with torch.no_grad():
        accuracy = float((model(x_test).argmax(dim=1) == y_test).float().mean())
    return ReLUNetwork.from_sequential(model), accuracy


def train(width: int, seed: int, epochs: int) -> tuple[ReLUNetwork, float]:
    """Train ``[64, width, 10]`` on the digits (see :func:`train_classifier`)."""
    return train_classifier([width], seed, epochs)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--widths", type=int_list, default="4,6,8,10,12")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument(
        "--monomials-up-to",
        type=int,
        default=8,
        help="compute (pruned) monomial counts only for w <= this",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    import sklearn

    widths = list(args.widths)
    fields = [
        "width",
        "seed",
        "test_accuracy",
        "regions_R64",
        "seconds_R64",
        "cells_R64",
        "regions_data_cube",
        "seconds_data_cube",
        "numerical_cube_N5000",
        "native_monomials",
        "pruned_monomials",
        "sklearn_version",
    ]
    runs = ResumableCSV(args.output / "digits.csv", fields, ["width", "seed"])
    for width in tqdm(widths, desc="digits"):
        if runs.has(width=width, seed=args.seed):
            continue
        network, accuracy = train(width, args.seed, args.epochs)
        full = count_regions_traversal(network)
        cube = count_regions_traversal(network, box_radius=1.0)
        numerical = estimate_regions(network, 5000, 1.0, seed=args.seed)
        row = {
            "width": width,
            "seed": args.seed,
            "test_accuracy": f"{accuracy:.4f}",
            "regions_R64": full.count,
            "seconds_R64": f"{full.seconds:.3f}",
            "cells_R64": full.num_cells,
            "regions_data_cube": cube.count,
            "seconds_data_cube": f"{cube.seconds:.3f}",
            "numerical_cube_N5000": int(numerical.count),
            "sklearn_version": sklearn.__version__,
        }
        if width <= args.monomials_up_to:
            counts = monomial_counts(network, native=True)
            row["native_monomials"] = counts["native_total"]
            row["pruned_monomials"] = counts["monomial_complexity"]
        runs.append(row)
    print("w | test acc | regions R^64 | s | regions in data cube | s | numerical (cube, N=5000)")
    for r in runs.rows:
        print(
            f"{r['width']} | {r['test_accuracy']} | {r['regions_R64']} | {r['seconds_R64']} | "
            f"{r['regions_data_cube']} | {r['seconds_data_cube']} | {r['numerical_cube_N5000']}"
        )
    _plot(runs.rows, args.output / "digits.png")
    return runs.rows


def _plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sorted(rows, key=lambda r: int(r["width"]))
    widths = [int(r["width"]) for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(widths, [int(r["regions_R64"]) for r in rows], "o-", label="exact, all of R^64")
    ax.plot(
        widths,
        [int(r["regions_data_cube"]) for r in rows],
        "s-",
        label="exact, data cube [-1,1]^64",
    )
    ax.plot(
        widths,
        [int(r["numerical_cube_N5000"]) for r in rows],
        "^-",
        label="numerical, cube, N=5000",
    )
    ax.set_yscale("log")
    ax.set_xlabel("hidden width w of [64, w, 10]")
    ax.set_ylabel("linear regions")
    ax.legend()
    save_figure(fig, path)


if __name__ == "__main__":
    run_cli(main)
