"""Baseline query policies for RegionEnum-v0.

Every sampler has ``reset(env)`` (called after ``env.reset``; reads the network from
``env.unwrapped.state``) and ``act(observation, info) -> action``; all randomness comes from
the sampler's own seeded generator.

- :class:`UniformSampler`: uniform in the box ``[-R, R]^n0``.
- :class:`HoffmanRadiusSampler`: uniform in the cube of the minimal-effective-radius bound
  ``r = H(f) * residual(0)`` (Prop. 22 of Lezeau et al. 2024; ``H`` from the upper bound
  of the Hoffman constant), intersected with the box: every linear region meets that cube.
- :class:`FundamentalDomainSampler`: for permutation-invariant networks, uniform in the
  fundamental domain ``x1 >= ... >= xn``; each query that finds a new region queues the
  permuted copies of the point (images of the region under the symmetry).
"""

from __future__ import annotations

import itertools

import numpy as np

from envs.regions.hoffman import minimal_effective_radius_bound
from envs.regions.tropical import network_to_tropical


class UniformSampler:
    name = "uniform"

    def __init__(self, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)

    def reset(self, env) -> None:
        self.radius = env.unwrapped.radius
        self.dim = env.unwrapped.input_dim

    def act(self, observation: np.ndarray, info: dict) -> np.ndarray:
        return self.rng.uniform(-self.radius, self.radius, size=self.dim).astype(np.float32)


class HoffmanRadiusSampler(UniformSampler):
    name = "hoffman_radius"

    def __init__(self, seed: int = 0, method: str = "upper") -> None:
        super().__init__(seed)
        self.method = method
        self.effective_radius = np.inf

    def reset(self, env) -> None:
        super().reset(env)
        network = env.unwrapped.state.network
        if network.output_dim != 1:
            raise ValueError("the Hoffman-radius sampler needs a scalar network")
        f = network_to_tropical(network, prune_intermediate=True)[0].pruned()
        self.effective_radius = minimal_effective_radius_bound(f, method=self.method)
        self.sample_radius = float(min(self.radius, max(self.effective_radius, 1e-6)))

    def act(self, observation: np.ndarray, info: dict) -> np.ndarray:
        return self.rng.uniform(-self.sample_radius, self.sample_radius, size=self.dim).astype(
            np.float32
        )


class FundamentalDomainSampler(UniformSampler):
    name = "fundamental_domain"

    def __init__(self, seed: int = 0, max_images: int = 24) -> None:
        super().__init__(seed)
        self.max_images = max_images

    def reset(self, env) -> None:
        super().reset(env)
        self.queue: list[np.ndarray] = []
        self.last_point: np.ndarray | None = None

    def act(self, observation: np.ndarray, info: dict) -> np.ndarray:
        if info.get("is_new") and self.last_point is not None:
            images = {
                tuple(self.last_point[list(perm)])
                for perm in itertools.islice(itertools.permutations(range(self.dim)), 1, None)
            }
            images.discard(tuple(self.last_point))
            images = sorted(images)
            self.rng.shuffle(images)
            self.queue.extend(np.array(image) for image in images[: self.max_images])
        if self.queue:
            self.last_point = None
            return self.queue.pop(0).astype(np.float32)
        point = np.sort(self.rng.uniform(-self.radius, self.radius, size=self.dim))[::-1]
        self.last_point = point
        return point.astype(np.float32)


SAMPLERS = {
    cls.name: cls for cls in (UniformSampler, HoffmanRadiusSampler, FundamentalDomainSampler)
}


def run_episode(env, sampler, seed: int | None = None) -> dict:
    """Play one episode with a sampler; return the final info plus the return."""
    observation, info = env.reset(seed=seed)
    sampler.reset(env)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, info = env.step(sampler.act(observation, info))
        total += reward
        done = terminated or truncated
    return {**info, "return": total}
