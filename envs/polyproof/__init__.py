"""Dynamic semi-algebraic proofs of polynomial inequalities (Fawzi et al. 2019).

Main entry points: :class:`envs.polyproof.env.PolyProofEnv` (``PolyProof-v0``),
:class:`envs.polyproof.problem.Problem`, :class:`envs.polyproof.proof.Proof`, the
independent checker ``python -m envs.polyproof.verify proof.json``.
"""

from envs.polyproof.polynomial import Polynomial
from envs.polyproof.problem import Problem, max_cut_problem, stable_set_problem
from envs.polyproof.proof import CertificateError, Proof, ProofStep

__all__ = [
    "CertificateError",
    "Polynomial",
    "Problem",
    "Proof",
    "ProofStep",
    "max_cut_problem",
    "stable_set_problem",
]
