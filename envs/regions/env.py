"""RegionEnum-v0: discover the linear regions of a ReLU network by querying points."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.regions.exact import RegionResult, count_regions_traversal
from envs.regions.generator import FixedNetworkGenerator, NetworkGenerator, make_generator
from envs.regions.network import ReLUNetwork
from envs.regions.reward import NewRegionReward
from envs.regions.types import RegionEnumState


class RegionEnumEnv(gym.Env):
    """Active sampling of the linear regions of a ReLU network.

    ## Description
    At reset the env draws a ReLU network from a generator (or takes
    ``options["network"]``) and computes its exact linear regions inside the box
    ``[-R, R]^n0`` with the activation-cell traversal of :mod:`envs.regions.exact`.
    Each step the agent queries one point of the box; the goal is to hit as many
    distinct linear regions as possible within a budget of queries.

    ## Action Space
    ``Box(-R, R, (n0,), float32)``: the query point (clipped to the box).

    ## Observation Space
    ``Box(-1, 1, (3 + 3 n0 + n0 * bins,), float32)``, a fixed-size summary of the queries:

    - ``[0]`` budget left / budget; ``[1]`` regions found / budget; ``[2]`` last reward;
    - ``[3 : 3 + n0]`` last query / R;
    - ``[3 + n0 : 3 + 2 n0]`` mean of the queries / R;
    - ``[3 + 2 n0 : 3 + 3 n0]`` standard deviation of the queries / R;
    - then, per input coordinate, a histogram of the queries over ``bins`` equal bins of
      ``[-R, R]`` (fractions of the queries so far).

    ## Rewards
    ``reward_fn(state, region, is_new)``; by default 1 when the query lies in a linear
    region not discovered before, 0 otherwise (points on region boundaries give 0).

    ## Episode End
    Terminated when the budget of queries is used up, or (``stop_when_complete``) when all
    regions of the box are found.  ``info`` has ``found``, ``total``, ``found_fraction``,
    ``region``, ``is_new`` and the network's ``architecture``.

    ## Arguments
    - ``architectures`` (``[[2, 8, 1]]``): architectures of the default random MLP generator.
    - ``generator``: a :class:`envs.regions.generator.NetworkGenerator` (overrides the above),
      or the string ``"deepsets"`` with ``input_dim``.
    - ``network``: a fixed :class:`ReLUNetwork` (overrides both).
    - ``budget`` (64), ``radius`` R (5.0), ``histogram_bins`` (8), ``stop_when_complete``
      (False), ``reward_fn`` (:class:`NewRegionReward`), ``max_cells`` (50 000) limits the
      exact traversal, ``cache_size`` (32) networks whose regions are cached.
    """

    metadata = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        architectures: Sequence[Sequence[int] | str] = ((2, 8, 1),),
        generator: NetworkGenerator | str | None = None,
        network: ReLUNetwork | None = None,
        budget: int = 64,
        radius: float = 5.0,
        histogram_bins: int = 8,
        stop_when_complete: bool = False,
        reward_fn: NewRegionReward | None = None,
        max_cells: int = 50_000,
        cache_size: int = 32,
        input_dim: int = 3,
        deepsets_depth: int = 2,
        render_mode: str | None = None,
    ) -> None:
        if budget < 1:
            raise ValueError("budget must be >= 1")
        if not np.isfinite(radius) or radius <= 0:
            raise ValueError("radius must be a positive finite number")
        if histogram_bins < 1:
            raise ValueError("histogram_bins must be >= 1")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"unsupported render_mode {render_mode!r}")
        if network is not None:
            self.generator: NetworkGenerator = FixedNetworkGenerator(network)
        elif generator == "deepsets":
            self.generator = make_generator("deepsets", input_dim=input_dim, depth=deepsets_depth)
        elif generator is None or generator == "mlp":
            self.generator = make_generator("mlp", architectures=architectures)
        elif isinstance(generator, str):
            raise ValueError(f"unknown generator {generator!r}")
        else:
            self.generator = generator
        self.input_dim = int(self.generator.input_dim)
        self.budget, self.radius = int(budget), float(radius)
        self.histogram_bins = int(histogram_bins)
        self.stop_when_complete = bool(stop_when_complete)
        self.reward_fn = reward_fn if reward_fn is not None else NewRegionReward()
        self.max_cells = int(max_cells)
        self.render_mode = render_mode
        self._cache: OrderedDict[str, RegionResult] = OrderedDict()
        self._cache_size = int(cache_size)
        n0 = self.input_dim
        self.action_space = spaces.Box(-self.radius, self.radius, shape=(n0,), dtype=np.float32)
        obs_dim = 3 + 3 * n0 + n0 * self.histogram_bins
        self.observation_space = spaces.Box(-1.0, 1.0, shape=(obs_dim,), dtype=np.float32)
        self.state: RegionEnumState | None = None

    # ------------------------------------------------------------------ helpers
    def _regions(self, network: ReLUNetwork) -> RegionResult:
        digest = hashlib.sha1()
        for array in network.weights + network.biases:
            digest.update(np.ascontiguousarray(array).tobytes())
        key = digest.hexdigest()
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        result = count_regions_traversal(network, box_radius=self.radius, max_cells=self.max_cells,
                                         start_point=np.zeros(network.input_dim),
                                         interior_points=False)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def _observation(self) -> np.ndarray:
        state = self.state
        n0, radius = self.input_dim, self.radius
        queries = state.queries[: state.num_queries] / radius
        head = [state.budget_left / state.budget, len(state.found) / state.budget, state.last_reward]
        if state.num_queries:
            last, mean, std = queries[-1], queries.mean(axis=0), queries.std(axis=0)
            bins = np.clip(((queries + 1.0) / 2.0 * self.histogram_bins).astype(int), 0,
                           self.histogram_bins - 1)
            hist = np.stack([np.bincount(bins[:, k], minlength=self.histogram_bins)
                             for k in range(n0)]).ravel() / state.num_queries
        else:
            last = mean = std = np.zeros(n0)
            hist = np.zeros(n0 * self.histogram_bins)
        obs = np.concatenate([head, last, mean, std, hist]).astype(np.float32)
        return np.clip(obs, -1.0, 1.0)

    def _info(self, region: int | None = None, is_new: bool = False) -> dict[str, Any]:
        state = self.state
        return {
            "found": len(state.found),
            "total": state.total_regions,
            "found_fraction": len(state.found) / max(1, state.total_regions),
            "region": -1 if region is None else int(region),
            "is_new": bool(is_new),
            "queries_left": state.budget_left,
            "architecture": state.network.architecture,
        }

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        super().reset(seed=seed)
        options = options or {}
        network = options.get("network")
        if network is None:
            network = self.generator(self.np_random)
        elif not isinstance(network, ReLUNetwork):
            raise ValueError("options['network'] must be a ReLUNetwork")
        if network.input_dim != self.input_dim:
            raise ValueError(f"network input dim {network.input_dim} != env input dim {self.input_dim}")
        self.state = RegionEnumState(
            network=network,
            regions=self._regions(network),
            budget=self.budget,
            radius=self.radius,
            queries=np.zeros((self.budget, self.input_dim)),
        )
        return self._observation(), self._info()

    def step(self, action):
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        state = self.state
        if state.budget_left <= 0:
            raise RuntimeError("the episode is over; call reset()")
        point = np.asarray(action, dtype=np.float64).reshape(-1)
        if point.shape != (self.input_dim,):
            raise ValueError(f"action must have shape ({self.input_dim},), got {point.shape}")
        if not np.isfinite(point).all():
            raise ValueError("action contains NaN or inf")
        point = np.clip(point, -self.radius, self.radius)
        state.queries[state.num_queries] = point
        state.num_queries += 1
        region = state.region_of(point)
        is_new = region is not None and region not in state.found
        if is_new:
            state.found.add(region)
        reward = float(self.reward_fn(state, region, is_new))
        state.last_reward = float(np.clip(reward, -1.0, 1.0))
        complete = len(state.found) == state.total_regions
        terminated = state.budget_left == 0 or (self.stop_when_complete and complete)
        return self._observation(), reward, terminated, False, self._info(region, is_new)

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.state is None:
            return None
        state = self.state
        return (f"RegionEnum {state.network.architecture}: found {len(state.found)}/"
                f"{state.total_regions} regions with {state.num_queries}/{state.budget} queries")
