"""agents.evaluate through envs.parallel: the same CSV on serial, process and ray; resume.

Ray runs on one local instance for the module (``ray.init(num_cpus=2)``), skipped, with
the reason, only where Ray is not installed (``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from agents.evaluate import evaluate
from baselines.common import masked_csv

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "checkpoints" / "polyproof_dqn.zip"
METHODS = ("agent", "clique_cover", "alpha")
TIMES = ("build_seconds", "solve_seconds", "seconds")

pytestmark = pytest.mark.usefixtures("one_torch_thread")




def _run(path: Path, backend: str) -> tuple[str, str]:
    evaluate(
        CHECKPOINT,
        ns=[8],
        graphs=2,
        methods=METHODS,
        out=path,
        max_steps=10,
        progress=False,
        backend=backend,
        workers=1 if backend == "serial" else 2,
        threads=1,
    )
    rows = masked_csv(path.read_text(encoding="utf-8"), TIMES)
    summary = masked_csv(path.with_suffix(".summary.csv").read_text(), ("mean_seconds",))
    return rows, summary


@pytest.fixture(scope="module")
def serial_eval(tmp_path_factory):
    path = tmp_path_factory.mktemp("evaluate") / "serial.csv"
    return path, _run(path, "serial")


def test_serial_rows_are_certified(serial_eval) -> None:
    path, (rows, _) = serial_eval
    parsed = list(csv.DictReader(io.StringIO(rows)))
    assert [(r["graph"], r["method"]) for r in parsed] == [
        (str(g), m) for g in range(2) for m in METHODS
    ]
    for row in parsed:
        assert row["status"] == ("reference" if row["method"] == "alpha" else "ok")
        if row["method"] == "agent":
            assert row["certificate_valid"] == "True" and int(row["lp_solves"]) >= 1


@pytest.mark.parametrize("backend", ["process", "ray"], indirect=True)
def test_same_csv_on_every_backend(backend, serial_eval, tmp_path) -> None:
    _, reference = serial_eval
    assert _run(tmp_path / f"{backend}.csv", backend) == reference


def test_resume_from_half_written_csv(serial_eval, tmp_path) -> None:
    """A run killed mid-way (rows missing, a half-written line) resumes to the same file."""
    serial_path, reference = serial_eval
    lines = serial_path.read_text(encoding="utf-8").splitlines(keepends=True)
    partial = tmp_path / "partial.csv"
    partial.write_text("".join(lines[:3]) + lines[3][:10], encoding="utf-8")
    assert _run(partial, "serial") == reference


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--workers", "0"], "--workers must be >= 1"),
        (["--retries", "-1"], "--retries must be >= 0"),
        (["--task-timeout", "0"], "--task-timeout must be > 0"),
        (["--threads", "-1"], "--threads must be >= 0"),
    ],
)
def test_bad_executor_options_are_one_line(tmp_path, capsys, extra, expected) -> None:
    from agents.evaluate import main
    from envs.cli import run_cli

    argv = ["--n", "6", "--graphs", "1", "--methods", "alpha", "--out", str(tmp_path / "e.csv")]
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv + extra)
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1 and expected in err


def test_cli_runs_on_process_backend(tmp_path, capsys) -> None:
    from agents.evaluate import main
    from envs.cli import run_cli

    out = tmp_path / "e.csv"
    argv = ["--n", "6", "--graphs", "2", "--methods", "clique_cover", "alpha", "--out", str(out)]
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv + ["--backend", "process", "--workers", "2", "--threads", "1"])
    assert info.value.code == 0
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    assert [(r["graph"], r["method"]) for r in rows] == [
        (g, m) for g in "01" for m in ("clique_cover", "alpha")
    ]
