"""PolytopeGen-v0: spaces, grammar masks, rewards, identification, novelty."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import envs  # noqa: F401  (registers the ids)
from envs.polytopes import dataset, tokens
from envs.polytopes.env import PolytopeGenEnv
from envs.polytopes.reward import RewardConfig

FAST = {"identify": False, "known": None}


def play(env: PolytopeGenEnv, sequence: list[int]) -> tuple[float, bool, bool, dict[str, Any]]:
    """Reset and feed ``sequence`` (``<start>`` first, skipped) to the end."""
    env.reset()
    assert sequence[0] == tokens.START_ID
    for token in sequence[1:]:
        _, reward, terminated, truncated, info = env.step(token)
        if terminated or truncated:
            return reward, terminated, truncated, info
    raise AssertionError("the episode did not end")


def encoded(env: PolytopeGenEnv, i: int, **kwargs: Any) -> list[int]:
    """Tokens of dataset entry ``i`` encoded as the env's training data."""
    options = {"embedding": "negated", "row_order": "shuffled", "seed": 0, "index": i}
    options.update(kwargs)
    return env.tokenizer.encode(tokens.prepare(dataset.load_data(env.d).rows[i], **options))


def random_walk(env: PolytopeGenEnv, rng: np.random.Generator) -> tuple[float, dict[str, Any]]:
    """One episode of a uniform policy over the allowed tokens."""
    _, info = env.reset()
    while True:
        mask = env.action_masks()
        assert np.array_equal(mask.astype(np.int8), info["action_mask"])
        action = int(rng.choice(np.flatnonzero(mask)))
        _, reward, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            return reward, info


def test_check_env() -> None:
    from gymnasium.utils.env_checker import check_env
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    check_env(gym.make("PolytopeGen-v0", d=4).unwrapped)
    sb3_check_env(PolytopeGenEnv(d=4, line_numbers=True, representation="vertices"))
    sb3_check_env(PolytopeGenEnv(d=4, grammar_mask=False, **FAST))


def test_registration_and_spaces() -> None:
    env = gym.make("PolytopeGen-v0", d=5, **FAST)
    observation, info = env.reset(seed=0)
    unwrapped = env.unwrapped
    vocab = unwrapped.tokenizer.vocab_size
    assert env.action_space.n == vocab
    assert observation["tokens"].shape == (unwrapped.tokenizer.max_length,)
    assert observation["tokens"][0] == tokens.START_ID and observation["position"][0] == 1
    assert observation["action_mask"].dtype == np.int8
    assert np.array_equal(info["action_mask"], observation["action_mask"])
    assert isinstance(env.observation_space["tokens"], gym.spaces.Box)


def test_determinism_under_seeds() -> None:
    def trace(seed: int) -> list[Any]:
        env = PolytopeGenEnv(d=4, **FAST)
        env.reset(seed=seed)
        rng = np.random.default_rng(7)
        out = [random_walk(env, rng)[0] for _ in range(3)]
        return out + [env.prefix.tolist()]

    assert trace(0) == trace(1) == trace(0)


@settings(max_examples=25, deadline=None)
@given(d=st.integers(2, 6), line_numbers=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_random_allowed_walks_decode(d: int, line_numbers: bool, seed: int) -> None:
    env = PolytopeGenEnv(d=d, line_numbers=line_numbers, **FAST)
    rng = np.random.default_rng(seed)
    env.reset()
    rows = 0
    while True:
        mask = env.action_masks()
        assert not mask[tokens.PAD_ID] and not mask[tokens.START_ID]
        assert mask[tokens.END_ID] == (rows >= d + 1 and env._state.entries_in_row == 0)
        action = int(rng.choice(np.flatnonzero(mask)))
        _, reward, terminated, truncated, info = env.step(action)
        rows += bool(env.tokenizer.is_row_end[action])
        if terminated or truncated:
            break
    assert terminated and not truncated and info["matrix"] is not None
    matrix = env.tokenizer.decode(env.prefix)
    assert matrix.shape[1] == d and d + 1 <= matrix.shape[0] <= 3 * d
    assert 0.0 <= reward <= 1.5  # 1.0 properties + 0.5 novelty (known=None)
    assert not env.action_masks().any()


def test_unmasked_allows_more() -> None:
    masked = PolytopeGenEnv(d=4, **FAST)
    free = PolytopeGenEnv(d=4, grammar_mask=False, **FAST)
    masked.reset()
    free.reset()
    assert free.action_masks().sum() > masked.action_masks().sum()
    assert free.action_masks().sum() == free.tokenizer.vocab_size - 2
    assert np.all(free.action_masks()[masked.action_masks()])


def test_replay_of_training_sequence_is_an_exact_copy() -> None:
    env = PolytopeGenEnv(d=5, known=None, reward={"novelty_bonus": 0.0})
    reward, terminated, truncated, info = play(env, encoded(env, 123))
    assert terminated and not truncated and reward == pytest.approx(1.0)
    assert info["report"]["all"] and info["identification"]["status"] == "exact_copy"
    assert info["identification"]["index"] == 123 and info["lattice_key"]
    rows = tokens.prepare(dataset.load_data(5).rows[123], index=123)
    permuted = env.tokenizer.encode(rows[::-1])
    assert play(env, permuted)[3]["identification"]["status"] == "row_permutation"
    moved = encoded(env, 123, embedding="random_unimodular", rng=np.random.default_rng(1))
    _, _, _, info = play(env, moved)
    assert info["identification"]["status"] == "lattice_equivalent"
    assert info["identification"]["index"] == 123
    repeated = env.tokenizer.encode(np.concatenate([rows, rows[:1]]))
    info = play(env, repeated)[3]
    assert info["identification"]["status"] == "exact_copy"
    assert info["identification"]["repeated_rows"] == 1


def test_redundancy_penalty_for_repeated_rows() -> None:
    env = PolytopeGenEnv(d=5, known=None, reward={"novelty_bonus": 0.0, "redundancy_penalty": 0.5})
    rows = tokens.prepare(dataset.load_data(5).rows[7], index=7)
    reward, _, _, info = play(env, env.tokenizer.encode(rows))
    assert reward == pytest.approx(1.0) and "redundancy" not in info["reward_terms"]
    reward, _, _, info = play(env, env.tokenizer.encode(np.concatenate([rows, rows[:1]])))
    assert info["report"]["all"] and info["report"]["irredundant"] is False
    assert reward == pytest.approx(0.5) and info["reward_terms"]["redundancy"] == -0.5
    with pytest.raises(ValueError, match="redundancy_penalty"):
        PolytopeGenEnv(d=5, known=None, reward={"redundancy_penalty": -1.0})


@pytest.mark.parametrize(
    "options",
    [
        {"line_numbers": True, "row_order": "sorted", "embedding": "special"},
        {"representation": "vertices"},
    ],
)
def test_replay_other_encodings(options: dict[str, Any]) -> None:
    env = PolytopeGenEnv(d=4, known=None, **options)
    data = dataset.load_data(4)
    source = data.vertices if env.representation == "vertices" else data.rows
    matrix = tokens.prepare(
        source[50],
        embedding=options.get("embedding", "negated"),
        row_order=options.get("row_order", "shuffled"),
        index=50,
        representation=env.representation,
    )
    reward, _, _, info = play(env, env.tokenizer.encode(matrix))
    assert info["identification"]["status"] == "exact_copy"
    assert reward == pytest.approx(1.5) and info["novel"]


def test_d7_replay_when_cache_built() -> None:
    try:
        dataset.load_data(7)
    except FileNotFoundError:
        pytest.skip("d = 7 cache not built")
    env = PolytopeGenEnv(d=7)
    half_a = dataset.split_indices(72256, 0)[0]
    reward, _, _, info = play(env, encoded(env, int(half_a[5])))
    assert info["identification"]["status"] == "exact_copy"
    assert info["identification"]["half"] == "half_a"
    assert reward == pytest.approx(1.0) and not info["novel"]  # known: no bonus


def test_unparseable_and_truncated() -> None:
    env = PolytopeGenEnv(d=4, grammar_mask=False, **FAST)
    reward, terminated, _, info = play(env, [tokens.START_ID, tokens.END_ID])
    assert terminated and reward == 0.0 and "not parseable" in info["reason"]
    entry = env.tokenizer.entry_id(1)
    ragged = [tokens.START_ID, entry, entry, env.tokenizer.row_end_id(1), tokens.END_ID]
    reward, _, _, info = play(env, ragged)
    assert reward == 0.0 and "row 1 has 2 entries" in info["reason"]
    shortest = env.tokenizer.length(5)
    short = PolytopeGenEnv(d=4, max_length=shortest, **FAST)
    sequence = [tokens.START_ID] + [entry] * 4 * 100
    row = [entry] * 4 + [short.tokenizer.row_end_id(1)]
    sequence = [tokens.START_ID] + row * 5 + [entry]
    reward, terminated, truncated, info = play(short, sequence)
    assert truncated and not terminated and reward == 0.0 and "truncated" in info["reason"]
    assert short.prefix.size == shortest


def test_masked_and_out_of_range_actions() -> None:
    env = PolytopeGenEnv(d=4, reward=RewardConfig(masked_action_penalty=0.5), **FAST)
    env.reset()
    _, reward, terminated, _, info = env.step(tokens.END_ID)
    assert terminated and reward == -0.5 and "masked action <end>" in info["reason"]
    with pytest.raises(RuntimeError, match="reset"):
        env.step(tokens.END_ID)
    env.reset()
    for bad in (-1, env.tokenizer.vocab_size, 2.5):
        with pytest.raises(ValueError, match="outside"):
            env.step(bad)
    free = PolytopeGenEnv(d=4, grammar_mask=False, **FAST)
    free.reset()
    _, reward, terminated, _, info = free.step(tokens.PAD_ID)
    assert terminated and reward == 0.0 and info["masked_action"]


def test_novelty_paid_once_per_class() -> None:
    env = PolytopeGenEnv(d=4, known=None)
    first = play(env, encoded(env, 7))
    assert first[0] == pytest.approx(1.5) and first[3]["novel"]
    assert first[3]["reward_terms"]["novelty"] == 0.5
    moved = encoded(env, 7, embedding="random_unimodular", rng=np.random.default_rng(0))
    assert play(env, moved)[0] == pytest.approx(1.0)  # same class, already produced
    env.reset(options={"reset_novelty": True})
    assert play(env, encoded(env, 7))[3]["novel"]
    known_all = PolytopeGenEnv(d=4, known="all", identify=False)
    assert not play(known_all, encoded(known_all, 7))[3]["novel"]
    half_a, half_b = dataset.split_indices(124, 0)
    split_env = PolytopeGenEnv(d=4)  # known = half_a of seed_split 0
    assert not play(split_env, encoded(split_env, int(half_a[0])))[3]["novel"]
    assert play(split_env, encoded(split_env, int(half_b[0])))[3]["novel"]
    key = first[3]["lattice_key"]
    keyed = PolytopeGenEnv(d=4, known=[key], identify=False)
    assert not play(keyed, encoded(keyed, 7))[3]["novel"]
    off = PolytopeGenEnv(d=4, known=None, reward={"novelty_bonus": 0})
    assert play(off, encoded(off, 7))[0] == pytest.approx(1.0)


def test_target_predicates() -> None:
    env = PolytopeGenEnv(d=4, known=None, target="all", reward={"target_bonus": 2.0})
    reward, _, _, info = play(env, encoded(env, 3))
    assert reward == pytest.approx(2.5) and set(info["reward_terms"]) == {"target", "novelty"}
    never = PolytopeGenEnv(d=4, known=None, target=lambda report: False)
    reward, _, _, info = play(never, encoded(never, 3))
    assert reward == 0.0 and not info["novel"]
    keep = PolytopeGenEnv(
        d=4, known=None, target="smooth_not_normal", reward={"keep_properties": True}
    )
    reward, _, _, info = play(keep, encoded(keep, 3))
    assert reward == pytest.approx(1.0) and info["reward_terms"]["target"] == 0.0


def test_partial_credit() -> None:
    env = PolytopeGenEnv(d=3, **FAST)
    # x_i >= -1, x_1 + x_2 + 2 x_3 <= 1: compact, vertex (-1, -1, 3/2) is not a lattice point
    matrix = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [-1, -1, -2]])
    reward, _, _, info = play(env, env.tokenizer.encode(matrix))
    assert info["report"]["compact"] and not info["report"]["lattice"]
    assert reward == pytest.approx(0.2)


def test_render() -> None:
    env = PolytopeGenEnv(d=4, render_mode="ansi", **FAST)
    play(env, encoded(env, 1))
    text = env.render()
    assert text.startswith("<start>") and "<end>" in text and "\n" in text


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"d": 9}, "d must be"),
        ({"d": True}, "d must be"),
        ({"representation": "faces"}, "representation"),
        ({"embedding": "rotated"}, "embedding"),
        ({"row_order": "random"}, "row_order"),
        ({"max_length": 5}, "max_length"),
        ({"max_length": 10**6}, "max_length"),
        ({"grammar_mask": "yes"}, "grammar_mask"),
        ({"reward": {"bonus": 1}}, "unknown RewardConfig"),
        ({"reward": 3}, "reward must be"),
        ({"reward": {"novelty_bonus": -1}}, ">= 0"),
        ({"reward": {"property_weights": {"pretty": 1.0}}}, "unknown properties"),
        ({"target": "pretty"}, "target must be"),
        ({"known": "half_c"}, "known must be"),
        ({"known": ["abc"]}, "lattice key"),
        ({"normality": "maybe"}, "normality"),
        ({"check_time_limit": -1}, "check_time_limit"),
        ({"seed_split": -1}, "seed_split"),
        ({"encoding_seed": 1.5}, "encoding_seed"),
        ({"render_mode": "human"}, "render_mode"),
    ],
)
def test_bad_arguments(kwargs: dict[str, Any], match: str) -> None:
    options = {"d": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        PolytopeGenEnv(**options)


def test_missing_dataset_is_a_clear_error(tmp_path: Any, monkeypatch: Any) -> None:
    monkeypatch.setattr(dataset, "PACKAGE_DATA_DIR", tmp_path / "stripped_package_data")
    with pytest.raises(ValueError, match="identify=True needs the d=7 dataset"):
        PolytopeGenEnv(d=7, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="pass known=None"):
        PolytopeGenEnv(d=7, cache_dir=tmp_path, identify=False)
    env = PolytopeGenEnv(d=7, cache_dir=tmp_path, identify=False, known=None)
    assert env.index is None


def test_maskable_ppo_smoke() -> None:
    sb3_contrib = pytest.importorskip("sb3_contrib")
    env = PolytopeGenEnv(d=3, known=None)
    model = sb3_contrib.MaskablePPO(
        "MultiInputPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0, device="cpu"
    )
    model.learn(64)
    observation, _ = env.reset()
    action, _ = model.predict(observation, action_masks=env.action_masks(), deterministic=True)
    assert env.action_masks()[int(action)]


def test_check_time_limit_reaches_the_checker(monkeypatch: pytest.MonkeyPatch) -> None:
    from envs.polytopes import properties

    seen: list[dict[str, Any]] = []
    real = properties.check_hyperplane

    def recording(data: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(data, **kwargs)

    monkeypatch.setattr(properties, "check_hyperplane", recording)
    rows = tokens.prepare(dataset.load_data(4).rows[3], index=3)
    for limit, expected in ((2.5, {"time_limit": 2.5}), (None, {})):
        env = PolytopeGenEnv(d=4, known=None, check_time_limit=limit)
        play(env, env.tokenizer.encode(rows))
        assert {k: v for k, v in seen[-1].items() if k != "normality"} == expected
