"""Result type shared by every PolyProof baseline."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from envs.polyproof.proof import Proof


@dataclass
class BoundResult:
    """An upper bound from one method on one problem, backed by an exact proof.

    ``bound_exact`` is the certified rational bound; ``bound`` its float value.
    ``lp_columns`` / ``lp_rows`` are the LP size in which the proof was sought.
    """

    method: str
    bound: float
    bound_exact: Fraction
    proof: Proof | None
    lp_columns: int
    lp_rows: int
    build_seconds: float = 0.0
    solve_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        """A flat dict for CSV/JSON tables (no proof object)."""
        out = {
            "method": self.method,
            "bound": self.bound,
            "bound_exact": str(self.bound_exact),
            "lp_columns": self.lp_columns,
            "lp_rows": self.lp_rows,
            "build_seconds": round(self.build_seconds, 6),
            "solve_seconds": round(self.solve_seconds, 6),
        }
        out.update(self.extra)
        return out


def masked_csv(text: str, columns: Sequence[str]) -> str:
    """CSV ``text`` with ``columns`` blanked, e.g. wall-clock columns when comparing runs."""
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, "empty CSV"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: ("" if k in columns else v) for k, v in row.items()} for row in rows)
    return out.getvalue()
