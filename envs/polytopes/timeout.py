"""Run a function under a wall-clock time limit in a reusable, killable worker process.

Normaliz cannot be interrupted reliably from Python (a SIGINT sent during a dual-mode
Hilbert basis computation was not honoured within a minute here), so a computation that
may run long goes to a child process that is killed when the limit passes. The child is
kept between calls (one per parent process), so a call costs a pipe round trip (well
under a millisecond), not a process start; only a timeout costs a restart.

    >>> run_limited(pow, (2, 10), time_limit=5.0)
    1024

The child is a fresh interpreter (``python -m envs.polytopes.timeout``, talking over a
socket pair), not a fork: forking after Normaliz's OpenMP ran deadlocks the child, and
unlike ``forkserver``/``spawn`` it does not re-import the caller's ``__main__`` (so
unguarded scripts work) and it may be started from daemonic pool workers.
"""

from __future__ import annotations

import atexit
import importlib
import multiprocessing.util
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

__all__ = ["TimeLimitExceeded", "WorkerCrashed", "LimitedWorker", "run_limited", "shutdown"]


# Modules the worker imports before it serves (so imports do not count against a limit).
PRELOAD = ("envs.polytopes.geometry",)
STARTUP_TIMEOUT = 120.0


class TimeLimitExceeded(RuntimeError):
    """The computation ran past its time limit and was stopped."""

    def __init__(self, time_limit: float) -> None:
        super().__init__(f"time limit {time_limit:g}s exceeded")
        self.time_limit = time_limit


class WorkerCrashed(RuntimeError):
    """The worker process died (e.g. out of memory) before answering."""


def _serve(connection: Connection, preload: tuple[str, ...]) -> None:
    """Child loop: receive ``(function, args)``, send ``("ok", value)`` or ``("error", exc)``."""
    for module in preload:
        importlib.import_module(module)
    connection.send(("ready", None))
    while True:
        try:
            message = connection.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        function, args = message
        try:
            reply: tuple[str, Any] = ("ok", function(*args))
        except Exception as error:  # sent back and re-raised in the parent
            reply = ("error", error)
        try:
            connection.send(reply)
        except Exception as error:  # e.g. an unpicklable result
            connection.send(("error", RuntimeError(f"cannot send result: {error}")))


class LimitedWorker:
    """One child process that runs functions with a time limit; restarted after a kill."""

    def __init__(self, preload: tuple[str, ...] = PRELOAD) -> None:
        self.preload = preload
        self._process: subprocess.Popen[bytes] | None = None
        self._connection: Connection | None = None
        self._lock = threading.Lock()
        self.restarts = 0

    def _start(self) -> None:
        parent, child = socket.socketpair()
        root = str(Path(__file__).resolve().parents[2])
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
        # Linux kills the child with its parent when the parent *thread* that started it
        # ends, so the parent-death signal is only asked for from the main thread.
        if threading.current_thread() is threading.main_thread():
            env[_PARENT_ENV] = str(os.getpid())
        else:
            env.pop(_PARENT_ENV, None)
        command = [sys.executable, "-m", "envs.polytopes.timeout", str(child.fileno())]
        process = subprocess.Popen(command + list(self.preload), pass_fds=[child.fileno()], env=env)
        child.close()
        connection = Connection(parent.detach())
        self._process, self._connection = process, connection
        # Imports happen before the first call, outside its time limit.
        if not connection.poll(STARTUP_TIMEOUT) or connection.recv()[0] != "ready":
            self._stop()
            raise WorkerCrashed("the worker process did not start")

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        if self._connection is not None:
            self._connection.close()
        self._process = self._connection = None

    def call(self, function: Callable[..., Any], args: tuple, time_limit: float) -> Any:
        """``function(*args)`` in the child; :class:`TimeLimitExceeded` after ``time_limit`` s."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                if self._process is not None:
                    self._stop()
                    self.restarts += 1
                self._start()
            assert self._connection is not None
            try:
                self._connection.send((function, args))
                answered = self._connection.poll(time_limit)
                if answered:
                    status, value = self._connection.recv()
            except (EOFError, OSError):
                self._stop()
                raise WorkerCrashed("the worker process died during the computation") from None
            except BaseException:  # e.g. KeyboardInterrupt: never leave a reply pending
                self._stop()
                raise
            if not answered:
                self._stop()
                self.restarts += 1
                raise TimeLimitExceeded(time_limit)
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        """Stop the child (it is also stopped when this process exits)."""
        with self._lock:
            if self._connection is not None and self._process is not None:
                try:
                    self._connection.send(None)
                except OSError:
                    pass
                try:
                    self._process.wait(timeout=1.0)
                except subprocess.TimeoutExpired:
                    pass
            self._stop()


_WORKER: LimitedWorker | None = None
_WORKER_PID: int | None = None
_PARENT_ENV = "POLYGYM_LIMITED_WORKER_PARENT"


def run_limited(function: Callable[..., Any], args: tuple, time_limit: float | None) -> Any:
    """``function(*args)`` with a wall-clock limit (``None``: in this process, no limit).

    Raises :class:`TimeLimitExceeded` when the limit passes; exceptions of ``function``
    are re-raised here. ``function`` and ``args`` must be picklable.
    """
    global _WORKER, _WORKER_PID
    if time_limit is None:
        return function(*args)
    if _WORKER is None or _WORKER_PID != os.getpid():
        _WORKER, _WORKER_PID = LimitedWorker(), os.getpid()
        atexit.register(shutdown)  # interpreter exit
        multiprocessing.util.Finalize(None, shutdown, exitpriority=10)  # pool worker exit
    return _WORKER.call(function, args, time_limit)


def shutdown() -> None:
    """Stop this process's worker, if any."""
    global _WORKER
    if _WORKER is not None and _WORKER_PID == os.getpid():
        _WORKER.close()
    _WORKER = None


def _die_with_parent() -> None:
    """On Linux, be killed when the parent dies (a killed parent cannot stop its worker, and a
    Normaliz call does not look at the socket until it returns)."""
    parent = os.environ.get(_PARENT_ENV)
    if parent is None or not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != int(parent):  # the parent died before the signal was armed
        os._exit(1)


def _main(argv: list[str]) -> None:
    """Entry point of the worker process: ``python -m envs.polytopes.timeout FD [MODULE...]``."""
    _die_with_parent()
    _serve(Connection(int(argv[0])), tuple(argv[1:]))


if __name__ == "__main__":
    _main(sys.argv[1:])
