"""Scale-free form of a ReLU network and exact (rational) affine maps.

The linear regions of ``x -> W_L relu(... relu(W_1 x + b_1) ...) + b_L`` do not change when a
hidden unit's incoming row ``(w_j, b_j)`` is multiplied by ``c > 0`` and its outgoing column by
``1 / c`` (``relu(c z) = c relu(z)``), nor when an output row is multiplied by ``c > 0``.
:func:`normalise_network` uses this to give every unit (hidden and output) incoming weights of
unit Euclidean norm, pushing the scale forward; the normalised network computes ``f_k / s_k``
for the returned positive ``s_k``.  All float decisions of the exact counters are made on it, so
they do not depend on the scale of any layer.

:class:`MapJudge` decides whether two cells carry the same affine map: a float difference far
above the rounding error says "different"; anything else is decided exactly, in rational
arithmetic (``fractions.Fraction``) on the original float weights.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from envs.regions.network import ReLUNetwork

#: relative gap (to the magnitude bound of the maps) above which float maps certainly differ
MAP_REL_TOL = 1e-8


def _row_scales(weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """Positive scale of every row: the norm of the incoming weights (|bias| for zero rows)."""
    top = np.abs(weight).max(axis=1)
    safe = np.where(top > 0, top, 1.0)
    norms = top * np.linalg.norm(weight / safe[:, None], axis=1)  # no overflow for huge rows
    return np.where(top > 0, norms, np.where(bias != 0, np.abs(bias), 1.0))


def normalise_network(network: ReLUNetwork) -> tuple[ReLUNetwork, np.ndarray]:
    """Equivalent network with unit incoming rows, and the output scales ``s`` (> 0).

    The result computes ``f_k(x) / s_k``.  Scales are pushed forward row by row; each row is
    first rescaled by a power of two so that no intermediate product overflows.  Raises
    ``ValueError`` when the weights span more orders of magnitude than float64 holds.
    """
    weights, biases = [], []
    carry = np.ones(network.input_dim)  # true scale of each input = carry * 2**shift_in
    shift_in = 0  # integer
    count = len(network.weights)
    log2_scales = np.zeros(network.output_dim)
    for index, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True)):
        with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
            row_w = weight * carry[None, :]  # effective row (true scale / 2**shift_in)
            log_w = np.log2(np.abs(row_w).max(axis=1)) + shift_in
            log_b = np.log2(np.abs(bias))
            reference = np.maximum(log_w, log_b)
            reference = np.where(np.isfinite(reference), reference, 0.0)
            shift = -np.ceil(reference).astype(np.int64)  # row * 2**shift has entries <= 1
            scaled_w = np.ldexp(row_w, (shift + shift_in)[:, None])
            scaled_b = np.ldexp(bias, shift)
        if not (np.isfinite(scaled_w).all() and np.isfinite(scaled_b).all()):
            raise ValueError(f"layer {index}: weights too far apart to normalise in float64")
        scales = _row_scales(scaled_w, scaled_b)
        new_w, new_b = scaled_w / scales[:, None], scaled_b / scales
        if np.any((np.abs(weight).max(axis=1) > 0) & (np.abs(new_w).max(axis=1) == 0)):
            raise ValueError(f"layer {index}: weights underflow when normalised (scales too far apart)")
        weights.append(new_w)
        biases.append(new_b)
        row_log2 = np.log2(scales) - shift  # log2 of the true scale of each unit
        if index < count - 1:
            shift_in = int(np.floor(row_log2.max()))
            carry = np.exp2(row_log2 - shift_in)
        else:
            log2_scales = row_log2
    with np.errstate(over="ignore"):
        output_scales = np.exp2(log2_scales)
    return ReLUNetwork(tuple(weights), tuple(biases)), output_scales


_TO_FRACTION = np.vectorize(Fraction, otypes=[object])


def to_fractions(array: np.ndarray) -> np.ndarray:
    """Exact ``Fraction`` copy (object array) of a float array."""
    return _TO_FRACTION(np.asarray(array, dtype=float))


def fraction_layers(network: ReLUNetwork) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weights and biases as object arrays of exact ``Fraction`` s."""
    return [(to_fractions(w), to_fractions(b))
            for w, b in zip(network.weights, network.biases, strict=True)]


def exact_pattern_map(layers: list[tuple[np.ndarray, np.ndarray]], pattern: np.ndarray) -> np.ndarray:
    """Exact output map ``[linear | offset]`` (object array ``(nL, n0 + 1)``) for a pattern."""
    dim = layers[0][0].shape[1]
    linear = np.array([[Fraction(int(i == j)) for j in range(dim)] for i in range(dim)], dtype=object)
    offset = np.array([Fraction(0)] * dim, dtype=object)
    cols = np.arange(dim)
    start = 0
    for weight, bias in layers[:-1]:
        live = np.flatnonzero(np.asarray(pattern[start : start + weight.shape[0]], dtype=bool))
        start += weight.shape[0]
        sub = weight[np.ix_(live, cols)]
        linear = sub @ linear if cols.size else np.zeros((live.size, dim), dtype=object) * Fraction(0)
        offset = (sub @ offset if cols.size else np.zeros(live.size, dtype=object)) + bias[live]
        cols = live
    weight, bias = layers[-1]
    sub = weight[:, cols]
    if cols.size:
        out_linear, out_offset = sub @ linear, sub @ offset + bias
    else:
        out_linear = np.array([[Fraction(0)] * dim] * weight.shape[0], dtype=object)
        out_offset = bias.copy()
    return np.hstack([out_linear.reshape(weight.shape[0], dim), out_offset.reshape(-1, 1)])


def exact_hidden_rows(layers: list[tuple[np.ndarray, np.ndarray]],
                      pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact pre-activations of every hidden unit on the cell of ``pattern`` as affine maps of
    the input: ``(A, c)`` object arrays ``(num_hidden, n0)``, ``(num_hidden,)``."""
    dim = layers[0][0].shape[1]
    linear = np.array([[Fraction(int(i == j)) for j in range(dim)] for i in range(dim)], dtype=object)
    offset = np.array([Fraction(0)] * dim, dtype=object)
    rows, offsets = [], []
    start = 0
    for weight, bias in layers[:-1]:
        pre_linear, pre_offset = weight @ linear, weight @ offset + bias
        rows.append(pre_linear.reshape(weight.shape[0], dim))
        offsets.append(pre_offset.reshape(-1))
        live = np.asarray(pattern[start : start + weight.shape[0]], dtype=bool)
        start += weight.shape[0]
        linear = np.where(live[:, None], rows[-1], Fraction(0))
        offset = np.where(live, offsets[-1], Fraction(0))
    if not rows:
        return np.zeros((0, dim), dtype=object), np.zeros(0, dtype=object)
    return np.vstack(rows), np.concatenate(offsets)


def map_bound(network: ReLUNetwork) -> np.ndarray:
    """Per output, a bound on the entries of every cell's ``[linear | offset]`` (all units on,
    absolute values): the float rounding error of a map is a tiny multiple of it."""
    dim = network.input_dim
    linear, offset = np.eye(dim), np.zeros(dim)
    for weight, bias in zip(network.weights, network.biases, strict=True):
        linear, offset = np.abs(weight) @ linear, np.abs(weight) @ offset + np.abs(bias)
    bound = np.maximum(linear.max(axis=1), offset)
    return np.where(bound > 0, bound, 1.0)


class MapJudge:
    """Equality of two cells' affine maps: float when clear, exact rationals otherwise.

    ``normalised`` is :func:`normalise_network` of ``original``; float maps are those of
    ``normalised`` (``(nL, n0 + 1)``, ``[linear | offset]``).  Maps whose difference exceeds
    ``MAP_REL_TOL`` times the per-output bound are different; all others are compared exactly
    (maps of ``original`` for the cells' activation patterns, cached per pattern).
    """

    def __init__(self, original: ReLUNetwork, normalised: ReLUNetwork) -> None:
        self.bound = map_bound(normalised)
        self._original = original
        self._layers: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._cache: dict[bytes, np.ndarray] = {}
        self.num_exact = 0

    def clearly_different(self, maps_a: np.ndarray, maps_b: np.ndarray) -> np.ndarray:
        """Vectorised: ``(N, nL, n0 + 1)`` pairs -> bool ``(N,)`` (True: certainly different)."""
        gap = np.abs(maps_a - maps_b).max(axis=2) / self.bound[None, :]
        return np.any(gap > MAP_REL_TOL, axis=1)

    def exact_map(self, pattern: np.ndarray) -> np.ndarray:
        key = np.packbits(pattern).tobytes()
        if key not in self._cache:
            if self._layers is None:
                self._layers = fraction_layers(self._original)
            self._cache[key] = exact_pattern_map(self._layers, pattern)
            self.num_exact += 1
        return self._cache[key]

    def equal(self, pattern_a: np.ndarray, pattern_b: np.ndarray) -> bool:
        """Exact equality of the two patterns' output maps."""
        return bool(np.all(self.exact_map(pattern_a) == self.exact_map(pattern_b)))
