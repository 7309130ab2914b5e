"""PolyProof-v0: search for dynamic semi-algebraic proofs of polynomial upper bounds."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import networkx as nx
import numpy as np
from gymnasium import spaces

from envs.highs import LPError
from envs.polyproof.generator import FixedProblemGenerator, Generator, RandomStableSetGenerator
from envs.polyproof.problem import Problem
from envs.polyproof.proof import Proof, render_steps
from envs.polyproof.reward import bound_improvement, effective_bound
from envs.polyproof.session import INT16_MAX, ProofSession
from envs.polyproof.types import CandidateStatus, MonomialIndex


def default_max_terms(n: int, max_memory: int, max_steps: int) -> int:
    """The default term budget of the observation: room for the axioms and for every step
    to add a linear polynomial (up to ``n + 1`` terms), and never below ``4 * max_memory + 4n``.

    A clique ``S`` is proved by a chain of ``|S| - 1`` products whose polynomials have
    ``3, 4, ..., |S| + 1`` terms, so clique proofs on dense graphs store ``O(|S|^2)`` terms.
    The former budget ``4 * max_memory + 4n`` (four terms per element) ran out after about
    40 steps on dense ``G(50, 0.975)`` and masked every action (issue 13).
    """
    axioms = 1 + 3 * n  # 1, x_i and 1 - x_i
    return max(4 * max_memory + 4 * n, axioms + max_steps * (n + 1))


def observation_space(
    n: int, max_degree: int, max_memory: int, max_terms: int, max_steps: int
) -> spaces.Dict:
    """PolyProof-v0's observation space for these sizes (see :class:`PolyProofEnv`)."""
    num_monomials = MonomialIndex(n, max_degree).size
    if num_monomials > INT16_MAX:
        raise ValueError(f"n={n}, max_degree={max_degree}: too many monomials to encode")
    big = np.float32(np.finfo(np.float32).max)
    return spaces.Dict(
        {
            "objective": spaces.Box(-big, big, (num_monomials,), np.float32),
            "memory_term_owner": spaces.Box(-1, max_memory - 1, (max_terms,), np.int16),
            "memory_term_monomial": spaces.Box(-1, num_monomials - 1, (max_terms,), np.int16),
            "memory_term_coefficient": spaces.Box(-INT16_MAX, INT16_MAX, (max_terms,), np.int16),
            "memory_mask": spaces.Box(0, 1, (max_memory,), np.int8),
            "equalities": spaces.Box(-1, num_monomials - 1, (num_monomials - 1,), np.int16),
            "action_mask": spaces.Box(0, 1, (max_memory * 2 * n,), np.int8),
            "bound": spaces.Box(-big, big, (1,), np.float32),
            "steps_left": spaces.Box(0, max_steps, (1,), np.float32),
        }
    )


class PolyProofEnv(gym.Env):
    """Dynamic polynomial proofs on ``[0,1]^n`` (Fawzi et al. 2019).

    ## Description
    A problem asks to maximise a polynomial ``f`` over ``x in {0,1}^n`` subject to
    monomial equalities ``x^S = 0`` (stable set: one per edge). The memory starts
    with the axioms ``1, x_i, 1 - x_i >= 0``. Each step multiplies a memory element
    by ``x_i`` or ``1 - x_i``, reduces the product modulo ``x_i^2 = x_i`` and the
    equalities, and adds it. An LP (HiGHS, warm-started) gives the best bound
    ``gamma_t = min {gamma : gamma - f = sum lambda_i m_i, lambda >= 0}``.
    :meth:`certificate` returns an exact rational proof of the current bound.

    ## Action Space
    ``Discrete(max_memory * 2n)``: action ``a`` multiplies memory element
    ``a // 2n`` by ``x_{k+1}`` if ``k = a % 2n < n``, else by ``1 - x_{k-n+1}``.
    Legal actions are given by ``info["action_mask"]``, ``obs["action_mask"]`` and
    :meth:`action_masks` (sb3-contrib). Masked are: empty memory slots, products of
    degree above ``max_degree`` (illegal), products that reduce to 0 or duplicate a
    positive multiple of a memory element (useless), and products that do not fit
    the observation (more terms than ``max_terms`` allows, or a coefficient beyond
    int16). A masked action in range leaves the state unchanged and gives reward
    ``-invalid_action_penalty``; an action outside the space raises ``ValueError``.

    ## Observation Space
    A ``Dict`` of fixed-shape arrays over the monomial index of
    :class:`envs.polyproof.types.MonomialIndex` (all multilinear monomials of degree
    ``<= max_degree``, ``N = sum_d C(n, d)``; 326 for ``n = 25``):

    - ``objective``: ``float32[N]`` coefficients of ``f``.
    - ``memory_term_owner`` / ``memory_term_monomial`` / ``memory_term_coefficient``:
      ``int16[max_terms]`` each, the memory as a list of terms (memory index,
      monomial index, coefficient), padded with ``-1, -1, 0``.
    - ``memory_mask``: ``int8[max_memory]``, 1 for filled memory slots.
    - ``equalities``: ``int16[N - 1]`` monomial indices of the equality monomials, padded with -1.
    - ``action_mask``: ``int8[max_memory * 2n]``.
    - ``bound``: ``float32[1]`` the current (effective) bound; ``steps_left``: ``float32[1]``.

    With the defaults at ``n = 25`` (max_memory 151, max_terms 2676) one observation
    takes about 26 KB, so a 100k-transition replay buffer holding ``obs`` and
    ``next_obs`` takes about 5.1 GB. The structured state (polynomial objects) is
    :attr:`session` (``env.unwrapped.session``).

    ## Rewards
    ``r_t = gamma_t - gamma_{t+1} >= 0``, the decrease of the bound. Before the LP
    is feasible (for example MaxCut, whose quadratic terms need products) the
    bound counts as the problem's trivial bound (constant plus positive
    coefficients). A masked action gives ``-invalid_action_penalty``.

    ## Episode End
    Terminated when the bound certifies the known optimum (if the problem has
    one) or when no legal action is left; truncated after ``max_steps`` steps.

    ## Arguments
    - ``n`` (25): number of variables of the default random stable-set generator.
    - ``p_range`` ((0.5, 1.0)): edge probability range of that generator.
    - ``generator``: any :class:`envs.polyproof.generator.Generator` (overrides ``n``).
    - ``problem``: a fixed :class:`Problem` or ``networkx.Graph`` (overrides both).
    - ``max_degree`` (2), ``max_steps`` (100), ``max_memory`` (``2n + 1 + max_steps``),
      ``max_terms`` (:func:`default_max_terms`: ``max(4 max_memory + 4n, 1 + 3n + max_steps (n + 1))``),
      ``invalid_action_penalty`` (1.0),
      ``lp_time_limit`` (30 s), ``render_mode`` (``None`` or ``"ansi"``).

    ``reset(seed=..., options={"problem": Problem | nx.Graph})`` proves a given
    instance instead of drawing one; it must have the env's ``n``.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        n: int = 25,
        p_range: tuple[float, float] = (0.5, 1.0),
        generator: Generator | None = None,
        problem: Problem | nx.Graph | None = None,
        max_degree: int = 2,
        max_steps: int = 100,
        max_memory: int | None = None,
        max_terms: int | None = None,
        invalid_action_penalty: float = 1.0,
        lp_time_limit: float | None = 30.0,
        render_mode: str | None = None,
    ) -> None:
        super().__init__()
        if problem is not None:
            generator = FixedProblemGenerator(problem)
        if generator is None:
            generator = RandomStableSetGenerator(n=n, p_range=p_range)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']}")
        if max_steps < 1:
            raise ValueError(f"max_steps must be positive, got {max_steps}")
        if not np.isfinite(invalid_action_penalty):
            raise ValueError("invalid_action_penalty must be finite")
        self.generator = generator
        self.n = generator.n
        self.max_degree = int(max_degree)
        self.max_steps = int(max_steps)
        self.max_memory = (
            int(max_memory) if max_memory is not None else 2 * self.n + 1 + self.max_steps
        )
        self.max_terms = (
            int(max_terms)
            if max_terms is not None
            else default_max_terms(self.n, self.max_memory, self.max_steps)
        )
        self.invalid_action_penalty = float(invalid_action_penalty)
        self.lp_time_limit = lp_time_limit
        self.render_mode = render_mode

        self.monomial_index = MonomialIndex(self.n, self.max_degree)
        num_monomials = self.monomial_index.size
        if num_monomials > INT16_MAX:
            raise ValueError(
                f"n={self.n}, max_degree={self.max_degree}: too many monomials to encode"
            )
        self.num_multipliers = 2 * self.n
        self.action_space = spaces.Discrete(self.max_memory * self.num_multipliers)
        self.observation_space = observation_space(
            self.n, self.max_degree, self.max_memory, self.max_terms, self.max_steps
        )
        self.session: ProofSession | None = None
        self.problem: Problem | None = None
        self._steps = 0
        self._term_arrays: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._equalities: np.ndarray | None = None
        self._objective: np.ndarray | None = None

    # -- gymnasium API ------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        given = options.get("problem", options.get("graph"))
        if given is not None:
            problem = FixedProblemGenerator(given).problem
        else:
            problem = self.generator(self.np_random)
        self._start(problem)
        return self._observation(), self._info(invalid=False)

    def _start(self, problem: Problem) -> None:
        if problem.n != self.n:
            raise ValueError(f"problem has n={problem.n} but this env has n={self.n}")
        too_high = [e for e in problem.equalities if len(e) > self.max_degree]
        if too_high:
            raise ValueError(
                f"equality monomial {too_high[0]} has degree > max_degree={self.max_degree}; "
                "it cannot be encoded in the observation"
            )
        self.problem = problem
        self.session = ProofSession(
            problem,
            max_degree=self.max_degree,
            max_memory=self.max_memory,
            max_terms=self.max_terms,
            lp_time_limit=self.lp_time_limit,
        )
        self._steps = 0
        self._trivial = float(problem.trivial_bound())
        self._lp_status = self.session.solution.status
        idx = self.monomial_index
        self._objective = idx.dense(problem.objective)
        eq = np.full(idx.size - 1, -1, dtype=np.int16)
        positions = [idx.index(e) for e in problem.equalities]
        eq[: len(positions)] = positions
        self._equalities = eq
        owner = np.full(self.max_terms, -1, dtype=np.int16)
        mono = np.full(self.max_terms, -1, dtype=np.int16)
        coef = np.zeros(self.max_terms, dtype=np.int16)
        self._term_arrays = (owner, mono, coef)
        self._filled_terms = 0
        for slot in range(len(self.session.memory)):
            self._write_terms(slot)

    def _write_terms(self, slot: int) -> None:
        owner, mono, coef = self._term_arrays  # type: ignore[misc]
        poly = self.session.memory[slot]  # type: ignore[union-attr]
        start = self._filled_terms
        stop = start + len(poly)
        if stop > self.max_terms:
            raise RuntimeError("max_terms exceeded; the action mask should have prevented this")
        owner[start:stop] = slot
        position = self.monomial_index.position  # type: ignore[attr-defined]
        for j, (m, c) in enumerate(poly.terms.items()):
            mono[start + j] = position[m]
            coef[start + j] = int(c)
        self._filled_terms = stop

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        if self.session is None:
            raise RuntimeError("call reset() before step()")
        try:
            a = int(action)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"action must be an integer, got {action!r}") from exc
        if not self.action_space.contains(np.int64(a)) or a != action:
            raise ValueError(f"action {action!r} is outside Discrete({self.action_space.n})")
        self._steps += 1
        session = self.session
        mask = session.action_mask()
        if not mask[a]:
            reward = -self.invalid_action_penalty
            truncated = self._steps >= self.max_steps
            terminated = self._terminated(mask)
            info = self._info(invalid=True, reason=CandidateStatus(int(session.status[a])).name)
            return self._observation(mask), reward, terminated, truncated, info
        previous = session.bound
        try:
            session.apply(a)
            self._lp_status = session.solution.status
        except LPError as exc:
            self._lp_status = exc.status
        self._write_terms(len(session.memory) - 1)
        reward = bound_improvement(previous, session.bound, self._trivial)
        mask = session.action_mask()
        terminated = self._terminated(mask)
        truncated = self._steps >= self.max_steps and not terminated
        return self._observation(mask), reward, terminated, truncated, self._info(invalid=False)

    def _terminated(self, mask: np.ndarray) -> bool:
        return bool(self.session.proves_optimum() or not mask.any())  # type: ignore[union-attr]

    def action_masks(self) -> np.ndarray:
        """Boolean mask of legal actions (sb3-contrib's MaskablePPO convention)."""
        if self.session is None:
            raise RuntimeError("call reset() before action_masks()")
        return self.session.action_mask()

    def certificate(self) -> Proof:
        """An exact, verified proof of the current bound (see :mod:`envs.polyproof.proof`)."""
        if self.session is None:
            raise RuntimeError("call reset() before certificate()")
        return self.session.certificate(method="PolyProof-v0")

    def render(self) -> str | None:
        if self.render_mode is None or self.session is None:
            return None
        session = self.session
        proof_lines = render_steps(session.memory, session.steps, self.n)
        proof_lines.append(
            f"bound: {session.bound:.6g} (objective {self.problem.objective.to_string()})"
        )
        return "\n".join(proof_lines)

    # -- helpers ----------------------------------------------------------------------------
    def _observation(self, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
        session = self.session
        if mask is None:
            mask = session.action_mask()  # type: ignore[union-attr]
        owner, mono, coef = self._term_arrays  # type: ignore[misc]
        memory_mask = np.zeros(self.max_memory, dtype=np.int8)
        memory_mask[: len(session.memory)] = 1  # type: ignore[union-attr]
        bound = effective_bound(session.bound, self._trivial)  # type: ignore[union-attr]
        return {
            "objective": self._objective.copy(),  # type: ignore[union-attr]
            "memory_term_owner": owner.copy(),
            "memory_term_monomial": mono.copy(),
            "memory_term_coefficient": coef.copy(),
            "memory_mask": memory_mask,
            "equalities": self._equalities.copy(),  # type: ignore[union-attr]
            "action_mask": mask.astype(np.int8),
            "bound": np.array([bound], dtype=np.float32),
            "steps_left": np.array([self.max_steps - self._steps], dtype=np.float32),
        }

    def _info(self, invalid: bool, reason: str | None = None) -> dict[str, Any]:
        session = self.session
        info: dict[str, Any] = {
            "action_mask": session.action_mask(),  # type: ignore[union-attr]
            "bound": session.bound,  # type: ignore[union-attr]
            "lp_status": self._lp_status,
            "memory_size": len(session.memory),  # type: ignore[union-attr]
            "steps": self._steps,
            "invalid_action": invalid,
            "known_optimum": None
            if self.problem.known_optimum is None
            else float(self.problem.known_optimum),  # type: ignore[union-attr]
            "proved_optimum": session.proves_optimum(),  # type: ignore[union-attr]
        }
        if reason is not None:
            info["invalid_reason"] = reason
        return info
