"""Test-time beam search over proof steps, guided by a learned Q-network.

Beam search of width ``k``: for each of the ``k`` beam states, the ``m`` legal actions of
highest Q are each applied to a copy of the state's environment (one LP solve each); of
all children, the ``k`` with the lowest LP bound are kept, ties broken by the Q-value of
the action that made them (higher first), then by the order of creation (deterministic).
Children that reach the same memory (the same set of products in another order) are
merged. Finished states (no legal action, ``max_steps``) stay in the pool as they are; the
search stops as soon as the best state certifies the problem's known optimum. The result is the final state with the lowest bound; its certificate
is computed and re-checked by the caller (``agents.evaluate`` re-checks it with
``Proof.is_valid`` and the independent checker :mod:`envs.polyproof.verify`).

Copying a state: a HiGHS model cannot be deep-copied (``TypeError: cannot pickle
'Highs' object``), so :func:`fork_env` copies the Python state of the environment and its
:class:`~envs.polyproof.session.ProofSession` one container level deep (polynomials are
immutable and shared) and clones the LP with ``passModel(getLp())`` plus
``setBasis(getBasis())``, so the child's next solve is warm-started from the parent's
optimal basis exactly like the parent's own next solve. A fork costs a few milliseconds,
far less than replaying the action prefix from ``reset`` (one LP solve per step).
``fork_env(env, replay=True)`` replays instead (the reference it is tested against).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.highs import new_highs
from envs.polyproof.env import PolyProofEnv
from envs.polyproof.problem import Problem

__all__ = ["BeamResult", "beam_search", "fork_env", "parse_beam_method"]

BEAM_METHOD = "agent_beam"


def parse_beam_method(spec: str) -> tuple[int, int] | None:
    """``"agent_beam:4"`` -> ``(4, 4)``, ``"agent_beam:4x2"`` -> ``(4, 2)`` (width, expansions
    per state); ``None`` for any other method name. Raises ``ValueError`` for a bad width."""
    name, sep, arg = spec.partition(":")
    if name != BEAM_METHOD:
        return None
    width_text, _, expand_text = arg.partition("x")
    if (
        not sep
        or not width_text.isdigit()
        or int(width_text) < 1
        or (expand_text and (not expand_text.isdigit() or int(expand_text) < 1))
    ):
        raise ValueError(
            f"bad method {spec!r}: use {BEAM_METHOD}:<width> or {BEAM_METHOD}:<width>x<expansions>"
        )
    width = int(width_text)
    return width, int(expand_text) if expand_text else width


# -- copying environments ------------------------------------------------------------------
def _clone_highs(model: Any) -> Any:
    """A new HiGHS model with the same LP, options and basis (warm start preserved)."""
    clone = new_highs()
    clone.passOptions(model.getOptions())
    clone.passModel(model.getLp())
    basis = model.getBasis()
    if basis.valid:
        clone.setBasis(basis)
    return clone


class _SharedListDict(dict):
    """A dict of lists that shares its lists with other forks and copies one on first write.

    :class:`~envs.polyproof.session.ProofSession` only mutates the lists of its
    ``_by_key`` map through ``setdefault(key, []).append(...)`` and removes them with
    ``pop``; copying a list when ``setdefault`` first hands it out makes a fork O(1) per
    key instead of a copy of every list.
    """

    def __init__(self, items: dict) -> None:
        super().__init__(items)
        self._owned: set[int] = set()

    def setdefault(self, key: Any, default: Any = None) -> Any:  # type: ignore[override]
        if key not in self:
            self[key] = default
            self._owned.add(id(default))
            return default
        value = self[key]
        if id(value) not in self._owned:
            value = list(value)
            self[key] = value
            self._owned.add(id(value))
        return value

    def __copy__(self) -> _SharedListDict:
        return _SharedListDict(self)


def _copy_level(value: Any) -> Any:
    """Copy mutable containers one level deep; a dict whose values are lists or sets (all
    of them, judged by the first) gets its values copied too."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        if value and isinstance(next(iter(value.values())), list | set):
            return {k: v.copy() for k, v in value.items()}
        return value.copy()
    if isinstance(value, list | set):
        return value.copy()
    if isinstance(value, tuple) and value and all(isinstance(v, np.ndarray) for v in value):
        return tuple(v.copy() for v in value)
    return value


def _fork_session(session: Any) -> Any:
    new = copy.copy(session)
    for name, value in vars(session).items():
        if name == "problem":
            continue
        if name == "lp":
            lp = copy.copy(value)
            for lp_name, lp_value in vars(value).items():
                if lp_name == "model":
                    lp.model = _clone_highs(lp_value)
                elif lp_name != "objective":
                    setattr(lp, lp_name, _copy_level(lp_value))
            new.lp = lp
        elif isinstance(value, dict) and value and isinstance(next(iter(value.values())), list):
            # share the lists, copying each on its first write (in parent and fork alike)
            setattr(session, name, _SharedListDict(value))
            setattr(new, name, _SharedListDict(value))
        else:
            setattr(new, name, _copy_level(value))
    return new


def fork_env(env: PolyProofEnv, replay: bool = False) -> PolyProofEnv:
    """An independent copy of ``env`` mid-episode (stepping one never changes the other).

    ``replay=True`` builds it instead by a fresh env replaying the episode's actions from
    reset (one LP solve per step; slower, kept as the reference).
    """
    if env.session is None or env.problem is None:
        raise RuntimeError("call reset() before fork_env()")
    if replay:
        clone = PolyProofEnv(
            problem=env.problem,
            max_degree=env.max_degree,
            max_steps=env.max_steps,
            max_memory=env.max_memory,
            max_terms=env.max_terms,
            invalid_action_penalty=env.invalid_action_penalty,
            lp_time_limit=env.lp_time_limit,
        )
        clone.reset(options={"problem": env.problem})
        n2 = env.session.num_multipliers
        for step in env.session.steps:
            clone.step(step.parent * n2 + step.multiplier)
        return clone
    new = copy.copy(env)
    for name, value in vars(env).items():
        if name == "session":
            new.session = _fork_session(value)
        elif name not in ("problem", "generator", "observation_space", "action_space"):
            setattr(new, name, _copy_level(value))
    return new


# -- beam search ------------------------------------------------------------------------------
@dataclass
class _Node:
    env: PolyProofEnv
    obs: dict[str, np.ndarray]
    evaluator: Any
    bound: float
    q: float
    order: int
    done: bool
    keys: frozenset = field(default_factory=frozenset)
    greedy: bool = False  # on the greedy policy's line (always kept in the beam)


@dataclass
class BeamResult:
    """The best final state of a beam search, with its cost."""

    env: PolyProofEnv
    bound: float
    steps: int
    lp_solves: int
    q_evaluations: int
    forks: int
    seconds: float


def _q_values(node: _Node) -> np.ndarray:
    return np.asarray(node.evaluator.q_values(node.obs), dtype=np.float64)


def beam_search(
    evaluator: Any,
    env: PolyProofEnv,
    problem: Problem,
    width: int = 4,
    expansions: int | None = None,
) -> BeamResult:
    """Beam search of ``width`` states, expanding the top-``expansions`` actions by Q of each.

    ``evaluator`` has ``q_values(obs) -> float array`` (``-inf`` for masked actions) and
    ``reset()``, e.g. :class:`agents.dqn.policies.CachedQEvaluator`; it is copied along with
    each state (its cache then stays incremental). ``env`` is reset to ``problem`` and
    left at the root. ``lp_solves`` counts every LP solve, the initial one included (a
    greedy episode of ``T`` steps makes ``T + 1``). The greedy policy's line always stays
    in the beam (as an extra, ``width + 1``-th state when it would drop out), so the
    result is never worse than the greedy agent's; with ``width = expansions = 1`` it is the greedy
    policy.
    """
    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    expansions = width if expansions is None else int(expansions)
    if expansions < 1:
        raise ValueError(f"expansions must be >= 1, got {expansions}")
    start = time.perf_counter()
    obs, info = env.reset(options={"problem": problem})
    evaluator.reset()
    counter = 0
    lp_solves = 1
    q_evaluations = 0
    forks = 0
    root = _Node(env, obs, evaluator, float(info["bound"]), 0.0, counter, False, greedy=True)
    root.done = bool(env.session.proves_optimum() or not obs["action_mask"].any())  # type: ignore[union-attr]
    beam = [root]
    while not all(node.done for node in beam):
        pool: list[_Node] = []
        seen: set[frozenset] = set()
        greedy_keys: frozenset | None = None  # the state the greedy line moves to
        for node in beam:
            if node.done:
                if node.greedy:
                    greedy_keys = node.keys
                if node.keys not in seen:
                    seen.add(node.keys)
                    pool.append(node)
                continue
            q = _q_values(node)
            q_evaluations += 1
            legal = np.flatnonzero(np.isfinite(q))
            if legal.size == 0:  # the network sees no legal action: the state is final
                node.done = True
                if node.greedy:
                    greedy_keys = node.keys
                pool.append(node)
                continue
            # top actions by Q, ties by action id (stable sort of -q)
            ranked = legal[np.argsort(-q[legal], kind="stable")][:expansions]
            for rank, action in enumerate(ranked):
                session = node.env.session
                key = session.product(int(action)).primitive_key()  # type: ignore[union-attr]
                keys = node.keys | {key}
                if node.greedy and rank == 0:
                    greedy_keys = keys
                if keys in seen:
                    continue
                seen.add(keys)
                child_env = fork_env(node.env)
                forks += 1
                child_obs, _, terminated, truncated, child_info = child_env.step(int(action))
                lp_solves += 1
                counter += 1
                pool.append(
                    _Node(
                        env=child_env,
                        obs=child_obs,
                        evaluator=copy.copy(node.evaluator),
                        bound=float(child_info["bound"]),
                        q=float(q[action]),
                        order=counter,
                        done=bool(terminated or truncated),
                        keys=keys,
                    )
                )
        for candidate in pool:  # one state carries the greedy line (same memory, same state)
            candidate.greedy = candidate.keys == greedy_keys
        pool.sort(key=lambda nd: (nd.bound, -nd.q, nd.order))
        beam = pool[:width]
        if not any(nd.greedy for nd in beam):  # keep the greedy line: never worse than greedy
            beam += [nd for nd in pool if nd.greedy][:1]  # as an extra state, not a replacement
        if beam[0].env.session.proves_optimum():  # type: ignore[union-attr]
            beam = beam[:1]  # nothing can beat a certified optimum: stop
            break
    best = min(beam, key=lambda nd: (nd.bound, -nd.q, nd.order))
    return BeamResult(
        env=best.env,
        bound=best.bound,
        steps=len(best.env.session.steps),  # type: ignore[union-attr]
        lp_solves=lp_solves,
        q_evaluations=q_evaluations,
        forks=forks,
        seconds=time.perf_counter() - start,
    )
