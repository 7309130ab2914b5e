"""Symmetry-invariant DQN prover for PolyProof-v0 (SB3 / sb3-contrib package layout)."""

from agents.dqn.buffers import MaskedDictReplayBuffer
from agents.dqn.dqn import ProofDQN
from agents.dqn.policies import (
    CachedQEvaluator,
    ProofDQNPolicy,
    SymmetricQNetwork,
    VanillaQNetwork,
)
from agents.dqn.prioritized import PrioritizedMaskedReplayBuffer

__all__ = [
    "CachedQEvaluator",
    "MaskedDictReplayBuffer",
    "PrioritizedMaskedReplayBuffer",
    "ProofDQN",
    "ProofDQNPolicy",
    "SymmetricQNetwork",
    "VanillaQNetwork",
]
