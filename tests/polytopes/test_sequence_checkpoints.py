"""The shipped PolytopeGen checkpoints load, sample deterministically and decode."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agents.sequence import load_model

CHECKPOINTS = Path(__file__).resolve().parents[2] / "checkpoints"
SHIPPED = sorted(CHECKPOINTS.glob("polytopegen_*.pt"))


def test_the_main_checkpoints_ship() -> None:
    names = {path.name for path in SHIPPED}
    assert {"polytopegen_transformer_d7.pt", "polytopegen_lstm2_d7.pt"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_checkpoint_samples_decode(path: Path) -> None:
    torch.set_num_threads(1)
    model, tokenizer, info = load_model(path)
    assert info["encoding"]["embedding"] == "negated"
    assert info["encoding"]["row_order"] == "shuffled"
    d = int(tokenizer.d)
    assert d in (7, 8) and model.vocab_size == tokenizer.vocab_size
    assert tokenizer.representation == ("vertices" if "_vert" in path.stem else "hyperplane")
    first = model.sample(8, generator=torch.Generator().manual_seed(0), grammar=tokenizer)
    again = model.sample(8, generator=torch.Generator().manual_seed(0), grammar=tokenizer)
    assert torch.equal(first, again)
    for row in first:  # the grammar: d entries per row, d + 1 .. row_limit rows (3d facets)
        matrix = tokenizer.decode(row.numpy())
        assert matrix.shape[1] == d and d + 1 <= matrix.shape[0] <= tokenizer.row_limit
        if tokenizer.representation == "hyperplane":
            assert matrix.shape[0] <= 3 * d
