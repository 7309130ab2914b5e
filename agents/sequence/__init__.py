"""Sequence models for PolytopeGen (Nødland 2021): LSTM, Transformer and n-gram baseline.

See ``agents/sequence/README.md``; train with ``python agents/train_sequence.py``, sample
with ``python -m agents.sequence.sample``.
"""

from agents.sequence.model import SequenceConfig, build_model, count_parameters, load_model

__all__ = ["SequenceConfig", "build_model", "count_parameters", "load_model"]
