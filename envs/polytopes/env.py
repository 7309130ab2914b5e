"""PolytopeGen-v0: generate smooth reflexive polytopes token by token (Nødland 2021)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.polytopes import grammar, normal_form, properties, tokens
from envs.polytopes.identify import DatasetIndex, Identification, irredundant
from envs.polytopes.properties import ParseError, PropertyReport
from envs.polytopes.reward import (
    NoveltyTracker,
    RewardConfig,
    Target,
    keys_from,
    property_terms,
    resolve_target,
    success,
)

DIMENSIONS = tuple(range(2, 9))
KNOWN_SPLITS = ("half_a", "half_b", "all")
NORMALITY = ("auto", "exact", "skip")


@lru_cache(maxsize=16)
def dataset_index(
    d: int,
    seed: int,
    embedding: str,
    row_order: str,
    encoding_seed: int,
    representation: str,
    cache_dir: str | None = None,
) -> DatasetIndex:
    """One :class:`DatasetIndex` per process and encoding (loading d = 7 takes seconds)."""
    return DatasetIndex(
        d,
        seed=seed,
        cache_dir=cache_dir,
        embedding=embedding,
        row_order=row_order,
        encoding_seed=encoding_seed,
        representation=representation,
    )


@lru_cache(maxsize=16)
def _known_keys(d: int, seed: int, split: str, cache_dir: str | None) -> frozenset[bytes]:
    """Lattice keys of the dataset (``"all"``) or of one half for ``seed``."""
    # The halves and keys do not depend on the encoding: any cached index serves.
    index = dataset_index(d, seed, "special", "stored", 0, "hyperplane", cache_dir)
    return frozenset(index.keys(None if split == "all" else split))


class PolytopeGenEnv(gym.Env):
    """Write the matrix of a polytope one token at a time; reward its properties.

    ## Description
    An episode writes one token sequence of :class:`envs.polytopes.tokens.Tokenizer`
    (``<start>`` rows of ``d`` entries, each closed by a row-end token, ``<end>``). The
    ``<start>`` token is given. At ``<end>`` the stream is decoded, checked exactly
    (:func:`properties.check_hyperplane` / :func:`properties.check_vertices`) and, with
    ``identify``, located in the dataset (:class:`DatasetIndex` with the env's encoding, so
    replaying a training sequence is an ``exact_copy``).

    ## Action Space
    ``Discrete(vocab_size)``: the next token id. An action outside the space raises
    ``ValueError``. A *masked* action in range (``grammar_mask=True``: not grammatical;
    ``grammar_mask=False``: ``<pad>`` or ``<start>``) ends the episode (terminated) with
    reward ``-reward.masked_action_penalty`` (default 0) and ``info["reason"]``.

    ## Observation Space
    ``Dict``: ``tokens`` ``Box(0, vocab-1, (max_length,), int64)`` the prefix padded with
    ``<pad>`` = 0 (a Box, so SB3 feeds raw ids to an embedding extractor);
    ``position`` ``Box(0, max_length, (1,), int64)`` the prefix length (1 after reset);
    ``action_mask`` ``MultiBinary(vocab)`` (int8), also ``info["action_mask"]`` and
    :meth:`action_masks` (sb3-contrib ``MaskablePPO``). With ``grammar_mask`` the mask is
    :mod:`envs.polytopes.grammar` (``d`` entries per row, at most ``row_limit`` = 3d rows,
    ``<end>`` only after ``>= d + 1`` rows, line numbers in order); otherwise every token
    but ``<pad>`` and ``<start>`` (the paper's unconstrained setting). All zeros once
    the episode is over.

    ## Rewards
    0 before the end. At the end see :mod:`envs.polytopes.reward`: per-property credit
    (default 0.2 each for compact, lattice, reflexive, smooth, normal: 1.0 for a correct
    polytope; 1/3 each for vertices: reflexive, smooth, normal), or ``target_bonus`` for a
    ``target`` predicate; plus ``novelty_bonus`` (0.5) for a success whose lattice class
    (key of the irredundant hyperplane rows) is not ``known`` and was not produced before
    by this instance (``reset(options={"reset_novelty": True})`` forgets). A stream that
    does not parse (only possible without the grammar mask) or is truncated earns 0.

    ## Episode End
    Terminated at ``<end>`` (or a masked action); truncated when the prefix reaches
    ``max_length`` tokens without ``<end>``. ``info`` at the end: ``matrix``, ``report``
    (``PropertyReport.to_dict()``), ``lattice_key`` (hex or None), ``identification``
    (``Identification.to_dict()`` or None), ``novel``, ``reward_terms``, ``reason``.

    ## Arguments
    - ``d`` (7): dimension, 2..8 (d = 8 with ``identify`` or a dataset-based ``known``
      computes the lattice keys on first use, about 9 CPU-minutes, then cached).
    - ``representation`` ("hyperplane" | "vertices"), ``embedding`` ("negated"),
      ``row_order`` ("shuffled"), ``encoding_seed`` (0): how the training data was encoded
      (:func:`tokens.prepare`); ``line_numbers`` (False).
    - ``max_length`` (None: ``tokenizer.max_length``), ``grammar_mask`` (True).
    - ``reward``: :class:`RewardConfig` or a dict of its fields; ``target``: None, a
      callable on the report or a name in :data:`envs.polytopes.reward.TARGETS`.
    - ``known``: "half_a" (default) / "half_b" of ``seed_split``, "all", None (nothing
      known) or an iterable of lattice keys (bytes or hex).
    - ``identify`` (True), ``seed_split`` (0), ``normality`` ("auto"),
      ``check_time_limit`` (None: the checker's default, 60 s for exact normality),
      ``cache_dir`` (dataset cache), ``render_mode`` (None | "ansi").
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        d: int = 7,
        representation: str = "hyperplane",
        embedding: str = "negated",
        row_order: str = "shuffled",
        line_numbers: bool = False,
        max_length: int | None = None,
        grammar_mask: bool = True,
        reward: RewardConfig | Mapping[str, Any] | None = None,
        target: str | Target | None = None,
        known: str | Iterable[bytes | str] | None = "half_a",
        identify: bool = True,
        seed_split: int = 0,
        normality: str = "auto",
        check_time_limit: float | None = None,
        encoding_seed: int = 0,
        cache_dir: str | os.PathLike[str] | None = None,
        render_mode: str | None = None,
    ) -> None:
        if isinstance(d, bool) or not isinstance(d, int | np.integer) or d not in DIMENSIONS:
            raise ValueError(
                f"d must be an integer in {DIMENSIONS[0]}..{DIMENSIONS[-1]}, got {d!r}"
            )
        if representation not in tokens.REPRESENTATIONS:
            raise ValueError(
                f"representation must be one of {tokens.REPRESENTATIONS}, got {representation!r}"
            )
        if embedding not in tokens.EMBEDDINGS:
            raise ValueError(f"embedding must be one of {tokens.EMBEDDINGS}, got {embedding!r}")
        if row_order not in tokens.ROW_ORDERS:
            raise ValueError(f"row_order must be one of {tokens.ROW_ORDERS}, got {row_order!r}")
        for name, flag in (
            ("line_numbers", line_numbers),
            ("grammar_mask", grammar_mask),
            ("identify", identify),
        ):
            if not isinstance(flag, bool | np.bool_):
                raise ValueError(f"{name} must be a bool, got {flag!r}")
        if normality not in NORMALITY:
            raise ValueError(f"normality must be one of {NORMALITY}, got {normality!r}")
        if check_time_limit is not None and not (
            isinstance(check_time_limit, int | float) and check_time_limit > 0
        ):
            raise ValueError(f"check_time_limit must be None or > 0, got {check_time_limit!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be None or one of {self.metadata['render_modes']}")
        for name, value in (("seed_split", seed_split), ("encoding_seed", encoding_seed)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        self.d = int(d)
        self.representation = representation
        self.tokenizer = tokens.Tokenizer(
            self.d, representation=representation, line_numbers=bool(line_numbers)
        )
        shortest = self.tokenizer.length(self.d + 1)
        if max_length is None:
            max_length = self.tokenizer.max_length
        if (
            isinstance(max_length, bool)
            or not isinstance(max_length, int | np.integer)
            or not (shortest <= max_length <= self.tokenizer.max_length)
        ):
            raise ValueError(
                f"max_length must be an integer in {shortest}..{self.tokenizer.max_length} "
                f"(shortest and longest grammatical sequence), got {max_length!r}"
            )
        self.max_length = int(max_length)
        self.grammar_mask = bool(grammar_mask)
        self.reward_config = RewardConfig.from_any(reward)
        self.target = resolve_target(target)
        self.normality = normality
        self.check_time_limit = check_time_limit
        self.render_mode = render_mode
        cache = None if cache_dir is None else str(cache_dir)
        self.index: DatasetIndex | None = None
        if identify:
            try:
                self.index = dataset_index(
                    self.d,
                    int(seed_split),
                    embedding,
                    row_order,
                    int(encoding_seed),
                    representation,
                    cache,
                )
            except FileNotFoundError as error:
                raise ValueError(
                    f"identify=True needs the d={d} dataset ({error}); pass identify=False"
                ) from error
        if known is None:
            known_keys: frozenset[bytes] = frozenset()
        elif isinstance(known, str):
            if known not in KNOWN_SPLITS:
                raise ValueError(
                    f"known must be one of {KNOWN_SPLITS}, None or keys, got {known!r}"
                )
            try:
                known_keys = _known_keys(self.d, int(seed_split), known, cache)
            except FileNotFoundError as error:
                raise ValueError(
                    f"known={known!r} needs the d={d} dataset ({error}); pass known=None"
                ) from error
        else:
            known_keys = keys_from(known)
        self.novelty = NoveltyTracker(known=known_keys)
        self._checker = (
            properties.check_hyperplane
            if representation == "hyperplane"
            else properties.check_vertices
        )
        self._checker_kwargs: dict[str, Any] = (
            {} if check_time_limit is None else {"time_limit": float(check_time_limit)}
        )
        vocab = self.tokenizer.vocab_size
        self.action_space = spaces.Discrete(vocab)
        self.observation_space = spaces.Dict(
            {
                "tokens": spaces.Box(0, vocab - 1, (self.max_length,), np.int64),
                "position": spaces.Box(0, self.max_length, (1,), np.int64),
                "action_mask": spaces.MultiBinary(vocab),
            }
        )
        self._free_mask = np.ones(vocab, dtype=bool)
        self._free_mask[[tokens.PAD_ID, tokens.START_ID]] = False
        self._tokens = np.zeros(self.max_length, dtype=np.int64)
        self._state = grammar.GrammarState(self.tokenizer)
        self._position = 0
        self._done = True
        self._mask = np.zeros(vocab, dtype=bool)
        self._last_info: dict[str, Any] = {}

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new sequence (``<start>`` given); ``options={"reset_novelty": True}``."""
        super().reset(seed=seed)
        if options and options.get("reset_novelty"):
            self.novelty.reset()
        self._tokens[:] = tokens.PAD_ID
        self._tokens[0] = tokens.START_ID
        self._position = 1
        self._state = grammar.GrammarState(self.tokenizer)
        self._done = False
        self._last_info = {}
        self._mask = self._compute_mask()
        return self._observation(), {"action_mask": self.action_masks().astype(np.int8)}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("the episode is over: call reset()")
        token = int(action)
        if not 0 <= token < self.tokenizer.vocab_size or token != action:
            raise ValueError(f"action {action!r} outside Discrete({self.tokenizer.vocab_size})")
        if not self._mask[token]:
            self._done = True
            info = {
                "reason": f"masked action {self.tokenizer.names[token]} (id {token}) at "
                f"position {self._position}",
                "masked_action": True,
                "reward_terms": {"masked_action": -self.reward_config.masked_action_penalty},
            }
            return self._finish(-self.reward_config.masked_action_penalty, True, False, info)
        self._tokens[self._position] = token
        self._position += 1
        self._state.push(token)
        self._mask = self._compute_mask()
        if token == tokens.END_ID:
            self._done = True
            reward, info = self._evaluate()
            return self._finish(reward, True, False, info)
        if self._position >= self.max_length:
            self._done = True
            info = {
                "reason": f"truncated: {self.max_length} tokens without {tokens.END}",
                "reward_terms": {},
            }
            return self._finish(0.0, False, True, info)
        observation = self._observation()
        return observation, 0.0, False, False, {"action_mask": observation["action_mask"]}

    def action_masks(self) -> np.ndarray:
        """Boolean mask of allowed tokens (sb3-contrib ``MaskablePPO`` protocol)."""
        return np.zeros_like(self._free_mask) if self._done else self._mask.copy()

    def _compute_mask(self) -> np.ndarray:
        if self._done:
            return np.zeros(self.tokenizer.vocab_size, dtype=bool)
        if not self.grammar_mask:
            return self._free_mask.copy()
        return self._state.mask()

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        text = self.tokenizer.render(self._tokens[: self._position])
        matrix = self._last_info.get("matrix")
        if matrix is not None:
            text += "\n" + "\n".join(" ".join(f"{v:>2}" for v in row) for row in matrix)
        return text

    # ------------------------------------------------------------------ internals
    @property
    def prefix(self) -> np.ndarray:
        """The tokens written so far (``<start>`` included)."""
        return self._tokens[: self._position].copy()

    def _observation(self) -> dict[str, np.ndarray]:
        return {
            "tokens": self._tokens.copy(),
            "position": np.array([self._position], dtype=np.int64),
            "action_mask": self.action_masks().astype(np.int8),
        }

    def _finish(
        self, reward: float, terminated: bool, truncated: bool, info: dict[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        observation = self._observation()
        info = {
            "matrix": None,
            "report": None,
            "lattice_key": None,
            "identification": None,
            "novel": False,
            "reason": None,
            **info,
            "action_mask": observation["action_mask"],
        }
        self._last_info = info
        return observation, float(reward), terminated, truncated, info

    def _evaluate(self) -> tuple[float, dict[str, Any]]:
        """Decode, check, identify and score the finished sequence."""
        try:
            matrix = self.tokenizer.decode(self._tokens[: self._position])
        except ParseError as error:
            return 0.0, {"reason": f"not parseable: {error}", "reward_terms": {}}
        report: PropertyReport = self._checker(
            matrix, normality=self.normality, **self._checker_kwargs
        )
        info: dict[str, Any] = {
            "matrix": matrix.tolist(),
            "report": report.to_dict(),
            "reason": report.reason,
        }
        terms = property_terms(report, self.reward_config, self.target)
        identification, key = self._identify(matrix, report)
        info["identification"] = None if identification is None else identification.to_dict()
        info["lattice_key"] = None if key is None else key.hex()
        novel = False
        if key is not None and success(report, self.target):
            novel = self.novelty.add(key)
        info["novel"] = novel
        terms["novelty"] = self.reward_config.novelty_bonus if novel else 0.0
        info["reward_terms"] = terms
        return float(sum(terms.values())), info

    def _identify(
        self, matrix: np.ndarray, report: PropertyReport
    ) -> tuple[Identification | None, bytes | None]:
        """Identification (with ``identify``) and the lattice key of a compact sample."""
        if not report.parseable or not report.compact:
            return None, None  # no polytope: no class (not compact => rows do not span)
        if self.index is not None:
            identification = self.index.identify(matrix, report=report)
            key = None if identification.key is None else bytes.fromhex(identification.key)
            return identification, key
        needs_key = self.reward_config.novelty_bonus > 0 and success(report, self.target)
        if not needs_key:
            return None, None
        try:
            reduced = irredundant(matrix, self.representation, report=report)
            if reduced.hyperplane is None:
                return None, None
            return None, normal_form.lattice_key(reduced.hyperplane)
        except (ValueError, RuntimeError):
            return None, None
