"""``baselines.polytopes.generation_table`` on a hand-made d = 4 sample file."""

from __future__ import annotations

import json

import numpy as np
import pytest

from baselines.polytopes import generation_table
from envs.polytopes import dataset


def _block(rows: np.ndarray | list) -> str:
    return "\n".join(" ".join(str(int(v)) for v in row) for row in rows)


def _samples() -> list[str]:
    rows = dataset.load(4)
    permuted = rows[2][::-1]
    assert not np.array_equal(permuted, rows[2])
    shear = np.eye(4, dtype=np.int64)
    shear[0, 1] = 1
    non_lattice = [[2, 0, 0, 0], [-2, 0, 0, 0]] + [
        [int(i == j) * s for j in range(4)] for i in (1, 2, 3) for s in (1, -1)
    ]
    diamond_square = [
        [1, 1, 0, 0], [-1, 1, 0, 0], [1, -1, 0, 0], [-1, -1, 0, 0],
        [0, 0, 1, 0], [0, 0, -1, 0], [0, 0, 0, 1], [0, 0, 0, -1],
    ]  # fmt: skip
    return [
        _block(rows[0]),  # exact copy
        _block(rows[1]),  # exact copy
        _block(permuted),  # row permutation
        _block(rows[3] @ shear),  # lattice equivalent (re-embedded)
        _block(np.eye(4, dtype=np.int64)),  # not compact
        _block(non_lattice),  # compact, not lattice
        "1 x 0 0\n0 1 0 0",  # not parseable
        _block(np.vstack([rows[4], rows[4][:1]])),  # copy with a repeated row
        _block(np.eye(3, dtype=np.int64)),  # wrong dimension: counted as not parseable
        _block(diamond_square),  # compact, lattice, normal, not smooth
    ]


def _run(tmp_path, *extra: str, d: int = 4, text: str | None = None) -> dict:
    path = tmp_path / "samples.txt"
    path.write_text(text if text is not None else "\n\n".join(_samples()) + "\n")
    argv = ["--samples", str(path), "--d", str(d), "--workers", "1", "--no-progress"]
    assert generation_table.main([*argv, "--out", str(tmp_path / "out"), *extra]) == 0
    return json.loads((tmp_path / "out" / "samples.json").read_text())


def test_counts_on_hand_made_file(tmp_path) -> None:
    result = _run(tmp_path, "--train-split", "half_a", "--paper", "transformer")
    counts = result["counts"]
    expected = {
        "total": 10,
        "parseable": 8,
        "all": 5,
        "compact": 7,
        "lattice": 6,
        "reflexive": 6,
        "smooth": 5,
        "normal": 6,
        "compact+lattice": 6,
        "compact+lattice+normal": 6,
        "compact+not smooth": 2,
        "compact+lattice+not smooth": 1,
        "repeated or redundant rows": 1,
        "correct samples identified": 5,
        "copy": 3,
        "permutation": 1,
        "lattice_equivalent": 1,
        "not_in_dataset": 0,
        "invalid": 0,
        "distinct lattice classes": 5,
        "correct samples with repeated rows": 1,
    }
    assert {key: counts[key] for key in expected} == expected
    half_a, _ = dataset.split_indices(124, 0)
    in_half = sum(int(i in set(half_a.tolist())) for i in range(5))
    assert counts["identified_in_trained_half"] == in_half
    assert counts["classes never seen in training"] == 5 - in_half
    rows = {row["quantity"]: row for row in result["rows"]}
    assert rows["all"]["paper"] == 404 and rows["all"]["unknown"] == 0
    assert rows["invalid"]["paper"] == "n/a"
    lines = (tmp_path / "out" / "samples_samples.jsonl").read_text().splitlines()
    assert len(lines) == 10 and json.loads(lines[7])["identification"]["repeated_rows"] == 1
    assert (tmp_path / "out" / "samples.csv").read_text().startswith("table,quantity,count")


def test_missing_dataset_is_reported_not_fatal(
    tmp_path, monkeypatch, capsys, figure_1_left
) -> None:
    monkeypatch.setenv("POLYGYM_POLYTOPE_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(dataset, "PACKAGE_DATA_DIR", tmp_path / "stripped-package")
    cube = np.vstack([np.eye(8, dtype=np.int64), -np.eye(8, dtype=np.int64)])
    # Exact normality of the paper's Figure 1 polytope takes ~40 s: past a 1 s limit it is
    # unknown, and so is "all" (not False).
    text = _block(cube) + "\n\n" + figure_1_left
    argv = ("--paper", "lstm2", "--normality", "exact", "--time-limit", "1")
    result = _run(tmp_path, *argv, d=8, text=text)
    assert result["identification"].startswith("not identified: d=8 dataset files missing")
    assert "--dims 8" in result["identification"]
    rows = {row["quantity"]: row for row in result["rows"]}
    assert (rows["all"]["count"], rows["all"]["unknown"]) == (1, 1)
    assert (rows["normal"]["count"], rows["normal"]["unknown"]) == (1, 1)
    assert rows["compact+lattice+normal"]["unknown"] == 1 and rows["all"]["paper"] == 260
    assert "copy" not in result["counts"]
    assert "not identified" in capsys.readouterr().out


def test_usage_errors(tmp_path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        generation_table.run_cli(
            generation_table.main, ["--samples", str(tmp_path / "missing.txt"), "--d", "4"]
        )
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")
