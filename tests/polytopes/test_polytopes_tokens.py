"""Tokenizer round trips, strict decoding of bad streams, and the grammar masks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from envs.polytopes import dataset, grammar, tokens
from envs.polytopes.tokens import END_ID, PAD_ID, START_ID, ParseError, Tokenizer

DIMS = (2, 3, 4, 5, 6)


@pytest.mark.parametrize("d", DIMS)
@pytest.mark.parametrize("line_numbers", [False, True])
def test_every_dataset_entry_round_trips(d: int, line_numbers: bool) -> None:
    tokenizer = Tokenizer(d, line_numbers=line_numbers)
    for index, rows in enumerate(dataset.load(d)):
        for embedding in ("special", "negated"):
            for row_order in tokens.ROW_ORDERS:
                matrix = tokens.prepare(rows, embedding=embedding, row_order=row_order, index=index)
                assert np.array_equal(tokenizer.decode(tokenizer.encode(matrix)), matrix)


@pytest.mark.slow
def test_every_d7_entry_round_trips() -> None:
    if not dataset.dataset_file(7).exists():
        pytest.skip("d = 7 cache not built")
    tokenizer = Tokenizer(7)
    for index, rows in enumerate(dataset.load(7)):
        matrix = tokens.prepare(rows, index=index)
        assert np.array_equal(tokenizer.decode(tokenizer.encode(matrix)), matrix)


@pytest.mark.parametrize("d", (4, 5, 6))
def test_vertex_representation_round_trips(d: int) -> None:
    tokenizer = Tokenizer(d, representation="vertices")
    for index, verts in enumerate(dataset.load(d, representation="vertices")):
        matrix = tokens.prepare(verts, representation="vertices", index=index)
        assert np.array_equal(tokenizer.decode(tokenizer.encode(matrix)), matrix)


def test_random_unimodular_embedding_is_lattice_equivalent() -> None:
    from envs.polytopes.normal_form import lattice_key

    tokenizer = Tokenizer(5)
    rng = np.random.default_rng(3)
    for rows in dataset.load(5)[:40]:
        matrix = tokens.prepare(rows, embedding="random_unimodular", rng=rng)
        assert np.abs(matrix).max() <= tokenizer.entry_bound
        assert abs(round(np.linalg.det(tokens.random_unimodular(5, rng)))) == 1
        assert lattice_key(matrix) == lattice_key(rows)
        assert np.array_equal(tokenizer.decode(tokenizer.encode(matrix)), matrix)


def test_default_encoding_is_negated_and_fixed_per_polytope() -> None:
    rows = dataset.load(6)[100]
    first = tokens.prepare(rows, index=100)
    assert np.array_equal(first, tokens.prepare(rows, index=100))
    assert not np.array_equal(first, tokens.prepare(rows, index=101))
    assert sorted(map(tuple, first)) == sorted(map(tuple, -rows))


def test_vocabulary_and_lengths() -> None:
    # Vocabulary: 4 specials (pad, start, end, row) + entries -B..B.
    assert Tokenizer(7).vocab_size == 4 + 13
    assert Tokenizer(8).vocab_size == 4 + 15
    assert Tokenizer(7).max_length == 2 + 21 * 8
    assert Tokenizer(8).max_length == 2 + 24 * 9
    assert Tokenizer(7, line_numbers=True).vocab_size == 3 + 21 + 13
    names = Tokenizer(3).names
    assert names[:4] == ("<pad>", "<start>", "<end>", "<row>")
    assert names[4:] == ("-2", "-1", "0", "1", "2")


def test_encode_rejects_bad_matrices() -> None:
    tokenizer = Tokenizer(3)
    with pytest.raises(ValueError, match="columns"):
        tokenizer.encode(np.zeros((4, 2), dtype=int))
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tokenizer.encode([[9, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]])
    with pytest.raises(ValueError, match="integers"):
        tokenizer.encode([[0.5, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -1]])
    with pytest.raises(ValueError, match="row limit"):
        tokenizer.encode(np.eye(3, dtype=int).repeat(4, axis=0))


def _square() -> list[int]:
    return Tokenizer(2).encode([[1, 0], [0, 1], [-1, 0], [0, -1]])


@pytest.mark.parametrize(
    ("stream", "reason"),
    [
        ([], "empty"),
        ([START_ID], "no end token"),
        ([START_ID, END_ID], "no rows"),
        (_square()[:-1], "no end token"),
        (_square()[1:], "expected <start>"),
        ([*_square()[:4], START_ID, *_square()[4:]], "<start> inside"),
        ([*_square()[:4], PAD_ID, *_square()[4:]], "<pad> inside"),
        ([*_square(), 5], "after <end>"),
        ([*_square()[:-2], END_ID], "not closed"),
        ([*_square()[:2], *_square()[3:]], "row 1 has 1 entries"),
        ([*_square()[:-1], 99, END_ID], "unknown token id 99"),
        ([*_square()[:-1], -1, END_ID], "unknown token id -1"),
    ],
)
def test_bad_streams_raise_parse_errors(stream: list[int], reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        Tokenizer(2).decode(stream)


def test_line_numbers_must_be_in_order() -> None:
    tokenizer = Tokenizer(2, line_numbers=True)
    stream = tokenizer.encode([[1, 0], [0, 1], [-1, -1]])
    stream[3], stream[6] = stream[6], stream[3]
    with pytest.raises(ParseError, match="expected <row 1>"):
        tokenizer.decode(stream)


def test_padding_after_end_is_accepted() -> None:
    tokenizer = Tokenizer(2)
    matrix = np.array([[1, 0], [0, 1], [-1, -1]])
    assert np.array_equal(tokenizer.decode(tokenizer.pad(tokenizer.encode(matrix))), matrix)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(-3, 30), max_size=40), st.booleans())
def test_fuzzed_streams_decode_or_raise_parse_error(stream: list[int], line_numbers: bool) -> None:
    tokenizer = Tokenizer(3, line_numbers=line_numbers)
    try:
        matrix = tokenizer.decode(stream)
    except ParseError:
        return
    # A stream that decodes re-encodes to itself: no token was dropped.
    assert tokenizer.encode(matrix) == list(stream[: stream.index(END_ID) + 1])
    assert all(t == PAD_ID for t in stream[stream.index(END_ID) + 1 :])


@settings(max_examples=200, deadline=None)
@given(st.integers(2, 6), st.booleans(), st.integers(0, 2**32 - 1))
def test_grammar_walks_always_decode(d: int, line_numbers: bool, seed: int) -> None:
    tokenizer = Tokenizer(d, line_numbers=line_numbers)
    rng = np.random.default_rng(seed)
    state = grammar.GrammarState(tokenizer)
    stream = [START_ID]
    while not state.finished:
        mask = state.mask()
        assert mask.any(), "a grammatical prefix always has a next token"
        if state.rows_done < d + 1:
            assert not mask[END_ID]
        token = int(rng.choice(np.flatnonzero(mask)))
        state.push(token)
        stream.append(token)
    assert len(stream) <= tokenizer.max_length
    matrix = tokenizer.decode(stream)
    assert matrix.shape[1] == d and d + 1 <= matrix.shape[0] <= 3 * d


def test_batch_masks_match_single_states() -> None:
    tokenizer = Tokenizer(3, line_numbers=True)
    rows = np.array([0, 3, 4, 9, 8])
    entries = np.array([0, 3, 0, 0, 3])
    batch = grammar.batch_masks(tokenizer, rows, entries)
    for k in range(len(rows)):
        assert np.array_equal(batch[k], grammar.next_mask(tokenizer, rows[k], entries[k]))
    assert not batch[3, tokenizer.first_entry_id :].any()  # 9 rows = 3d: only <end>
    assert batch[3, END_ID]
    assert batch[4, tokenizer.row_end_id(9)] and batch[4].sum() == 1
