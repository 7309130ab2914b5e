"""agents.evaluate: bad input is one line and exit 2; agent_beam rows are certified, with LP solves."""

from __future__ import annotations

import csv
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import agents.evaluate as evaluate_module
from agents.evaluate import evaluate, main
from envs.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT = ROOT / "checkpoints" / "dqn_cpu_dagger.zip"


def _run(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err
    return int(info.value.code), err


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return ["--n", "6", "--graphs", "1", "--out", str(tmp_path / "e.csv"), *extra]


def test_missing_checkpoint(tmp_path, capsys) -> None:
    code, err = _run(_args(tmp_path, "--checkpoint", str(tmp_path / "none.zip")), capsys)
    assert code == 2 and "none.zip not found" in err


def test_missing_default_checkpoint_says_what_to_give(tmp_path, capsys, monkeypatch) -> None:
    missing = str(tmp_path / "polyproof_dqn.zip")
    monkeypatch.setattr(evaluate_module, "DEFAULT_CHECKPOINT", missing)
    code, err = _run(_args(tmp_path, "--methods", "agent"), capsys)
    assert code == 2 and "not shipped yet" in err and "dqn_cpu_dagger.zip" in err


def test_default_checkpoint_is_the_main_prover() -> None:
    assert evaluate_module.DEFAULT_CHECKPOINT == "checkpoints/polyproof_dqn.zip"


@pytest.mark.parametrize("content", ["text", "zip"])
def test_checkpoint_not_a_model(tmp_path, capsys, content) -> None:
    path = tmp_path / "model.zip"
    if content == "text":
        path.write_text("not a zip", encoding="utf-8")
        expected = "is not a model .zip"
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hello")
        expected = "is not a ProofDQN model"
    code, err = _run(_args(tmp_path, "--checkpoint", str(path), "--methods", "agent"), capsys)
    assert code == 2 and expected in err


@pytest.mark.parametrize("method", ["foo", "agent_beam:0", "sherali_adams:x"])
def test_unknown_method_lists_agent_choices(tmp_path, capsys, method) -> None:
    code, err = _run(_args(tmp_path, "--methods", "clique_cover", method), capsys)
    assert code == 2 and repr(method) in err
    for choice in ("agent,", "agent_beam:<width>", "clique_cover", "sherali_adams:<level>"):
        assert choice in err


def test_baselines_need_no_checkpoint(tmp_path, capsys) -> None:
    argv = _args(tmp_path, "--checkpoint", str(tmp_path / "none.zip"), "--methods", "alpha")
    with pytest.raises(SystemExit) as info:
        run_cli(main, argv)
    assert info.value.code == 0


@pytest.mark.slow  # two interpreter starts importing torch
def test_shell_error_and_debug(tmp_path) -> None:
    cmd = [sys.executable, "-m", "agents.evaluate", "--methods", "foo"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: unknown method 'foo'")
    debug = subprocess.run(cmd + ["--debug"], cwd=ROOT, capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


@pytest.mark.usefixtures("one_torch_thread")
def test_agent_and_beam_rows_are_certified(tmp_path) -> None:
    out = tmp_path / "eval.csv"
    methods = ("agent", "agent_beam:2", "clique_cover", "alpha")
    summary = evaluate(
        CHECKPOINT, ns=[8], graphs=2, methods=methods, out=out, max_steps=20, progress=False
    )
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 8
    for row in rows:
        if row["method"].startswith("agent"):
            assert row["status"] == "ok" and row["certificate_valid"] == "True"
            assert row["sound"] == "True" and int(row["lp_solves"]) >= 1
    beam = [r for r in rows if r["method"] == "agent_beam:2"]
    greedy = [r for r in rows if r["method"] == "agent"]
    assert sum(int(r["lp_solves"]) for r in beam) > sum(int(r["lp_solves"]) for r in greedy)
    by_method = {s["method"]: s for s in summary}
    entry = by_method["agent_beam:2"]
    assert (
        entry["wins_vs_clique_cover"]
        + entry["ties_vs_clique_cover"]
        + entry["losses_vs_clique_cover"]
        == 2
    )
    assert entry["mean_lp_solves"] > 0
    # resuming recomputes nothing
    evaluate(CHECKPOINT, ns=[8], graphs=2, methods=methods, out=out, max_steps=20, progress=False)
    with out.open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 8
