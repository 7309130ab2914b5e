"""train_sequence.py: smoke training, exact resume, exports, the sample CLI, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from agents.sequence import load_model
from agents.sequence.data import augmented_tokens, load_token_dataset, make_tokenizer
from agents.train_sequence import load_args, train
from envs.polytopes import dataset
from envs.polytopes.tokens import Tokenizer

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _token_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLYGYM_POLYTOPE_CACHE", str(tmp_path / "cache"))


def _args(run_dir: Path, *overrides: str):
    base = [
        "d=4",
        "batch_size=16",
        "epochs=1",
        "num_threads=1",
        "device=cpu",
        "val_fraction=0.1",
        "log_every=2",
    ]
    return load_args(None, [*base, *overrides], str(run_dir))


def test_token_dataset_is_cached_and_matches_the_tokenizer(tmp_path: Path) -> None:
    first = load_token_dataset(5, split="half_a")
    files = list((tmp_path / "cache" / "tokens").glob("*.npz"))
    assert len(files) == 1
    again = load_token_dataset(5, split="half_a")
    assert torch.equal(first, again) and first.dtype == torch.long
    assert len(first) == 433
    tokenizer = Tokenizer(5)
    for row in first[:20]:
        tokenizer.decode(row.numpy())
    short = load_token_dataset(5, "vertices", max_tokens=200)
    assert int((short != 0).sum(dim=1).max()) < 200
    limited = make_tokenizer(5, "vertices", max_tokens=200)
    assert limited.max_length < 200 and limited.row_limit == 32


def test_one_epoch_smoke_writes_checkpoint_and_export(tmp_path: Path) -> None:
    run = tmp_path / "run"
    result = train(_args(run, "model=transformer"), quiet=True)
    row = result["history"][0]
    assert row["epoch"] == 1 and np.isfinite(row["train_loss"]) and np.isfinite(row["val_loss"])
    for name in ("checkpoint.pt", "model.pt", "history.csv", "config.yaml"):
        assert (run / name).exists()
    assert list((run / "tb").iterdir())
    model, tokenizer, info = load_model(run / "model.pt")
    assert tokenizer == Tokenizer(4) and model.vocab_size == tokenizer.vocab_size
    assert (
        info["encoding"]["embedding"] == "negated" and info["model_config"]["kind"] == "transformer"
    )
    exported = torch.load(run / "model.pt", weights_only=False)
    assert "optimizer_state" not in exported
    ckpt_model, _, _ = load_model(run / "checkpoint.pt")
    for key, value in model.state_dict().items():
        assert torch.equal(value, ckpt_model.state_dict()[key])


@pytest.mark.parametrize(
    ("model", "split_at", "more"),
    [
        ("transformer", "epochs=1", []),
        ("lstm", "max_updates=5", []),
        ("lstm", "max_updates=9", ["embedding=random_unimodular", "augment_every_epoch=true"]),
    ],
)
def test_resume_reproduces_the_uninterrupted_run(
    tmp_path: Path, model: str, split_at: str, more: list[str]
) -> None:
    extra = ["dropout=0.1", f"model={model}", "layers=2", "epochs=2", *more]
    straight = tmp_path / "straight"
    train(_args(straight, *extra), quiet=True)
    parted = tmp_path / "parted"
    train(_args(parted, *extra, split_at), quiet=True)
    train(_args(parted, *extra), resume=True, quiet=True)
    a, _, info_a = load_model(straight / "model.pt")
    b, _, info_b = load_model(parted / "model.pt")
    assert info_a["progress"]["step"] == info_b["progress"]["step"] == 14  # 2 x 7 batches
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    history = [
        torch.load(run / "checkpoint.pt", weights_only=False)["history"]
        for run in (straight, parted)
    ]
    for key in ("train_loss", "val_loss", "step"):
        assert [r[key] for r in history[0]] == [r[key] for r in history[1]]


def test_augmented_epochs_differ_and_decode() -> None:
    tokenizer = Tokenizer(4)
    tokens, indices = load_token_dataset(4, return_indices=True)
    first = augmented_tokens(tokenizer, indices, 0, length=tokens.shape[1])
    second = augmented_tokens(tokenizer, indices, 1, length=tokens.shape[1])
    assert first.shape == tokens.shape and not torch.equal(first, second)
    assert torch.equal(first, augmented_tokens(tokenizer, indices, 0, length=tokens.shape[1]))
    assert torch.equal((first != 0).sum(1), (tokens != 0).sum(1))
    from envs.polytopes.normal_form import lattice_key

    rows = dataset.load(4)
    for row, index in zip(first[:10], indices[:10], strict=True):
        assert lattice_key(tokenizer.decode(row.numpy())) == lattice_key(rows[int(index)])


def test_ngram_training_round_trips(tmp_path: Path) -> None:
    run = tmp_path / "ngram"
    train(_args(run, "model=ngram", "line_numbers=true"), quiet=True)
    model, tokenizer, info = load_model(run / "model.pt")
    assert tokenizer.line_numbers and info["model_config"]["n"] == 10
    samples = model.sample(20, generator=torch.Generator().manual_seed(0))
    for row in samples:
        tokenizer.decode(row.numpy())


def test_sample_cli_writes_blocks_the_checker_reads(tmp_path: Path, capsys) -> None:
    from agents.sequence import sample
    from envs.polytopes import check

    run = tmp_path / "run"
    train(_args(run, "model=lstm", "layers=1"), quiet=True)
    out = tmp_path / "samples.txt"
    with pytest.raises(SystemExit) as exit_info:
        from envs.cli import run_cli

        run_cli(
            sample.main,
            [
                "--checkpoint",
                str(run / "checkpoint.pt"),
                "--n",
                "12",
                "--seed",
                "3",
                "--out",
                str(out),
            ],
        )
    assert exit_info.value.code == 0
    blocks = check.read_blocks(out.read_text())
    assert len(blocks) == 12
    tokens = np.load(str(out) + ".tokens.npy")
    assert tokens.shape == (12, Tokenizer(4).max_length)
    capsys.readouterr()
    check.main([str(out), "--normality", "skip", "--no-progress", "--workers", "1"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["block"] for r in records] == list(range(12))
    masked = tmp_path / "masked.txt"
    assert (
        sample.main(
            [
                "--checkpoint",
                str(run / "model.pt"),
                "--n",
                "5",
                "--seed",
                "3",
                "--out",
                str(masked),
                "--grammar-mask",
            ]
        )
        == 0
    )
    tokenizer = Tokenizer(4)
    for row in np.load(str(masked) + ".tokens.npy"):
        tokenizer.decode(row)


@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--override", "nonsense=1"],
        ["train", "--override", "epochs=many"],
        ["train", "--override", "model=gru"],
        ["train", "--config", "missing.yaml"],
        ["train", "--resume", "--run-dir", "/nonexistent/run"],
        ["train", "--bogus"],
        ["sample", "--checkpoint", "/nonexistent.pt", "--out", "x"],
        ["sample", "--checkpoint", "/nonexistent.pt"],
    ],
)
def test_bad_cli_input_is_one_line_and_exit_2(argv: list[str], capsys) -> None:
    from agents import train_sequence
    from agents.sequence import sample
    from envs.cli import run_cli

    main = train_sequence.main if argv[0] == "train" else sample.main
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main, argv[1:])
    assert exit_info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_script_entry_points_exit_2_on_bad_input() -> None:
    for argv in (
        ["agents/train_sequence.py", "--override", "epochs=0"],
        ["-m", "agents.sequence.sample", "--checkpoint", "/nonexistent.pt", "--out", "x"],
    ):
        result = subprocess.run(
            [sys.executable, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 2, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_sigterm_checkpoints_and_resumes_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os
    import signal

    from agents import train_sequence

    extra = ["model=lstm", "layers=1", "epochs=1"]
    train(_args(tmp_path / "straight", *extra), quiet=True)
    original = train_sequence.next_token_loss
    calls = {"n": 0}

    def loss_then_signal(model, batch):
        calls["n"] += 1
        if calls["n"] == 3:
            os.kill(os.getpid(), signal.SIGTERM)
        return original(model, batch)

    monkeypatch.setattr(train_sequence, "next_token_loss", loss_then_signal)
    handler_before = signal.getsignal(signal.SIGTERM)
    result = train(_args(tmp_path / "parted", *extra), quiet=True)
    assert result["stopped_by_signal"] and result["progress"]["step"] == 3
    monkeypatch.setattr(train_sequence, "next_token_loss", original)
    train(_args(tmp_path / "parted", *extra), resume=True, quiet=True)
    a, _, _ = load_model(tmp_path / "straight" / "model.pt")
    b, _, _ = load_model(tmp_path / "parted" / "model.pt")
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key
    assert signal.getsignal(signal.SIGTERM) is handler_before  # restored after training
