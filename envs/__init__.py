"""polygym environments.

Importing this package registers every environment id with Gymnasium::

    import gymnasium as gym
    import envs  # noqa: F401

    env = gym.make("PolyProof-v0")

One subpackage per domain: :mod:`envs.polyproof` (dynamic polynomial proofs),
:mod:`envs.polytopes` (smooth reflexive polytopes), :mod:`envs.regions`
(linear regions of ReLU networks).
"""

from gymnasium.envs.registration import register, registry

_ENVIRONMENTS = {
    "RegionEnum-v0": "envs.regions.env:RegionEnumEnv",
    "PolyProof-v0": "envs.polyproof.env:PolyProofEnv",
    "PolytopeGen-v0": "envs.polytopes.env:PolytopeGenEnv",
}


def _register_all() -> None:
    for env_id, entry_point in _ENVIRONMENTS.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry_point)


_register_all()

__all__: list[str] = []
