"""Checkpointed CSV writing shared by the region experiment scripts."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

DEFAULT_OUTPUT = Path("results/regions")


class ResumableCSV:
    """Append rows to a CSV; rows whose key columns are already present are skipped on resume."""

    def __init__(
        self, path: Path, fieldnames: list[str], key_fields: Iterable[str], resume: bool = True
    ):
        self.path = Path(path)
        self.fieldnames = fieldnames
        self.key_fields = list(key_fields)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[tuple[str, ...]] = set()
        self.rows: list[dict[str, str]] = []
        if resume and self.path.exists():
            with open(self.path, newline="") as handle:
                reader = csv.DictReader(handle)
                if reader.fieldnames == fieldnames:
                    for row in reader:
                        self.rows.append(row)
                        self.done.add(self._key(row))
        if not self.rows:
            with open(self.path, "w", newline="") as handle:
                csv.DictWriter(handle, fieldnames=fieldnames).writeheader()

    def _key(self, row: dict) -> tuple[str, ...]:
        return tuple(str(row[k]) for k in self.key_fields)

    def has(self, **key) -> bool:
        return self._key(key) in self.done

    def append(self, row: dict) -> None:
        row = {k: row.get(k, "") for k in self.fieldnames}
        with open(self.path, "a", newline="") as handle:
            csv.DictWriter(handle, fieldnames=self.fieldnames).writerow(row)
        self.rows.append({k: str(v) for k, v in row.items()})
        self.done.add(self._key(row))


def write_csv(path: Path, rows: list[dict], fieldnames: list[str] | None = None) -> None:
    """Write rows (overwriting)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fieldnames = fieldnames or list(rows[0])
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fieldnames)
        writer.writeheader()
        writer.writerows(rows)


def save_figure(fig, path: Path) -> None:
    """Lay out, save as PNG (120 dpi) and close a matplotlib figure."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
