"""Per-graph win/tie/loss against clique cover from ``agents.evaluate`` CSVs."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.dqn.head_to_head import head_to_head, main
from envs.cli import UsageError

HEADER = "seed,n,graph,alpha,method,status,bound_exact\n"
ROWS = [
    "0,15,0,3,agent,ok,3", "0,15,0,3,clique_cover,ok,10/3",  # win
    "0,15,1,3,agent,ok,4", "0,15,1,3,clique_cover,ok,4",  # tie
    "0,15,2,4,agent,ok,5", "0,15,2,4,clique_cover,ok,9/2",  # loss
    "0,15,3,4,agent,lp_error,", "0,15,3,4,clique_cover,ok,4",  # not comparable
]  # fmt: skip


def test_counts_and_means(tmp_path: Path) -> None:
    path = tmp_path / "e.csv"
    path.write_text(HEADER + "\n".join(ROWS) + "\n")
    (row,) = head_to_head(path)
    assert (row["graphs"], row["win"], row["tie"], row["loss"]) == (3, 1, 1, 1)
    assert row["agent"] == 4.0 and row["clique_cover"] == pytest.approx(
        (10 / 3 + 4 + 4.5) / 3, abs=1e-3
    )
    assert main([str(path), "--out", str(tmp_path / "t.csv")]) == 0
    with pytest.raises(UsageError, match="no such file"):
        main([str(tmp_path / "missing.csv")])
