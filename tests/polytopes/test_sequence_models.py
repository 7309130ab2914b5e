"""Sequence models: shapes, causality, incremental steps, sampling, the n-gram baseline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agents.sequence.model import (
    LSTMModel,
    SequenceConfig,
    TransformerModel,
    build_model,
    count_parameters,
)
from agents.sequence.ngram import NGramModel
from envs.polytopes.tokens import END_ID, PAD_ID, START_ID, Tokenizer

torch.set_num_threads(1)

KINDS = [("lstm", 1), ("lstm", 2), ("transformer", 4)]


def make(kind: str, layers: int, d: int = 4, **extra: object) -> torch.nn.Module:
    tokenizer = Tokenizer(d)
    torch.manual_seed(0)
    config = SequenceConfig(
        kind=kind,
        layers=layers,
        vocab_size=tokenizer.vocab_size,
        max_length=tokenizer.max_length,
        **extra,  # type: ignore[arg-type]
    )
    return build_model(config)


@pytest.mark.parametrize(("kind", "layers"), KINDS)
def test_forward_shapes_and_interface(kind: str, layers: int) -> None:
    model = make(kind, layers)
    tokens = torch.randint(0, model.vocab_size, (3, 20))
    logits = model(tokens)
    assert logits.shape == (3, 20, model.vocab_size) and logits.dtype == torch.float32
    hidden = model.hidden_states(tokens)
    assert hidden.shape == (3, 20, model.head.in_features)
    assert isinstance(model.head, torch.nn.Linear)
    assert torch.allclose(model.head(hidden), logits)
    assert model.max_length == Tokenizer(4).max_length


@pytest.mark.parametrize(("kind", "layers"), KINDS)
def test_logits_are_causal(kind: str, layers: int) -> None:
    model = make(kind, layers).eval()
    tokens = torch.randint(0, model.vocab_size, (2, 30))
    changed = tokens.clone()
    changed[:, 17:] = torch.randint(0, model.vocab_size, (2, 13))
    a, b = model(tokens), model(changed)
    assert torch.equal(a[:, :17], b[:, :17])
    assert not torch.allclose(a[:, 17:], b[:, 17:])


@pytest.mark.parametrize(("kind", "layers"), KINDS)
def test_incremental_step_matches_forward(kind: str, layers: int) -> None:
    model = make(kind, layers).eval()
    tokens = torch.randint(0, model.vocab_size, (2, 25))
    full = model(tokens)
    state = model._start_state(2)
    with torch.no_grad():
        for t in range(tokens.shape[1]):
            logits, state = model._step(tokens[:, t], state, t, None)
            assert torch.allclose(logits, full[:, t], atol=1e-5)


def test_parameter_counts_match_the_paper_setup() -> None:
    tokenizer = Tokenizer(7)
    counts = {}
    for kind, layers in KINDS:
        config = SequenceConfig(
            kind=kind,
            layers=layers,
            vocab_size=tokenizer.vocab_size,
            max_length=tokenizer.max_length,
        )
        counts[(kind, layers)] = count_parameters(build_model(config))
    assert counts[("lstm", 1)] == 272_725
    assert counts[("lstm", 2)] == 799_061
    assert counts[("transformer", 4)] == 819_473
    assert abs(counts[("transformer", 4)] / counts[("lstm", 2)] - 1) < 0.05
    assert isinstance(build_model(config), TransformerModel)
    assert isinstance(make("lstm", 2), LSTMModel)


@pytest.mark.parametrize(("kind", "layers"), KINDS)
def test_sampling_is_deterministic_and_padded(kind: str, layers: int) -> None:
    model = make(kind, layers)
    first = model.sample(6, generator=torch.Generator().manual_seed(5), batch_size=4)
    again = model.sample(6, generator=torch.Generator().manual_seed(5), batch_size=4)
    other = model.sample(6, generator=torch.Generator().manual_seed(6), batch_size=4)
    assert first.shape == (6, model.max_length) and first.dtype == torch.long
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert torch.all(first[:, 0] == START_ID)
    for row in first:
        ends = torch.nonzero(row == END_ID).flatten()
        if ends.numel():
            assert torch.all(row[int(ends[0]) + 1 :] == PAD_ID)
    assert model.training  # sample() restores the mode


@pytest.mark.parametrize(("kind", "layers"), KINDS)
def test_grammar_masked_samples_always_decode(kind: str, layers: int) -> None:
    model = make(kind, layers)
    tokenizer = Tokenizer(4)
    samples = model.sample(8, generator=torch.Generator().manual_seed(1), grammar=tokenizer)
    for row in samples:
        matrix = tokenizer.decode(row.numpy())
        assert matrix.shape[1] == 4 and 5 <= matrix.shape[0] <= 12


def test_top_k_and_temperature() -> None:
    model = make("transformer", 4)
    greedy = model.sample(3, generator=torch.Generator().manual_seed(0), temperature=0.0)
    assert torch.equal(greedy[0], greedy[1])
    top1 = model.sample(3, generator=torch.Generator().manual_seed(9), top_k=1)
    assert torch.equal(top1, greedy)


# ----------------------------------------------------------------------------- n-gram

CORPUS = torch.tensor(
    [
        [1, 5, 6, 2, 0],
        [1, 5, 7, 2, 0],
        [1, 5, 6, 2, 0],
        [1, 6, 5, 6, 2],
    ]
)


def _hist(model: NGramModel, prefix: list[int], mask: np.ndarray | None = None) -> np.ndarray:
    key = model._context_keys(np.array([prefix]))[0, -1]
    return model.histograms(np.array([key]), None if mask is None else mask[None])[0]


def test_ngram_histograms_are_exact_counts() -> None:
    model = NGramModel(vocab_size=8, max_length=6, n=2).fit(CORPUS)
    assert _hist(model, [1, 5]).tolist() == [0, 0, 0, 0, 0, 0, 2, 1]
    assert _hist(model, [1]).tolist() == [0, 0, 0, 0, 0, 3, 1, 0]
    assert _hist(model, [6, 5]).tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    assert _hist(model, [5, 6]).tolist() == [0, 0, 3, 0, 0, 0, 0, 0]
    assert model.unigram.tolist() == [0, 0, 4, 0, 0, 4, 4, 1]


def test_ngram_backs_off_to_the_longest_seen_suffix() -> None:
    model = NGramModel(vocab_size=8, max_length=6, n=3).fit(CORPUS)
    # context (7, 6, 5) is unseen, (6, 5) was seen once (followed by 6)
    assert _hist(model, [7, 6, 5]).tolist() == [0, 0, 0, 0, 0, 0, 1, 0]
    # (6, 6, 7): no suffix of length 2 or 1 ending in 7 except (5, 7) -> suffix "7" -> 2
    assert _hist(model, [6, 6, 7]).tolist() == [0, 0, 1, 0, 0, 0, 0, 0]
    # a mask that forbids every seen continuation backs off until one is allowed
    mask = np.zeros(8, dtype=bool)
    mask[5] = True
    assert _hist(model, [1, 5], mask).tolist() == [0, 0, 0, 0, 0, 4, 0, 0]
    mask[:] = False
    mask[3] = True  # never seen at all: falls back to the mask itself
    assert _hist(model, [1, 5], mask).tolist() == [0, 0, 0, 1, 0, 0, 0, 0]


def test_ngram_sampling_follows_the_histogram_and_round_trips() -> None:
    model = NGramModel(vocab_size=8, max_length=6, n=2).fit(CORPUS)
    samples = model.sample(3000, generator=torch.Generator().manual_seed(0), batch_size=1000)
    assert samples.shape == (3000, 6)
    seen = {tuple(row[row != 0].tolist()) for row in samples}
    assert seen <= {(1, 5, 6, 2), (1, 5, 7, 2), (1, 6, 5, 6, 2)}
    after_15 = samples[samples[:, 1] == 5][:, 2]
    share = float((after_15 == 6).float().mean())
    assert abs(share - 2 / 3) < 0.04
    clone = NGramModel(vocab_size=8, max_length=6, n=2)
    clone.load_state_dict(model.state_dict())
    again = clone.sample(3000, generator=torch.Generator().manual_seed(0), batch_size=1000)
    assert torch.equal(samples, again)
    logits = model(CORPUS[:, :-1])
    assert logits.shape == (4, 4, 8)
    assert torch.isclose(logits[0, 1].exp()[6], torch.tensor(2 / 3))


def test_ngram_on_line_number_tokens_samples_decodable_matrices() -> None:
    from envs.polytopes import dataset
    from envs.polytopes.tokens import encode_dataset

    tokenizer = Tokenizer(4, line_numbers=True)
    data = torch.from_numpy(encode_dataset(dataset.load(4), tokenizer))
    model = NGramModel(tokenizer.vocab_size, tokenizer.max_length, n=10).fit(data)
    samples = model.sample(50, generator=torch.Generator().manual_seed(3), grammar=tokenizer)
    for row in samples:
        tokenizer.decode(row.numpy())
