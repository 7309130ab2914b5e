"""ReLU networks given as torch ``nn.Sequential`` or as lists of weights and biases.

A network with architecture ``[n0, n1, ..., nL]`` computes
``x -> W_L relu(... relu(W_1 x + b_1) ...) + b_L``: ReLU after every hidden layer, the output
layer is affine.  Weights are stored as float64 numpy arrays (``W_l`` has shape
``(n_l, n_{l-1})``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # torch is imported where it is used (region workers start without it)
    import torch
    from torch import nn


@dataclass(frozen=True)
class ReLUNetwork:
    """A validated fully connected ReLU network (affine output layer)."""

    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]

    def __post_init__(self) -> None:
        if len(self.weights) == 0:
            raise ValueError("a network needs at least one layer")
        if len(self.weights) != len(self.biases):
            raise ValueError(
                f"got {len(self.weights)} weight matrices but {len(self.biases)} bias vectors"
            )
        previous = None
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            if weight.ndim != 2:
                raise ValueError(f"layer {index}: weight must be 2-D, got shape {weight.shape}")
            if bias.shape != (weight.shape[0],):
                raise ValueError(
                    f"layer {index}: bias shape {bias.shape} does not match weight {weight.shape}"
                )
            if previous is not None and weight.shape[1] != previous:
                raise ValueError(
                    f"layer {index}: weight expects {weight.shape[1]} inputs, previous layer "
                    f"has {previous} outputs"
                )
            if weight.shape[0] == 0 or weight.shape[1] == 0:
                raise ValueError(f"layer {index}: empty weight matrix {weight.shape}")
            if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
                raise ValueError(f"layer {index}: weights or biases contain NaN or inf")
            previous = weight.shape[0]

    # ------------------------------------------------------------------ constructors
    @classmethod
    def from_lists(
        cls, weights: Sequence[np.ndarray | Sequence], biases: Sequence[np.ndarray | Sequence]
    ) -> ReLUNetwork:
        """Build from weight matrices ``(n_l, n_{l-1})`` and bias vectors ``(n_l,)``."""
        if len(weights) != len(biases):
            raise ValueError(f"got {len(weights)} weight matrices but {len(biases)} bias vectors")
        ws, bs = [], []
        for index, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
            if np.iscomplexobj(np.asarray(weight)) or np.iscomplexobj(np.asarray(bias)):
                raise ValueError(f"layer {index}: complex weights; weights must be real")
            try:
                w = np.array(weight, dtype=np.float64)
                b = np.array(bias, dtype=np.float64).reshape(-1)
            except (TypeError, ValueError) as error:
                raise ValueError(f"layer {index}: weights are not numeric arrays") from error
            ws.append(w)
            bs.append(b)
        return cls(tuple(ws), tuple(bs))

    @classmethod
    def from_sequential(cls, model: nn.Sequential) -> ReLUNetwork:
        """Build from ``nn.Sequential(Linear, ReLU, Linear, ..., Linear)``."""
        from torch import nn

        if not isinstance(model, nn.Sequential):
            raise ValueError(f"expected nn.Sequential, got {type(model).__name__}")
        layers = list(model)
        weights, biases = [], []
        expect_linear = True
        for position, layer in enumerate(layers):
            if expect_linear:
                if not isinstance(layer, nn.Linear):
                    raise ValueError(f"module {position}: expected nn.Linear, got {layer}")
                weight = layer.weight.detach().cpu().double().numpy().copy()
                if layer.bias is None:
                    bias = np.zeros(weight.shape[0])
                else:
                    bias = layer.bias.detach().cpu().double().numpy().copy()
                weights.append(weight)
                biases.append(bias)
            elif not isinstance(layer, nn.ReLU):
                raise ValueError(f"module {position}: expected nn.ReLU, got {layer}")
            expect_linear = not expect_linear
        if not layers or expect_linear:
            raise ValueError("the Sequential must start and end with nn.Linear (affine output)")
        return cls(tuple(weights), tuple(biases))

    @classmethod
    def from_npz(cls, path: str | Path) -> ReLUNetwork:
        """Load ``W0, b0, W1, b1, ...`` arrays from an ``.npz`` file.

        Raises ``ValueError`` (one line) for a file that is not an ``.npz`` archive, missing or
        extra layers (``W0, W2`` without ``W1``), missing biases, non-real or non-numeric data.
        """
        import zipfile

        try:
            data = np.load(path, allow_pickle=False)
        except (EOFError, OSError, ValueError, zipfile.BadZipFile) as error:
            if isinstance(error, FileNotFoundError):
                raise
            raise ValueError(f"{path}: not a readable .npz archive of weight arrays") from error
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: a single array, expected an .npz archive with W0, b0, ...")
        with data:
            names = set(data.files)
            layers = sorted(int(name[1:]) for name in names
                            if name[:1] in "Wb" and name[1:].isdigit())
            weights_at = sorted(int(n[1:]) for n in names if n[:1] == "W" and n[1:].isdigit())
            if not weights_at:
                raise ValueError(f"{path}: expected arrays named W0, b0, W1, b1, ...")
            count = weights_at[-1] + 1
            gaps = [f"W{i}" for i in range(count) if i not in weights_at]
            if gaps:
                raise ValueError(f"{path}: layer gap, missing weight arrays {gaps}")
            missing = [f"b{i}" for i in range(count) if f"b{i}" not in names]
            if missing:
                raise ValueError(f"{path}: missing bias arrays {missing}")
            extra = sorted(set(layers) - set(range(count)))
            if extra:
                raise ValueError(f"{path}: bias arrays without weights: {[f'b{i}' for i in extra]}")
            arrays = []
            for i in range(count):
                for name in (f"W{i}", f"b{i}"):
                    try:
                        array = data[name]
                    except ValueError as error:  # object arrays need pickle
                        raise ValueError(f"{path}: {name} is not a numeric array") from error
                    if np.iscomplexobj(array):
                        raise ValueError(f"{path}: {name} has complex entries; weights must be real")
                    if array.dtype.kind not in "biuf":
                        raise ValueError(f"{path}: {name} has dtype {array.dtype}, expected real numbers")
                    arrays.append(array)
            return cls.from_lists(arrays[0::2], arrays[1::2])

    def save_npz(self, path: str | Path) -> None:
        """Save as ``W0, b0, ...`` arrays (readable by :meth:`from_npz`)."""
        arrays = {}
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            arrays[f"W{index}"] = weight
            arrays[f"b{index}"] = bias
        np.savez(path, **arrays)

    # ------------------------------------------------------------------ properties
    @property
    def architecture(self) -> list[int]:
        """``[n0, n1, ..., nL]``."""
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    @property
    def input_dim(self) -> int:
        return self.weights[0].shape[1]

    @property
    def output_dim(self) -> int:
        return self.weights[-1].shape[0]

    @property
    def num_hidden(self) -> int:
        """Total number of hidden (ReLU) neurons."""
        return int(sum(w.shape[0] for w in self.weights[:-1]))

    # ------------------------------------------------------------------ evaluation
    def _check_points(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=np.float64)
        single = points.ndim == 1
        points = np.atleast_2d(points)
        if points.ndim != 2 or points.shape[1] != self.input_dim:
            raise ValueError(f"points must have shape (N, {self.input_dim}), got {points.shape}")
        if not np.isfinite(points).all():
            raise ValueError("points contain NaN or inf")
        return points[0:1] if single else points

    def forward(self, points: np.ndarray) -> np.ndarray:
        """Network output for points of shape ``(N, n0)`` -> ``(N, nL)``."""
        activation = self._check_points(points)
        for weight, bias in zip(self.weights[:-1], self.biases[:-1], strict=True):
            activation = np.maximum(activation @ weight.T + bias, 0.0)
        return activation @ self.weights[-1].T + self.biases[-1]

    def preactivations(self, points: np.ndarray) -> np.ndarray:
        """All hidden pre-activations, concatenated layer by layer, shape ``(N, num_hidden)``."""
        activation = self._check_points(points)
        parts = []
        for weight, bias in zip(self.weights[:-1], self.biases[:-1], strict=True):
            pre = activation @ weight.T + bias
            parts.append(pre)
            activation = np.maximum(pre, 0.0)
        if not parts:
            return np.zeros((activation.shape[0], 0))
        return np.concatenate(parts, axis=1)

    def activation_patterns(self, points: np.ndarray) -> np.ndarray:
        """Boolean activation patterns ``preactivation > 0``, shape ``(N, num_hidden)``."""
        return self.preactivations(points) > 0

    def to_torch(self, dtype: torch.dtype | None = None) -> nn.Sequential:
        """The same network as a torch ``nn.Sequential`` (default dtype float64)."""
        import torch
        from torch import nn

        dtype = torch.float64 if dtype is None else dtype
        modules: list[nn.Module] = []
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            linear = nn.Linear(weight.shape[1], weight.shape[0]).to(dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.as_tensor(weight, dtype=dtype))
                linear.bias.copy_(torch.as_tensor(bias, dtype=dtype))
            modules.append(linear)
            if index < len(self.weights) - 1:
                modules.append(nn.ReLU())
        return nn.Sequential(*modules)

    def pattern_affine_layers(self, pattern: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """For a fixed activation pattern return the hidden pre-activations and the output as
        affine maps of x: ``(A_hidden, c_hidden, A_out, c_out)`` with
        pre-activation = ``A_hidden @ x + c_hidden`` and output = ``A_out @ x + c_out``."""
        pattern = np.asarray(pattern, dtype=bool)
        if pattern.shape != (self.num_hidden,):
            raise ValueError(f"pattern must have shape ({self.num_hidden},), got {pattern.shape}")
        linear = np.eye(self.input_dim)
        offset = np.zeros(self.input_dim)
        rows, offsets = [], []
        start = 0
        for weight, bias in zip(self.weights[:-1], self.biases[:-1], strict=True):
            pre_linear = weight @ linear
            pre_offset = weight @ offset + bias
            rows.append(pre_linear)
            offsets.append(pre_offset)
            mask = pattern[start : start + weight.shape[0]]
            start += weight.shape[0]
            linear = pre_linear * mask[:, None]
            offset = pre_offset * mask
        out_linear = self.weights[-1] @ linear
        out_offset = self.weights[-1] @ offset + self.biases[-1]
        if rows:
            hidden_linear, hidden_offset = np.vstack(rows), np.concatenate(offsets)
        else:
            hidden_linear = np.zeros((0, self.input_dim))
            hidden_offset = np.zeros(0)
        return hidden_linear, hidden_offset, out_linear, out_offset


def parse_architecture(text: str | Sequence[int]) -> list[int]:
    """Parse ``"2,6,1"`` (or a list) into ``[2, 6, 1]``; empty parts (``"2,,1"``) are errors."""
    if isinstance(text, str):
        parts = text.replace(" ", "").split(",")
        if any(part == "" for part in parts):
            raise ValueError(f"architecture has an empty layer size: {text!r}")
        try:
            arch = [int(part) for part in parts]
        except ValueError as error:
            raise ValueError(f"architecture must be comma-separated integers, got {text!r}") from error
    else:
        arch = [int(part) for part in text]
    if len(arch) < 2 or min(arch) < 1:
        raise ValueError(f"architecture needs >= 2 positive layer sizes, got {arch}")
    return arch


def random_network(
    architecture: Sequence[int], rng: np.random.Generator | int | None = None,
    bias_scale: float = 1.0, zero_bias: bool = False,
) -> ReLUNetwork:
    """Gaussian weights ``N(0, 1/fan_in)``-scaled and biases ``N(0, bias_scale^2)``."""
    arch = parse_architecture(architecture)
    rng = np.random.default_rng(rng)
    weights, biases = [], []
    for fan_in, fan_out in zip(arch[:-1], arch[1:], strict=True):
        weights.append(rng.standard_normal((fan_out, fan_in)) / np.sqrt(fan_in))
        bias = np.zeros(fan_out) if zero_bias else bias_scale * rng.standard_normal(fan_out)
        biases.append(bias)
    return ReLUNetwork(tuple(weights), tuple(biases))


def random_deepsets_network(
    input_dim: int, depth: int = 1, rng: np.random.Generator | int | None = None,
) -> ReLUNetwork:
    """A permutation-invariant (DeepSets-style) network ``R^n -> R``.

    Hidden layers are equivariant, ``W = a I + b 11^T`` with bias ``c 1``; the output is
    ``w * sum(h) + d``.  Invariant under permuting the input coordinates.
    """
    if input_dim < 1 or depth < 1:
        raise ValueError("input_dim and depth must be >= 1")
    rng = np.random.default_rng(rng)
    weights, biases = [], []
    eye, ones = np.eye(input_dim), np.ones((input_dim, input_dim))
    for _ in range(depth):
        a, b, c = rng.standard_normal(3)
        weights.append(a * eye + b * ones / input_dim)
        biases.append(np.full(input_dim, c))
    w_out, d_out = rng.standard_normal(2)
    weights.append(np.full((1, input_dim), w_out))
    biases.append(np.array([d_out]))
    return ReLUNetwork(tuple(weights), tuple(biases))
