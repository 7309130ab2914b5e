"""Small helpers shared by the training scripts: typed YAML configs, RNG states, devices.

* :func:`load_dataclass_config` reads a YAML mapping plus ``key=value`` overrides into a
  dataclass, rejecting unknown keys and values of the wrong type (``UsageError``).
* :func:`rng_state` / :func:`set_rng_state` capture and restore the python, numpy and
  torch (and CUDA) global generators, for exact resumes.
* :func:`atomic_torch_save` writes a file next to its target and renames it into place.
* :func:`select_device` resolves ``"auto"`` to CUDA when available.
"""

from __future__ import annotations

import dataclasses
import os
import random
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import yaml

from envs.cli import UsageError

__all__ = [
    "load_dataclass_config",
    "rng_state",
    "set_rng_state",
    "atomic_torch_save",
    "select_device",
]

T = TypeVar("T")


def _type_ok(value: Any, annotation: Any) -> bool:
    """Whether ``value`` (parsed from YAML) fits the type ``annotation``."""
    if annotation is Any:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_type_ok(value, arg) for arg in typing.get_args(annotation))
    if annotation is type(None):
        return value is None
    if origin in (list, tuple):
        return isinstance(value, (list, tuple))
    if origin is dict:
        return isinstance(value, dict)
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    if isinstance(annotation, type):
        return isinstance(value, annotation)
    return True


def load_dataclass_config(cls: type[T], config: str | None, overrides: list[str]) -> T:
    """``cls(**yaml_mapping)`` updated by ``key=value`` overrides, type-checked.

    Raises :class:`UsageError` for a missing or malformed file, an override without ``=``,
    unknown keys and values whose type does not match the field (ints are accepted for
    float fields and converted).
    """
    data: dict[str, Any] = {}
    if config:
        path = Path(config)
        if not path.is_file():
            raise UsageError(f"{config}: no such config file")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise UsageError(f"{config}: not valid YAML ({str(error).splitlines()[0]})") from None
        if not isinstance(loaded, dict):
            raise UsageError(f"{config}: the config must be a mapping of keys to values")
        data.update(loaded)
    for item in overrides:
        if "=" not in item:
            raise UsageError(f"--override expects key=value, got {item!r}")
        key, value = item.split("=", 1)
        try:
            data[key.strip()] = yaml.safe_load(value)
        except yaml.YAMLError:
            raise UsageError(f"--override {item!r}: the value is not valid YAML") from None
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise UsageError(f"unknown config keys: {unknown} (known: {', '.join(names)})")
    for key, value in data.items():
        annotation = hints[key]
        if not _type_ok(value, annotation):
            shown = getattr(annotation, "__name__", str(annotation))
            raise UsageError(f"config key {key!r} expects {shown}, got {value!r}")
        if annotation is float and isinstance(value, int):
            data[key] = float(value)
    try:
        return cls(**data)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None


def rng_state() -> dict[str, Any]:
    """The python, numpy, torch (and CUDA) global RNG states."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_torch_save(obj: Any, path: str | os.PathLike[str]) -> Path:
    """``torch.save`` to ``path.tmp`` then rename over ``path`` (never half-written)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
    return path


def select_device(device: str) -> torch.device:
    """``"auto"``: CUDA if available, else CPU; anything else is passed to ``torch.device``."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as error:
        raise UsageError(f"bad device {device!r}: {error}") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise UsageError(f"device {device!r} requested but CUDA is not available")
    return resolved
