"""The Table 1 benchmark's rows: CSV columns, resumable writing and reading, streaming
per-graph tasks through :mod:`envs.parallel`, and the summary table (used by
:mod:`baselines.benchmark` and :mod:`agents.evaluate`)."""

from __future__ import annotations

import csv
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from envs.parallel import TaskOutcome, run_tasks

FIELDS = (
    "seed",
    "n",
    "graph",
    "p",
    "edges",
    "alpha",
    "method",
    "status",
    "bound",
    "bound_exact",
    "certificate_valid",
    "sound",
    "lp_columns",
    "lp_rows",
    "generators",
    "proof_steps",
    "build_seconds",
    "solve_seconds",
    "seconds",
    "message",
)
STATUSES = ("ok", "reference", "skipped_memory", "lp_error", "certificate_failed", "error")



# ---------------------------------------------------------------------------------------
# CSV, resume, summary
# ---------------------------------------------------------------------------------------
def write_rows(
    path: Path,
    rows: Iterable[dict[str, Any]],
    methods: Sequence[str],
    fields: Sequence[str] = FIELDS,
) -> None:
    """Rewrite the CSV (columns ``fields``) with ``rows`` sorted by seed, n, graph and
    position in ``methods``.

    The order depends only on the rows, not on the order they finished in (other methods
    keep their order, after these). Written to a temporary file and renamed: atomic.
    """
    position = {spec: k for k, spec in enumerate(methods)}

    def key(row: dict[str, Any]) -> tuple[int, int, int, int]:
        seed, n, graph, method = row_key(row)
        return seed, n, graph, position.get(method, len(position))

    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields))
        writer.writeheader()
        writer.writerows({k: row.get(k, "") for k in fields} for row in sorted(rows, key=key))
    os.replace(temporary, path)


def read_rows(path: Path, fields: Sequence[str] = FIELDS) -> list[dict[str, str]]:
    """The rows of an earlier run at ``path`` (a partial last line dropped); columns checked."""
    if not path.exists() or path.stat().st_size == 0:
        return []
    text = path.read_text(encoding="utf-8")
    if not text.endswith("\n"):  # a run killed mid-write: drop the partial last line
        path.write_text(text[: text.rfind("\n") + 1], encoding="utf-8")
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or list(reader.fieldnames) != list(fields):
            raise ValueError(
                f"{path} exists with different columns; choose another --out or use --no-resume"
            )
        return list(reader)


def row_key(row: dict[str, Any]) -> tuple[int, int, int, str]:
    return int(row["seed"]), int(row["n"]), int(row["graph"]), str(row["method"])


def prepare_run(
    out: str | Path,
    resume: bool,
    max_steps: int,
    max_degree: int,
    time_limit: float | None,
    memory_budget: int | None,
) -> tuple[Path, list[dict[str, str]], set[tuple[int, int, int, str]], dict[str, Any]]:
    """Output path (parent created), rows already there (if resuming), their keys, method options."""
    from baselines.sherali_adams import DEFAULT_MEMORY_BUDGET

    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = read_rows(path) if resume else []
    options = {
        "max_steps": max_steps,
        "max_degree": max_degree,
        "time_limit": time_limit,
        "memory_budget": DEFAULT_MEMORY_BUDGET if memory_budget is None else memory_budget,
    }
    return path, existing, {row_key(r) for r in existing}, options


def summarize(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Means per ``(n, method)`` over rows with a certified bound (or the reference)."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(int(row["n"]), str(row["method"]))].append(row)

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    out = []
    for (n, method), items in sorted(
        groups.items(), key=lambda kv: (kv[0][0], _method_order(kv[0][1]))
    ):
        good = [r for r in items if r["status"] in ("ok", "reference")]
        out.append(
            {
                "n": n,
                "method": method,
                "graphs": len(items),
                "certified": len(good),
                "mean_bound": mean([float(r["bound"]) for r in good]),
                "mean_alpha": mean([float(r["alpha"]) for r in items if r["alpha"] != ""]),
                "mean_lp_columns": mean(
                    [float(r["lp_columns"]) for r in good if r["lp_columns"] != ""]
                ),
                "mean_lp_rows": mean([float(r["lp_rows"]) for r in good if r["lp_rows"] != ""]),
                "mean_seconds": mean([float(r["seconds"]) for r in good if r["seconds"] != ""]),
                "certificate_failed": sum(r["status"] == "certificate_failed" for r in items),
                "skipped_memory": sum(r["status"] == "skipped_memory" for r in items),
                "lp_error": sum(r["status"] == "lp_error" for r in items),
                "error": sum(r["status"] == "error" for r in items),
                "unsound": sum(str(r["sound"]) == "False" for r in items),
            }
        )
    return out


def _method_order(method: str) -> tuple[int, int]:
    name, _, arg = method.partition(":")
    order = {"alpha": 0, "clique_cover": 1, "dual_pricing": 2, "random": 3, "sherali_adams": 4}.get(
        name, 9
    )
    return order, int(arg) if arg.isdigit() else 0


def format_table(summary: list[dict[str, Any]]) -> str:
    headers = [
        "n",
        "method",
        "graphs",
        "bound",
        "alpha",
        "LP cols",
        "LP rows",
        "sec",
        "fail",
        "skip",
        "unsound",
    ]
    lines = []
    for s in summary:
        lines.append(
            [
                str(s["n"]),
                s["method"],
                f"{s['certified']}/{s['graphs']}",
                f"{s['mean_bound']:.3f}",
                f"{s['mean_alpha']:.2f}",
                "-" if math.isnan(s["mean_lp_columns"]) else f"{s['mean_lp_columns']:.4g}",
                "-" if math.isnan(s["mean_lp_rows"]) else f"{s['mean_lp_rows']:.4g}",
                "-" if math.isnan(s["mean_seconds"]) else f"{s['mean_seconds']:.3f}",
                str(s["certificate_failed"] + s["lp_error"] + s["error"]),
                str(s["skipped_memory"]),
                str(s["unsound"]),
            ]
        )
    widths = [
        max(len(h), *(len(line[k]) for line in lines)) if lines else len(h)
        for k, h in enumerate(headers)
    ]
    fmt = "  ".join(f"{{:>{w}}}" for w in widths)
    out = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line) for line in lines]
    return "\n".join(out)


def write_summary(path: Path, summary: list[dict[str, Any]]) -> None:
    if not summary:
        return
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(summary[0]))
        writer.writeheader()
        writer.writerows(summary)


def stream_graph_tasks(
    fn: Callable[[Any], list[dict[str, Any]]],
    tasks: Sequence[Any],
    path: Path,
    *,
    append: bool,
    fields: Sequence[str],
    failed: Callable[[Any, TaskOutcome], list[dict[str, Any]]],
    initial_rows: Sequence[dict[str, Any]] = (),
    desc: str,
    progress: bool = True,
    **executor: Any,
) -> list[dict[str, Any]]:
    """Run one task per graph (``fn(task)`` -> its rows) on :func:`envs.parallel.run_tasks`.

    ``initial_rows`` and then each graph's rows are appended to the CSV at ``path`` (a
    header first unless ``append``) as soon as they exist, so a killed run resumes; a task
    that still fails after its retries contributes ``failed(task, outcome)``. Returns every
    row written (callers rewrite the file in task order with :func:`write_rows`).
    ``executor``: ``backend``, ``workers``, ``address``, ``retries``, ``timeout``.
    """
    new_rows: list[dict[str, Any]] = list(initial_rows)
    with path.open("a" if append else "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(fields))
        if not append:
            writer.writeheader()
        writer.writerows(new_rows)
        handle.flush()

        def record(outcome: TaskOutcome) -> None:  # as each graph finishes (resumable)
            task = tasks[outcome.index]
            rows = outcome.value if outcome.ok else failed(task, outcome)
            writer.writerows(rows)
            handle.flush()
            new_rows.extend(rows)

        run_tasks(
            fn, tasks, desc=desc, unit="graph", progress=progress, on_result=record, **executor
        )
    return new_rows
