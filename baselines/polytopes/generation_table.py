"""The paper's result tables for a file of generated samples (Nødland 2021, Section 5).

    python -m baselines.polytopes.generation_table --samples FILE --d D [--paper transformer]
        [--train-split half_a --seed S] [--embedding negated --row-order shuffled
        --encoding-seed 0] [--representation vertices] [--workers 2] [--time-limit T]
        [--out DIR] [--label NAME]

``FILE`` holds one matrix per blank-line-separated block (the format of
``python -m envs.polytopes.check``); a block that does not parse, or whose dimension is
not ``D``, counts as not parseable (never dropped). Every sample is checked exactly
(:func:`envs.polytopes.batch.check_many`, normality ``auto``: smooth reflexive d <= 8 is
normal by the classification, everything else computed under ``--time-limit``); a
property that could not be determined is counted as *unknown*, not as false. Non-compact
samples count as not normal, as in the paper.

Printed and written (``<out>/<label>.csv``, ``<label>.json``, ``<label>_samples.jsonl``):

* Table 1/4/7/8: samples with each property and with all of them (+ unknown counts);
* Table 3/5: the intersections compact+lattice, compact+lattice+normal, compact+not smooth,
  compact+lattice+not smooth;
* Table 2: among correct samples, exact copies and row permutations of their dataset
  representative (as the training data encoded it: ``--embedding``, ``--row-order``,
  ``--encoding-seed``), and the other lattice-equivalent ones;
* Table 6 / half-7d: with ``--train-split``, the share of identified correct samples (and of
  copies/permutations) from the half the model was trained on;
* added: every correct sample identified up to lattice equivalence
  (:class:`envs.polytopes.identify.DatasetIndex`), the number of distinct lattice classes,
  the classes never seen in training, and samples with repeated or redundant rows.

``--paper`` puts the paper's numbers beside ours (``n/a`` where the paper has none):
lstm1, lstm2, transformer, baseline (Tables 1-3, d = 8, full data); half-lstm1,
half-lstm2, half-transformer (Tables 4-6); half7-transformer (7-d half, 319 correct, 179 in
the trained half); hull-lstm2, hull-transformer (Table 7, vertices); subset-lstm2,
subset-transformer (Table 8). The d = 8 lattice keys do not ship: the first d = 8
identification computes them (about 9 CPU-minutes over all cores, then cached; or ahead
of time, ``python -m envs.polytopes.dataset derive --dims 8 --fields keys``). Without the
dataset files (a stripped package) identification is reported as not done and the checks
still run.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from envs.cli import UsageError, UsageParser, run_cli
from envs.parallel import add_executor_arguments, validate_executor_arguments
from envs.polytopes import identify, tokens
from envs.polytopes.check import add_limit_arguments, check_file
from envs.polytopes.properties import ALL_PROPERTIES, PropertyReport

_T123 = ("all", "compact", "lattice", "smooth", "normal", "copy", "permutation")
_T3 = ("compact+lattice", "compact+lattice+normal", "compact+not smooth",
       "compact+lattice+not smooth")  # fmt: skip


def _full(values: Sequence[Any], t3: Sequence[Any]) -> dict[str, Any]:
    return dict(zip(_T123 + _T3, tuple(values) + tuple(t3), strict=True))


# The paper's numbers (out of 1000 generated samples each).
PAPER: dict[str, dict[str, Any]] = {
    "lstm1": _full((238, 827, 712, 270, 590, 0, 36), (590, 590, 589, 352)),
    "lstm2": _full((260, 840, 722, 304, 613, 0, 58), (613, 613, 580, 353)),
    "transformer": _full((404, 909, 832, 440, 755, 0, 77), (755, 755, 505, 351)),
    "baseline": _full((2, 21, 412, 178, 2, 0, 0), (2, 2, 19, 0)),
    "half-lstm1": {
        **dict(zip(_T123[:5] + _T3, (187, 783, 667, 237, 522, 522, 522, 596, 335), strict=True)),
        "permutation_in_trained_half": "15/28",
    },
    "half-lstm2": {
        **dict(zip(_T123[:5] + _T3, (244, 834, 706, 282, 590, 590, 590, 590, 346), strict=True)),
        "permutation_in_trained_half": "16/37",
    },
    "half-transformer": {
        **dict(zip(_T123[:5] + _T3, (361, 908, 851, 396, 772, 772, 772, 547, 411), strict=True)),
        "permutation_in_trained_half": "42/73",
    },
    "half7-transformer": {"all": 319, "identified_in_trained_half": "179/319"},
    "hull-lstm2": {"all": 7, "reflexive": 7, "smooth": 7, "normal": 27},
    "hull-transformer": {"all": 285, "reflexive": 285, "smooth": 286, "normal": 410},
    "subset-lstm2": {"all": 216, "compact": 660, "lattice": 616, "smooth": 288, "normal": 421},
    "subset-transformer": {
        "all": 547,
        "compact": 909,
        "lattice": 850,
        "smooth": 583,
        "normal": 784,
    },  # fmt: skip
}


def count_properties(reports: Sequence[PropertyReport], representation: str) -> list[dict]:
    """Rows ``{table, quantity, count, unknown}`` of Tables 1/3 (4/5, 7, 8)."""
    rows: list[dict] = [{"table": "1", "quantity": "total", "count": len(reports)}]
    parseable = [r for r in reports if r.parseable]
    rows.append({"table": "1", "quantity": "parseable", "count": len(parseable)})
    rows.append(
        {
            "table": "1",
            "quantity": "all",
            "count": sum(r.all is True for r in reports),
            "unknown": sum(r.all is None for r in reports),
        }
    )
    names = ("compact", "lattice", "reflexive", "smooth", "normal")
    for name in names if representation == "hyperplane" else ALL_PROPERTIES["vertices"]:
        rows.append(
            {
                "table": "1",
                "quantity": name,
                "count": sum(getattr(r, name) is True for r in parseable),
                "unknown": sum(getattr(r, name) is None for r in parseable),
            }
        )
    if representation == "hyperplane":
        compact = [r for r in parseable if r.compact]
        lattice = [r for r in compact if r.lattice]
        intersections = {
            "compact+lattice": (
                len(lattice),
                sum(r.compact is None or (r.compact and r.lattice is None) for r in parseable),
            ),
            "compact+lattice+normal": (
                sum(r.normal is True for r in lattice),
                sum(r.normal is None for r in lattice),
            ),
            "compact+not smooth": (
                sum(r.smooth is False for r in compact),
                sum(r.smooth is None for r in compact),
            ),
            "compact+lattice+not smooth": (
                sum(r.smooth is False for r in lattice),
                sum(r.smooth is None for r in lattice),
            ),
        }
        for name, (count, unknown) in intersections.items():
            rows.append({"table": "3", "quantity": name, "count": count, "unknown": unknown})
    rows.append(
        {
            "table": "added",
            "quantity": "repeated or redundant rows",
            "count": sum(r.irredundant is False for r in parseable),
        }
    )
    return rows


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole}" + (f" = {100 * part / whole:.1f} %" if whole else "")


def identification_rows(
    identifications: Sequence[identify.Identification], train_split: str | None
) -> list[dict]:
    """Rows of Table 2, Table 6 and the added lattice-class counts for the correct samples."""
    statuses = Counter(ident.status for ident in identifications)
    n_valid = len(identifications)
    rows = [{"table": "2", "quantity": "correct samples identified", "count": n_valid}]
    for status in identify.STATUSES:
        quantity = {"exact_copy": "copy", "row_permutation": "permutation"}.get(status, status)
        rows.append({"table": "2", "quantity": quantity, "count": statuses[status],
                     "share": _share(statuses[status], n_valid)})  # fmt: skip
    found = [ident for ident in identifications if ident.in_dataset]
    classes = {ident.index for ident in found}
    rows.append({"table": "added", "quantity": "distinct lattice classes", "count": len(classes)})
    rows.append(
        {
            "table": "added",
            "quantity": "correct samples with repeated rows",
            "count": sum(ident.repeated_rows > 0 for ident in identifications),
        }
    )
    if train_split is not None:
        in_half = sum(ident.half == train_split for ident in found)
        literal = [i for i in found if i.status in ("exact_copy", "row_permutation")]
        literal_in_half = sum(ident.half == train_split for ident in literal)
        unseen = {ident.index for ident in found if ident.half != train_split}
        rows += [
            {"table": "6", "quantity": "identified_in_trained_half", "count": in_half,
             "share": _share(in_half, len(found))},
            {"table": "6", "quantity": "permutation_in_trained_half", "count": literal_in_half,
             "share": _share(literal_in_half, len(literal))},
            {"table": "added", "quantity": "classes never seen in training",
             "count": len(unseen), "share": _share(len(unseen), len(classes))},
        ]  # fmt: skip
    return rows


def _paper_value(paper: dict[str, Any] | None, quantity: str) -> Any:
    if paper is None:
        return "n/a"
    return paper.get(quantity, "n/a")


def format_table(rows: Sequence[dict], paper_name: str | None) -> str:
    """Plain-text table: table, quantity, ours (unknown, share), paper."""
    lines = [f"{'table':<6} {'quantity':<34} {'ours':>8} {'unknown':>8}  {'share':<16} paper"]
    for row in rows:
        lines.append(
            f"{row['table']:<6} {row['quantity']:<34} {row['count']:>8} "
            f"{row.get('unknown', ''):>8}  {row.get('share', ''):<16} {row['paper']}"
        )
    if paper_name:
        lines.append(f"paper column: {paper_name} (out of 1000 samples)")
    return "\n".join(lines)


def _index(args: argparse.Namespace) -> tuple[identify.DatasetIndex | None, str | None]:
    """The dataset index, or ``None`` and the reason (dataset files missing)."""
    try:
        index = identify.DatasetIndex(
            args.d,
            seed=args.seed,
            embedding=args.embedding,
            row_order=args.row_order,
            encoding_seed=args.encoding_seed,
            representation=args.representation,
        )
    except FileNotFoundError:
        return None, (
            f"not identified: d={args.d} dataset files missing "
            f"(python -m envs.polytopes.dataset build --dims {args.d} --source DIR)"
        )
    except ValueError as error:
        raise UsageError(str(error)) from None
    return index, None


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Check and identify every sample; write CSV, JSON and per-sample JSONL."""
    blocks, reports = check_file(args.samples, args)
    for report in reports:
        if report.parseable and report.dimension != args.d:
            report.parseable = False
            report.reason = f"not parseable: dimension {report.dimension}, expected {args.d}"
    rows = count_properties(reports, args.representation)
    index, note = _index(args)
    identifications: dict[int, identify.Identification] = {}
    if index is not None:
        valid = [i for i, report in enumerate(reports) if report.all is True]
        for i in tqdm(valid, desc="identifying", unit="sample", disable=args.no_progress):
            identifications[i] = index.identify(blocks[i], report=reports[i])
        rows += identification_rows(list(identifications.values()), args.train_split)
    paper = PAPER.get(args.paper) if args.paper else None
    for row in rows:
        row["paper"] = _paper_value(paper, row["quantity"])
    label = args.label or Path(args.samples).stem
    result = {
        "label": label,
        "samples": str(args.samples),
        "d": args.d,
        "representation": args.representation,
        "normality": args.normality,
        "time_limit": args.time_limit,
        "train_split": args.train_split,
        "seed": args.seed,
        "encoding": {
            "embedding": args.embedding,
            "row_order": args.row_order,
            "encoding_seed": args.encoding_seed,
        },  # fmt: skip
        "paper": args.paper,
        "identification": note or "done",
        "rows": rows,
        "counts": {row["quantity"]: row["count"] for row in rows},
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(result, indent=1) + "\n")
    with open(out / f"{label}.csv", "w", newline="") as handle:
        fields = ["table", "quantity", "count", "unknown", "share", "paper"]
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    with open(out / f"{label}_samples.jsonl", "w") as handle:
        for i, report in enumerate(reports):
            record = {"sample": i, **report.to_dict()}
            if i in identifications:
                record["identification"] = identifications[i].to_dict()
            handle.write(json.dumps(record) + "\n")
    print(format_table(rows, args.paper))
    if note:
        print(note)
    print(f"wrote {out / label}.csv, .json, _samples.jsonl")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = UsageParser(
        prog="python -m baselines.polytopes.generation_table",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--samples", required=True, help="file of generated matrices")
    parser.add_argument("--d", type=int, required=True, help="dimension of the samples")
    parser.add_argument(
        "--representation", choices=("hyperplane", "vertices"), default="hyperplane"
    )
    parser.add_argument("--train-split", choices=("half_a", "half_b"), default=None)
    parser.add_argument("--seed", type=int, default=0, help="seed of the dataset halves")
    parser.add_argument(
        "--embedding", choices=tokens.EMBEDDINGS, default="special", help="of the training data"
    )
    parser.add_argument(
        "--row-order", choices=tokens.ROW_ORDERS, default="stored", help="of the training data"
    )
    parser.add_argument("--encoding-seed", type=int, default=0)
    parser.add_argument("--paper", choices=sorted(PAPER), default=None)
    add_executor_arguments(parser, workers=2)
    add_limit_arguments(parser)
    parser.add_argument("--out", default="results/polytopes")
    parser.add_argument("--label", default=None, help="output file stem (default: FILE's)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    validate_executor_arguments(args)
    if not 1 <= args.d <= 10:
        raise UsageError(f"--d must be in 1..10, got {args.d}")
    run(args)
    return 0


if __name__ == "__main__":
    run_cli(main)
