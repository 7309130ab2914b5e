"""``python agents/train_dqn.py`` reports bad input as one ``error:`` line with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agents.train_dqn import main
from envs.cli import run_cli

ROOT = Path(__file__).resolve().parents[2]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv)
    return int(exit_info.value.code), capsys.readouterr().err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--config", "configs/no_such.yaml"], "no such config file"),
        (
            ["--config", "configs/dqn_cpu.yaml", "--override", "no_such_key=1"],
            "unknown config keys",
        ),
        (["--config", "configs/dqn_cpu.yaml", "--override", "width=abc"], "'width' expects int"),
        (["--config", "configs/dqn_cpu.yaml", "--override", "width"], "key=value"),
        (
            [
                "--config",
                "configs/dqn_cpu.yaml",
                "--override",
                "eval_every=6",
                "checkpoint_every=6",
                "train_freq=4",
            ],
            "eval_every must be a multiple of train_freq",
        ),
        (["--config", "configs/dqn_cpu.yaml", "--override", "n_envs=0"], "n_envs must be positive"),
        (["--config", "configs/dqn_cpu.yaml", "--override", "train_ns=[]"], "train_ns"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_bad_input_is_one_line_and_status_2(argv, message, capsys) -> None:
    status, err = run(argv, capsys)
    assert status == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_resume_without_checkpoint(tmp_path: Path, capsys) -> None:
    argv = [
        "--config",
        "configs/dqn_cpu.yaml",
        "--resume",
        "--override",
        f"run_dir={tmp_path / 'r'}",
    ]
    status, err = run(argv, capsys)
    assert status == 2 and "--resume: no checkpoint" in err


def test_script_entry_point_reports_usage_errors() -> None:
    """``python agents/train_dqn.py`` (the user's command) goes through run_cli too."""
    result = subprocess.run(
        [
            sys.executable,
            "agents/train_dqn.py",
            "--config",
            "configs/dqn_cpu.yaml",
            "--override",
            "width=abc",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert (
        result.stderr.strip().splitlines()[-1].startswith("error: config key 'width' expects int")
    )
