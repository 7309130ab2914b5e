"""Rewards of PolytopeGen-v0: property credit, target predicates and a novelty bonus.

At the end of an episode the decoded matrix is checked exactly
(:mod:`envs.polytopes.properties`) and :func:`compute_reward` turns the report into a
reward. ``None`` in the report ("unknown", e.g. a check that ran out of time) earns no
credit. Terms (all configurable in :class:`RewardConfig`):

* **properties** (no target): ``property_weights[p]`` for each property ``p`` that holds.
  Default: equal weights summing to ``1.0`` over the representation's properties
  (hyperplane: compact, lattice, reflexive, smooth, normal, 0.2 each; vertices:
  reflexive, smooth, normal, 1/3 each), so a polytope with all properties earns 1.0.
* **target** (when a target predicate is given): ``target_bonus`` if the predicate
  holds, else 0; the property terms are then dropped unless ``keep_properties``.
* **novelty**: ``novelty_bonus`` (default 0.5; 0 disables) for a *success* (report.all,
  or the target predicate when a target is given) whose lattice class is neither in the
  known set nor produced before in this environment's run (:class:`NoveltyTracker`).
* **redundancy**: ``-redundancy_penalty`` (default 0) when the matrix repeats a row or has
  a row that defines no facet (``report.irredundant is False``): the polytope is the same,
  but the matrix is not the irredundant hyperplane description the dataset uses.
* a masked action ends the episode with ``-masked_action_penalty`` (default 0).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from envs.polytopes.properties import PropertyReport

PROPERTIES = {
    "hyperplane": ("compact", "lattice", "reflexive", "smooth", "normal"),
    "vertices": ("reflexive", "smooth", "normal"),
}

Target = Callable[[PropertyReport], bool | None]


def _all(report: PropertyReport) -> bool | None:
    return report.all


def _smooth_not_normal(report: PropertyReport) -> bool | None:
    if report.normal is None or report.smooth is None:
        return None
    return bool(report.smooth and report.reflexive and report.normal is False)


def _smooth(report: PropertyReport) -> bool | None:
    return report.smooth


def _reflexive_not_smooth(report: PropertyReport) -> bool | None:
    if report.reflexive is None or report.smooth is None:
        return None
    return bool(report.reflexive and report.smooth is False)


TARGETS: dict[str, Target] = {
    "all": _all,
    "smooth": _smooth,
    "smooth_not_normal": _smooth_not_normal,
    "reflexive_not_smooth": _reflexive_not_smooth,
}


def resolve_target(target: str | Target | None) -> Target | None:
    """A target predicate from its registry name (:data:`TARGETS`) or a callable."""
    if target is None or callable(target):
        return target
    if isinstance(target, str) and target in TARGETS:
        return TARGETS[target]
    raise ValueError(f"target must be a callable or one of {sorted(TARGETS)}, got {target!r}")


@dataclass(frozen=True)
class RewardConfig:
    """Weights of the end-of-episode reward (see the module docstring)."""

    property_weights: Mapping[str, float] | None = None  # None: equal, summing to 1.0
    target_bonus: float = 1.0
    keep_properties: bool = False
    novelty_bonus: float = 0.5
    masked_action_penalty: float = 0.0
    redundancy_penalty: float = 0.0  # subtracted when rows repeat or do not define facets

    def __post_init__(self) -> None:
        for name in ("target_bonus", "novelty_bonus", "masked_action_penalty", "redundancy_penalty"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or value != value:
                raise ValueError(f"RewardConfig.{name} must be a number, got {value!r}")
        if self.novelty_bonus < 0 or self.masked_action_penalty < 0 or self.redundancy_penalty < 0:
            raise ValueError(
                "novelty_bonus, masked_action_penalty and redundancy_penalty must be >= 0"
            )
        if self.property_weights is not None:
            known = set(PROPERTIES["hyperplane"])
            unknown = set(self.property_weights) - known
            if unknown:
                raise ValueError(f"unknown properties {sorted(unknown)}; known: {sorted(known)}")

    @classmethod
    def from_any(cls, value: RewardConfig | Mapping[str, Any] | None) -> RewardConfig:
        """Accept a config, a dict of its fields or ``None`` (defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            names = {f.name for f in fields(cls)}
            unknown = set(value) - names
            if unknown:
                raise ValueError(
                    f"unknown RewardConfig fields {sorted(unknown)}; known {sorted(names)}"
                )
            return cls(**value)
        raise ValueError(
            f"reward must be a RewardConfig, a dict or None, got {type(value).__name__}"
        )

    def weights(self, representation: str) -> dict[str, float]:
        """Per-property weights for ``representation``."""
        names = PROPERTIES[representation]
        if self.property_weights is None:
            return {name: 1.0 / len(names) for name in names}
        return {name: float(self.property_weights.get(name, 0.0)) for name in names}


@dataclass
class NoveltyTracker:
    """Lattice classes produced so far in one environment's run (plus the known set)."""

    known: frozenset[bytes] = frozenset()
    seen: set[bytes] = field(default_factory=set)

    def is_new(self, key: bytes) -> bool:
        return key not in self.known and key not in self.seen

    def add(self, key: bytes) -> bool:
        """Record ``key``; True if it was new (not known, not seen before)."""
        new = self.is_new(key)
        self.seen.add(key)
        return new

    def reset(self) -> None:
        self.seen.clear()


def success(report: PropertyReport, target: Target | None) -> bool:
    """The sample counts as a success: ``report.all``, or the target predicate holds."""
    if target is None:
        return bool(report.all)
    return target(report) is True


def property_terms(
    report: PropertyReport, config: RewardConfig, target: Target | None
) -> dict[str, float]:
    """Reward terms except novelty (unknown properties earn nothing)."""
    terms: dict[str, float] = {}
    if target is None or config.keep_properties:
        for name, weight in config.weights(report.representation).items():
            terms[name] = weight if getattr(report, name) is True else 0.0
    if target is not None:
        terms["target"] = config.target_bonus if target(report) is True else 0.0
    if config.redundancy_penalty and report.irredundant is False:
        terms["redundancy"] = -config.redundancy_penalty
    return terms


def keys_from(known: Iterable[bytes | str]) -> frozenset[bytes]:
    """Lattice keys given as bytes or hex strings."""
    out = set()
    for key in known:
        if isinstance(key, str):
            try:
                key = bytes.fromhex(key)
            except ValueError:
                raise ValueError(f"a lattice key is 64 hex digits, got {key!r}") from None
        if not isinstance(key, bytes | bytearray) or len(key) != 32:
            raise ValueError(f"a lattice key is 32 bytes (or 64 hex digits), got {key!r}")
        out.add(bytes(key))
    return frozenset(out)
