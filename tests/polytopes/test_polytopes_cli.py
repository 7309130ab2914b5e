"""CLI ``python -m envs.polytopes.check``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from envs.polytopes.check import main, read_blocks

REPO = Path(__file__).resolve().parents[2]


def test_read_blocks() -> None:
    assert read_blocks("1 0\n0 1\n\n\n2 3\n  \n4") == ["1 0\n0 1", "2 3", "4"]
    assert read_blocks("\n\n") == []


def test_cli_json_lines(tmp_path, capsys) -> None:
    path = tmp_path / "matrices.txt"
    path.write_text(
        "0 1\n0 -1\n-1 0\n1 0\n1 -1\n-1 1\n\n1 0\n0 1\n\n1 x\n\n1 1\n-1 1\n1 -1\n-1 -1\n"
    )
    assert main([str(path), "--workers", "1", "--no-progress", "--summary"]) == 0
    captured = capsys.readouterr()
    records = [json.loads(line) for line in captured.out.splitlines()]
    assert [r["block"] for r in records] == [0, 1, 2, 3]
    assert records[0]["all"] is True
    assert records[1]["compact"] is False and records[1]["reason"].startswith("not compact")
    assert records[2]["parseable"] is False
    assert records[3]["lattice"] is True and records[3]["smooth"] is False
    assert json.loads(captured.err.strip().splitlines()[-1])["all"] == 1


def test_cli_subprocess_vertices(tmp_path) -> None:
    path = tmp_path / "v.txt"
    path.write_text("1 0\n0 1\n-1 -1\n\n1 0\n1 1\n0 1\n-1 0\n-1 -1\n0 -1\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "envs.polytopes.check",
            str(path),
            "--representation",
            "vertices",
            "--no-progress",
            "--workers",
            "2",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
        check=True,
    )
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["smooth"] for r in records] == [False, True]
    assert records[1]["all"] is True
