"""Symmetry-invariant DQN prover for PolyProof-v0 (SB3 / sb3-contrib package layout)."""

from agents.dqn.buffers import MaskedDictReplayBuffer
from agents.dqn.dqn import ProofDQN
from agents.dqn.policies import (
    CachedQEvaluator,
    ProofDQNPolicy,
    SymmetricQNetwork,
    VanillaQNetwork,
)

__all__ = [
    "CachedQEvaluator",
    "MaskedDictReplayBuffer",
    "ProofDQN",
    "ProofDQNPolicy",
    "SymmetricQNetwork",
    "VanillaQNetwork",
]
