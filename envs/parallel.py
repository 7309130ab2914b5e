"""One executor for every embarrassingly parallel job: ``serial``, ``process`` or ``ray``.

:func:`run_tasks` runs ``fn(task)`` for each task and returns one :class:`TaskOutcome` per
task, **in input order** whichever backend ran it, so a caller that writes its outputs
from the returned list (or re-sorts rows it appended as they finished) gets the same
bytes on every backend::

    from envs.parallel import run_tasks

    outcomes = run_tasks(square, range(10), backend="process", workers=2)
    values = [o.value for o in outcomes]

Backends:

- ``serial``: in this process, one task after the other.
- ``process``: a local :class:`~concurrent.futures.ProcessPoolExecutor` whose workers
  start from ``forkserver`` (or ``spawn``), see :func:`pool_context`.
- ``ray``: Ray tasks (``pip install -e ".[ray]"``). Without ``address`` a local Ray
  instance with ``num_cpus=workers`` is started (and stopped afterwards); with
  ``address`` (``"auto"`` or ``"ray://host:10001"``) the run joins an existing cluster,
  whose nodes must have this package installed. An instance already started in this
  process (``ray.init(...)``) is reused as it is.

Faults: a task that raises, a worker process that dies (``os._exit``, a segfault, the
OOM killer: ``BrokenProcessPool`` on ``process``, ``WorkerCrashedError`` on ``ray``) or a
task past ``timeout`` seconds is retried up to ``retries`` times and then reported in its
outcome (``ok`` false, ``error`` the text of the last failure); nothing is dropped and
the run never waits forever on a task when ``timeout`` is set. When a local pool breaks
while several tasks were running, those tasks are re-run one at a time, so only the task
that kills its worker is charged an attempt.

``on_result(outcome)`` is called in this process as each task finishes (completion
order), e.g. to append CSV rows at once so an interrupted run can resume. One tqdm bar
counts all tasks on every backend.

Command-line tools add the shared options with :func:`add_executor_arguments` and pass
:func:`executor_options` of the parsed arguments to :func:`run_tasks`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from tqdm import tqdm

__all__ = [
    "BACKENDS",
    "TaskOutcome",
    "TaskTimeout",
    "add_executor_arguments",
    "executor_options",
    "pool_context",
    "resolve_backend",
    "run_tasks",
    "start_ray",
    "validate_executor_arguments",
]

BACKENDS = ("serial", "process", "ray")
POLL_SECONDS = 0.5  # how often a parallel run looks at the clock when a timeout is set


@dataclass
class TaskOutcome:
    """What became of one task: its ``value``, or the ``error`` text of its last failure."""

    index: int
    value: Any = None
    error: str | None = None
    attempts: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None


class TaskTimeout(Exception):
    """A task ran past the executor's per-task time limit."""


def pool_context() -> multiprocessing.context.BaseContext:
    """Process start method for worker pools.

    Normaliz uses OpenMP; forking a process after OpenMP ran deadlocks the child, so
    workers start from a clean ``forkserver`` (or ``spawn`` where that is unavailable).
    """
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def resolve_backend(backend: str | None, workers: int | None) -> str:
    """``backend``, or when ``None``: ``process`` for ``workers > 1``, else ``serial``."""
    if backend is None:
        return "process" if workers is not None and workers > 1 else "serial"
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    return backend


def add_executor_arguments(parser: argparse.ArgumentParser, *, workers: int | None = 1) -> None:
    """Add ``--backend --workers --address --retries --task-timeout`` to ``parser``.

    ``workers`` is the tool's default number of workers (``None``: all CPUs). Without
    ``--backend`` a tool runs ``serial`` for one worker and ``process`` otherwise.
    """
    group = parser.add_argument_group("execution")
    group.add_argument(
        "--backend",
        choices=BACKENDS,
        default=None,
        help="serial, process (local pool) or ray (local instance, or a cluster with "
        "--address); default: process when --workers > 1, else serial",
    )
    group.add_argument(
        "--workers",
        type=int,
        default=workers,
        help="parallel workers (process pool size; Ray: CPUs of the local instance, or "
        f"tasks in flight on a cluster); default {workers if workers else 'all CPUs'}",
    )
    group.add_argument(
        "--address", default=None, help="Ray cluster to join (e.g. auto, ray://head:10001)"
    )
    group.add_argument(
        "--retries", type=int, default=2, help="re-runs of a failed task (default 2)"
    )
    group.add_argument(
        "--task-timeout",
        type=float,
        default=None,
        help="seconds per task attempt before it is stopped and retried (default: none)",
    )


def executor_options(args: argparse.Namespace) -> dict[str, Any]:
    """The :func:`run_tasks` keyword arguments chosen by :func:`add_executor_arguments`."""
    return {
        "backend": args.backend,
        "workers": args.workers,
        "address": args.address,
        "retries": args.retries,
        "timeout": args.task_timeout,
    }


def validate_executor_arguments(args: argparse.Namespace) -> None:
    """Check :func:`add_executor_arguments`'s options; bad ones are a one-line ``UsageError``."""
    from envs.cli import UsageError

    try:
        _validate(args.workers, args.retries, args.task_timeout,
                  resolve_backend(args.backend, args.workers))
    except ValueError as error:
        raise UsageError(str(error)) from None


def _validate(workers: int | None, retries: int, timeout: float | None, backend: str) -> None:
    if workers is not None and (isinstance(workers, bool) or workers < 1):
        raise ValueError(f"--workers must be >= 1, got {workers}")
    if retries < 0:
        raise ValueError(f"--retries must be >= 0, got {retries}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"--task-timeout must be > 0 seconds, got {timeout}")
    if backend == "ray":
        try:
            import ray  # noqa: F401
        except ImportError:
            raise ValueError('the ray backend needs Ray: pip install -e ".[ray]"') from None


def _error_text(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0]}" if text else type(error).__name__


class _Tracker:
    """Attempts, outcomes, the progress bar and the callback of one run."""

    def __init__(
        self,
        n: int,
        retries: int,
        bar: tqdm,
        units: Sequence[int] | None,
        on_result: Callable[[TaskOutcome], None] | None,
    ) -> None:
        self.failures = [0] * n
        self.runs = [0] * n
        self.outcomes: list[TaskOutcome | None] = [None] * n
        self.retries = retries
        self.bar = bar
        self.units = units
        self.on_result = on_result

    def _finish(self, outcome: TaskOutcome) -> None:
        self.outcomes[outcome.index] = outcome
        self.bar.update(1 if self.units is None else self.units[outcome.index])
        if self.on_result is not None:
            self.on_result(outcome)

    def success(self, index: int, value: Any) -> None:
        self._finish(TaskOutcome(index, value=value, attempts=self.runs[index]))

    def failure(self, index: int, error: str) -> bool:
        """Charge a failed attempt; ``True`` if the task should run again."""
        self.failures[index] += 1
        if self.failures[index] <= self.retries:
            return True
        self._finish(TaskOutcome(index, error=error, attempts=self.runs[index]))
        return False


def run_tasks(
    fn: Callable[[Any], Any],
    tasks: Iterable[Any],
    *,
    backend: str | None = "process",
    workers: int | None = None,
    address: str | None = None,
    retries: int = 2,
    timeout: float | None = None,
    desc: str = "tasks",
    unit: str = "task",
    units: Sequence[int] | None = None,
    progress: bool = True,
    on_result: Callable[[TaskOutcome], None] | None = None,
) -> list[TaskOutcome]:
    """Run ``fn(task)`` for every task; one :class:`TaskOutcome` per task, in input order.

    ``fn`` and the tasks must be picklable (``fn`` a module-level function) for the
    ``process`` and ``ray`` backends. ``workers``: pool size (``None``: all CPUs); on Ray
    the local instance's CPUs, or the tasks kept in flight on a cluster (``None``: its
    CPUs). ``retries``: re-runs of a failed task. ``timeout``: seconds per attempt; on
    ``process`` the worker is killed (counted from the task's start in the worker); on
    ``serial`` and ``ray`` ``SIGALRM`` interrupts Python code in the task, and Ray also
    kills a task ``RAY_START_GRACE`` s past its limit counted from submission (C code such
    as an LP solve cannot be interrupted otherwise). ``units[i]``: progress-bar weight of task
    ``i`` (default 1). ``backend=None`` picks :func:`resolve_backend`.
    """
    tasks = list(tasks)
    backend = resolve_backend(backend, workers)
    _validate(workers, retries, timeout, backend)
    if units is not None and len(units) != len(tasks):
        raise ValueError(f"units has {len(units)} entries for {len(tasks)} tasks")
    if not tasks:
        return []
    total = len(tasks) if units is None else int(sum(units))
    with tqdm(total=total, desc=desc, unit=unit, disable=not progress) as bar:
        tracker = _Tracker(len(tasks), retries, bar, units, on_result)
        if backend == "serial":
            _run_serial(fn, tasks, tracker, timeout)
        elif backend == "process":
            _run_process(fn, tasks, tracker, workers or os.cpu_count() or 1, timeout)
        else:
            _run_ray(fn, tasks, tracker, workers, address, timeout)
    outcomes = tracker.outcomes
    missing = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if missing:  # a bug in a backend, never a silent loss
        raise RuntimeError(f"executor lost tasks {missing[:10]}")
    return outcomes  # type: ignore[return-value]


# ----------------------------------------------------------------------------- serial


def _raise_timeout(signum: int, frame: Any) -> None:
    raise TaskTimeout("task timed out")


def _call_limited(fn: Callable[[Any], Any], task: Any, timeout: float | None) -> Any:
    usable = (
        timeout is not None
        and hasattr(signal, "setitimer")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        return fn(task)
    previous = signal.signal(signal.SIGALRM, _raise_timeout)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        return fn(task)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _run_serial(
    fn: Callable[[Any], Any], tasks: list[Any], tracker: _Tracker, timeout: float | None
) -> None:
    for index, task in enumerate(tasks):
        while True:
            tracker.runs[index] += 1
            try:
                value = _call_limited(fn, task, timeout)
            except TaskTimeout:
                if tracker.failure(index, f"TaskTimeout: no result after {timeout:g} s"):
                    continue
            except Exception as error:  # noqa: BLE001 - reported in the outcome
                if tracker.failure(index, _error_text(error)):
                    continue
            else:
                tracker.success(index, value)
            break


# ----------------------------------------------------------------------------- process
_START_TIMES: Any = None  # in a pool worker: shared array of task start times (time.time())


def _init_worker(start_times: Any) -> None:
    global _START_TIMES
    _START_TIMES = start_times


def _clocked_call(fn: Callable[[Any], Any], index: int, task: Any) -> Any:
    """Run one task in a pool worker, first recording when it started (for the timeout)."""
    if _START_TIMES is not None:
        _START_TIMES[index] = time.time()
    return fn(task)


def _kill_pool(pool: ProcessPoolExecutor) -> None:
    """Stop a pool now, killing its workers (running tasks cannot be cancelled otherwise)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.kill()
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)


def _run_process(
    fn: Callable[[Any], Any],
    tasks: list[Any],
    tracker: _Tracker,
    workers: int,
    timeout: float | None,
) -> None:
    """A local pool; at most ``workers`` tasks in flight, so each one submitted runs now."""
    context = pool_context()
    start_times = context.Array("d", len(tasks), lock=False) if timeout else None
    pending: deque[int] = deque(range(len(tasks)))
    suspects: deque[int] = deque()  # ran when the pool broke: re-run alone to find the culprit
    in_flight: dict[Future, int] = {}
    pool: ProcessPoolExecutor | None = None

    def submit(index: int) -> None:
        assert pool is not None
        if start_times is not None:
            start_times[index] = 0.0
        tracker.runs[index] += 1
        in_flight[pool.submit(_clocked_call, fn, index, tasks[index])] = index

    def retry(index: int, error: str) -> None:
        if tracker.failure(index, error):
            pending.appendleft(index)

    try:
        while pending or suspects or in_flight:
            if pool is None:
                pool = ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=context,
                    initializer=_init_worker,
                    initargs=(start_times,),
                )
            if suspects:
                if not in_flight:
                    submit(suspects.popleft())
            else:
                while pending and len(in_flight) < workers:
                    submit(pending.popleft())
            done, _ = wait(
                in_flight, timeout=POLL_SECONDS if timeout else None, return_when=FIRST_COMPLETED
            )
            broken: list[int] = []
            for future in done:
                index = in_flight.pop(future)
                error = future.exception()
                if error is None:
                    tracker.success(index, future.result())
                elif isinstance(error, BrokenProcessPool):
                    broken.append(index)
                else:
                    retry(index, _error_text(error))
            if broken:
                # The pool is dead: every task still in flight fails with it (or finished).
                for future in wait(in_flight).done:
                    index = in_flight.pop(future)
                    if future.exception() is None:
                        tracker.success(index, future.result())
                    else:
                        broken.append(index)
                pool.shutdown(wait=False, cancel_futures=True)
                pool = None
                if len(broken) == 1:  # the culprit: charged, and re-run alone
                    if tracker.failure(broken[0], "worker process died (BrokenProcessPool)"):
                        suspects.appendleft(broken[0])
                else:
                    suspects.extend(sorted(broken))
                continue
            if start_times is not None:
                now = time.time()
                late = [i for i in in_flight.values() if 0 < start_times[i] < now - float(timeout)]
                if late:
                    innocent = sorted(i for i in in_flight.values() if i not in late)
                    in_flight.clear()
                    _kill_pool(pool)
                    pool = None
                    pending.extendleft(reversed(innocent))
                    for index in late:
                        retry(index, f"TaskTimeout: no result after {timeout:g} s")
    finally:
        if pool is not None:
            if in_flight:
                _kill_pool(pool)
            else:
                pool.shutdown(wait=True)


# ----------------------------------------------------------------------------- ray
RAY_START_GRACE = 60.0  # seconds a Ray task may wait for a worker before its limit counts


def _ray_call(fn: Callable[[Any], Any], task: Any, timeout: float | None) -> Any:
    return _call_limited(fn, task, timeout)


def start_ray(workers: int | None, address: str | None) -> bool:
    """Connect to Ray unless this process already did; ``True`` if we started it."""
    import logging

    import ray

    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    options: dict[str, Any] = {
        "ignore_reinit_error": True,
        "include_dashboard": False,
        "logging_level": logging.WARNING,
    }
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=workers or os.cpu_count() or 1, **options)
    return True


def _run_ray(
    fn: Callable[[Any], Any],
    tasks: list[Any],
    tracker: _Tracker,
    workers: int | None,
    address: str | None,
    timeout: float | None,
) -> None:
    """Ray tasks (no Ray-side retries: attempts are counted here, like the other backends).

    The time limit is enforced in the worker (``SIGALRM``: Python code) and, as a hard
    stop, by cancelling the task ``RAY_START_GRACE`` seconds after it is past due counted
    from submission (``ray.cancel(force=True)`` kills the worker).
    """
    import ray
    from ray.exceptions import RayError, RayTaskError

    started = start_ray(workers, address)
    remote = ray.remote(num_cpus=1, max_retries=0, retry_exceptions=False)(_ray_call)
    capacity = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
    capacity *= 2  # keep the workers busy across scheduling latency
    fn_ref = ray.put(fn)
    pending: deque[int] = deque(range(len(tasks)))
    in_flight: dict[Any, tuple[int, float]] = {}

    def retry(index: int, error: str) -> None:
        if tracker.failure(index, error):
            pending.appendleft(index)

    try:
        while pending or in_flight:
            while pending and len(in_flight) < capacity:
                index = pending.popleft()
                tracker.runs[index] += 1
                ref = remote.remote(fn_ref, tasks[index], timeout)
                in_flight[ref] = (index, time.monotonic())
            ready, _ = ray.wait(
                list(in_flight), num_returns=1, timeout=POLL_SECONDS if timeout else None
            )
            for ref in ready:
                index, _ = in_flight.pop(ref)
                try:
                    value = ray.get(ref)
                except RayTaskError as error:  # the task raised (TaskTimeout included)
                    cause = getattr(error, "cause", None)
                    if isinstance(cause, TaskTimeout):
                        retry(index, f"TaskTimeout: no result after {timeout:g} s")
                    else:
                        retry(index, _error_text(cause if cause is not None else error))
                except RayError as error:  # the worker died, the node was lost, ...
                    retry(index, f"worker process died ({type(error).__name__})")
                else:
                    tracker.success(index, value)
            if timeout:
                due = time.monotonic() - float(timeout) - RAY_START_GRACE
                for ref, (index, start) in list(in_flight.items()):
                    if start < due:
                        del in_flight[ref]
                        ray.cancel(ref, force=True)
                        retry(index, f"TaskTimeout: no result after {timeout:g} s")
    finally:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        if started:
            ray.shutdown()


# ----------------------------------------------------------------------------- test tasks
# Module-level (so every backend can pickle them): used by the tests and baselines.parallel_speed.


def noop(task: Any) -> Any:
    """Return the task unchanged (measures the executor's overhead per task)."""
    return task


def crash_once(task: tuple[str, Any]) -> Any:
    """``(marker_path, value)``: the first call kills its process (``os._exit(1)``), later
    calls (the marker file exists) return ``value``. Not for ``serial``: it would exit."""
    marker, value = task
    if not os.path.exists(marker):
        with open(marker, "w", encoding="utf-8") as handle:
            handle.write(str(os.getpid()))
        os._exit(1)
    return value


def crash_when(task: tuple[bool, Any]) -> Any:
    """``(crash, value)``: kill the process (``os._exit(1)``) if ``crash``, else return ``value``."""
    crash, value = task
    if crash:
        os._exit(1)
    return value


def fail_always(task: Any) -> Any:
    """Raise on every call."""
    raise RuntimeError(f"task {task!r} always fails")


def sleep_for(task: float) -> float:
    """Sleep ``task`` seconds and return it."""
    time.sleep(task)
    return task
