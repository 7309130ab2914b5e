"""The executor (envs.parallel) and the jobs routed through it, on serial, process and ray.

Ray tests share one local instance (``ray.init(num_cpus=2)``, module scope); they are
skipped, with the reason, only where Ray is not installed (``pip install -e ".[ray]"``).
"""

from __future__ import annotations

import json
import time
from unittest import mock

import pytest

from baselines.common import masked_csv
from envs.parallel import (
    crash_once,
    crash_when,
    fail_always,
    noop,
    resolve_backend,
    run_tasks,
    sleep_for,
)

BACKENDS = ("serial", "process", "ray")


def all_backends(*names: str):
    return pytest.mark.parametrize("backend", names or BACKENDS, indirect=True)


# ----------------------------------------------------------------------------- executor


@all_backends()
def test_outcomes_in_input_order(backend) -> None:
    finished: list[int] = []
    delays = [0.4, 0.0, 0.2, 0.0, 0.1, 0.0]
    outcomes = run_tasks(
        sleep_for,
        delays,
        backend=backend,
        workers=2,
        progress=False,
        on_result=lambda o: finished.append(o.index),
    )
    assert [o.index for o in outcomes] == list(range(len(delays)))
    assert [o.value for o in outcomes] == delays
    assert all(o.ok and o.attempts == 1 for o in outcomes)
    assert sorted(finished) == list(range(len(delays)))
    assert run_tasks(noop, [], backend=backend, workers=2) == []


@all_backends("process", "ray")
def test_killed_worker_is_retried_and_nothing_lost(backend, tmp_path) -> None:
    marker = tmp_path / "crashed"
    done = tmp_path / "never-crash"
    done.write_text("")
    tasks = [(str(marker if i == 3 else done), i) for i in range(8)]
    outcomes = run_tasks(crash_once, tasks, backend=backend, workers=2, progress=False)
    assert marker.exists()  # the worker really died once
    assert [o.value for o in outcomes] == list(range(8))
    assert all(o.ok for o in outcomes)
    assert outcomes[3].attempts == 2


@all_backends("process", "ray")
def test_worker_that_always_dies_is_reported_per_row(backend) -> None:
    tasks = [(i == 1, i) for i in range(4)]
    outcomes = run_tasks(crash_when, tasks, backend=backend, workers=2, retries=1, progress=False)
    assert not outcomes[1].ok and "worker process died" in outcomes[1].error
    assert outcomes[1].attempts >= 2  # (+ runs alongside others before it was singled out)
    assert [o.value for k, o in enumerate(outcomes) if k != 1] == [0, 2, 3]


@all_backends()
def test_failing_task_reported_after_retries(backend) -> None:
    outcomes = run_tasks(fail_always, ["a", "b"], backend=backend, workers=2, retries=2)
    for outcome in outcomes:
        assert not outcome.ok and outcome.attempts == 3
        assert outcome.error.startswith("RuntimeError: task") and "always fails" in outcome.error


@all_backends()
def test_timeout_never_hangs(backend) -> None:
    start = time.monotonic()
    outcomes = run_tasks(sleep_for, [0.0, 60.0], backend=backend, workers=2, retries=0, timeout=1.0)
    assert outcomes[0].ok and outcomes[0].value == 0.0
    assert not outcomes[1].ok and outcomes[1].error.startswith("TaskTimeout")
    assert time.monotonic() - start < 30


def test_executor_arguments(tmp_path) -> None:
    import argparse

    from baselines import benchmark
    from envs.cli import UsageError
    from envs.parallel import add_executor_arguments, executor_options

    parser = argparse.ArgumentParser()
    add_executor_arguments(parser, workers=2)
    args = parser.parse_args(["--backend", "ray", "--address", "auto", "--task-timeout", "5"])
    assert executor_options(args) == {
        "backend": "ray",
        "workers": 2,
        "address": "auto",
        "retries": 2,
        "timeout": 5.0,
    }
    out = ["--n", "5", "--graphs", "1", "--out", str(tmp_path / "b.csv"), "--no-progress"]
    with pytest.raises(UsageError, match="retries"):
        benchmark.main([*out, "--retries", "-1"])
    with pytest.raises(UsageError, match="backend"):
        benchmark.main([*out, "--backend", "threads"])


def test_bad_options() -> None:
    assert resolve_backend(None, 1) == "serial" and resolve_backend(None, 4) == "process"
    with pytest.raises(ValueError, match="backend"):
        run_tasks(noop, [1], backend="threads")
    with pytest.raises(ValueError, match="workers"):
        run_tasks(noop, [1], backend="process", workers=0)
    with pytest.raises(ValueError, match="retries"):
        run_tasks(noop, [1], backend="serial", retries=-1)


# ----------------------------------------------------------------------------- jobs




BENCH_TIMES = ("build_seconds", "solve_seconds", "seconds")


def _bench(path, backend: str) -> tuple[str, str]:
    from baselines.benchmark import run_benchmark

    run_benchmark(
        (6, 7),
        2,
        ("sherali_adams:2", "random", "clique_cover", "alpha"),
        seed=3,
        out=path,
        workers=2,
        backend=backend,
        max_steps=20,
        progress=False,
        log=lambda _: None,
    )
    rows = masked_csv(path.read_text(), BENCH_TIMES)
    summary = masked_csv(path.with_suffix(".summary.csv").read_text(), ("mean_seconds",))
    return rows, summary


@pytest.fixture(scope="module")
def serial_benchmark(tmp_path_factory):
    path = tmp_path_factory.mktemp("bench") / "serial.csv"
    return path, _bench(path, "serial")


@all_backends("process", "ray")
def test_benchmark_same_csv_on_every_backend(backend, serial_benchmark, tmp_path) -> None:
    serial_path, reference = serial_benchmark
    assert len(reference[0].splitlines()) == 1 + 2 * 2 * 4
    assert _bench(tmp_path / f"{backend}.csv", backend) == reference
    # a run killed mid-way (rows missing, a half-written line) resumes to the same file
    lines = serial_path.read_text().splitlines(keepends=True)
    partial = tmp_path / "partial.csv"
    partial.write_text("".join(lines[:6]) + lines[6][:10])
    assert _bench(partial, backend) == reference


def _reports_json(backend: str) -> str:
    from envs.polytopes import dataset
    from envs.polytopes.batch import check_many

    matrices = dataset.load(3)[:10] + ["1 0\n0 1"]  # one unbounded, not a polytope
    reports = check_many(
        matrices, workers=2, chunk_size=3, backend=backend, progress=False, normality="exact"
    )
    return "\n".join(json.dumps({"block": k, **r.to_dict()}) for k, r in enumerate(reports))


@all_backends()
def test_property_check_same_json_on_every_backend(backend) -> None:
    text = _reports_json(backend)
    assert text == _reports_json("serial")
    assert text.count('"all": true') == 10 and text.count('"compact": false') == 1


def test_property_check_failed_chunk_is_rechecked_per_polytope(monkeypatch) -> None:
    from envs.polytopes import batch, dataset

    calls: list[int] = []

    def flaky(chunk, representation, options):
        calls.append(len(chunk))
        if len(chunk) > 1:
            raise MemoryError("chunk too big")
        if chunk[0] is poison:
            raise RuntimeError("boom")
        return [batch.check(m, representation, **options) for m in chunk]

    monkeypatch.setattr(batch, "_check_chunk", flaky)
    matrices = list(dataset.load(3)[:4])
    poison = matrices[2]
    reports = batch.check_many(matrices, workers=1, chunk_size=4, progress=False, retries=0)
    assert [r.all for r in reports] == [True, True, None, True]
    assert reports[2].parseable and reports[2].reason == "check failed: RuntimeError: boom"
    assert calls == [4, 1, 1, 1, 1]


def _sweep(out, backend: str) -> tuple[str, str]:
    from baselines.regions import width_depth

    args = ["--widths", "2", "--seeds", "2", "--output", str(out), "--backend", backend]
    with mock.patch.object(width_depth, "_plot"):  # (the figure is not compared; slow)
        width_depth.main([*args, "--workers", "1"])  # (each worker imports torch: keep one)
    return (out / "width_depth.csv").read_text(), (out / "width_depth_summary.csv").read_text()


@pytest.fixture(scope="module")
def serial_sweep(tmp_path_factory):
    return _sweep(tmp_path_factory.mktemp("sweep") / "serial", "serial")


@all_backends()
def test_region_sweep_same_csv_on_every_backend(backend, serial_sweep, tmp_path) -> None:
    reference = serial_sweep
    assert len(reference[0].splitlines()) == 1 + 2 * 2  # (shallow, deep) x 2 seeds
    if backend != "serial":
        assert _sweep(tmp_path / backend, backend) == reference
    if backend != "process":  # (a pool start imports torch: a few seconds)
        # resume: keep two rows, the rest is recomputed into the same file
        out = tmp_path / "resumed"
        out.mkdir()
        lines = reference[0].splitlines(keepends=True)
        (out / "width_depth.csv").write_text("".join(lines[:1] + lines[2:4]))
        assert _sweep(out, backend) == reference


# ----------------------------------------------------------------------------- dataset derive


@all_backends("process", "ray")
def test_derived_keys_same_on_every_backend(backend, tmp_path) -> None:
    """The dataset's derived fields (lattice keys, d = 4) computed part by part as tasks."""
    from envs.polytopes import dataset, derived

    rows = dataset.load(4)
    merged = derived.compute(
        "keys", rows, tmp_path / "keys.npz", workers=2, part_size=40, backend=backend,
        progress=False,
    )
    import numpy as np

    np.testing.assert_array_equal(merged["keys"], dataset.load_data(4).keys)
