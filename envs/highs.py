"""Shared HiGHS helpers: a quiet model factory and LP status handling.

Every LP in polygym goes through :func:`new_highs`. HiGHS prints a banner on
stdout the first time a model is built in a process; it is swallowed here so
that command-line tools can print clean JSON.
"""

from __future__ import annotations

import os
import sys
import threading

import highspy

_banner_lock = threading.Lock()
_banner_done = False

INF = highspy.kHighsInf


class LPError(RuntimeError):
    """An LP did not reach a usable answer (error, time or iteration limit...).

    Such an LP is reported, never turned into a bound.
    """

    def __init__(self, status: str, message: str = "") -> None:
        self.status = status
        super().__init__(f"LP failed with status {status}" + (f": {message}" if message else ""))


def _swallow_banner() -> highspy.Highs:
    global _banner_done
    with _banner_lock:
        if _banner_done:
            return highspy.Highs()
        try:
            sys.stdout.flush()
            saved = os.dup(1)
        except (OSError, ValueError):  # no real stdout (e.g. captured): nothing to protect
            _banner_done = True
            return highspy.Highs()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 1)
            model = highspy.Highs()
        finally:
            os.dup2(saved, 1)
            os.close(saved)
            os.close(devnull)
        _banner_done = True
        return model


def new_highs(time_limit: float | None = None, threads: int = 1, presolve: bool = True) -> highspy.Highs:
    """A silent HiGHS model with the given time limit (seconds) and thread count."""
    model = _swallow_banner()
    model.setOptionValue("output_flag", False)
    model.setOptionValue("threads", int(threads))
    if not presolve:
        model.setOptionValue("presolve", "off")
    if time_limit is not None:
        if not time_limit > 0:
            raise ValueError(f"time_limit must be positive, got {time_limit}")
        model.setOptionValue("time_limit", float(time_limit))
    return model


def status_name(model: highspy.Highs) -> str:
    """The model status as a short string such as ``"Optimal"`` or ``"Infeasible"``."""
    return model.modelStatusToString(model.getModelStatus())
