"""Benchmark CLI (Table 1 rows) and the warm-start benchmark."""

from __future__ import annotations

import csv
import json
from fractions import Fraction

import pytest

from baselines import benchmark, warm_start_benchmark
from envs.cli import UsageError
from envs.polyproof.graphs import stability_number


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_parse_method() -> None:
    assert benchmark.parse_method("sherali_adams:3") == ("sherali_adams", 3)
    assert benchmark.parse_method("random") == ("random", None)
    for bad in ("sherali_adams", "sherali_adams:0", "sherali_adams:x", "lasserre", "alpha:2"):
        with pytest.raises(ValueError):
            benchmark.parse_method(bad)


def test_graphs_are_deterministic() -> None:
    a = benchmark.graph_for(0, 12, 3)
    b = benchmark.graph_for(0, 12, 3)
    c = benchmark.graph_for(1, 12, 3)
    assert sorted(a.edges()) == sorted(b.edges())
    assert sorted(a.edges()) != sorted(c.edges())
    assert 0.5 <= a.graph["p"] <= 1.0


def test_sherali_adams_rows_resume_and_summary(tmp_path) -> None:
    out = tmp_path / "table.csv"
    methods = ["sherali_adams:2", "sherali_adams:3", "alpha"]
    summary = benchmark.run_benchmark([9, 12], 3, methods, seed=5, out=out, progress=False)
    rows = _rows(out)
    assert len(rows) == 2 * 3 * 3
    for row in rows:
        n, alpha = int(row["n"]), int(row["alpha"])
        graph = benchmark.graph_for(5, n, int(row["graph"]))
        assert alpha == stability_number(graph)
        if row["method"] == "alpha":
            assert row["status"] == "reference" and float(row["bound"]) == alpha
            continue
        level = int(row["method"].split(":")[1])
        assert row["status"] == "ok" and row["certificate_valid"] == "True"
        assert Fraction(row["bound_exact"]) == Fraction(n, level)  # the paper's n/l
        assert row["sound"] == "True" and int(row["lp_columns"]) > int(row["generators"])
    means = {(s["n"], s["method"]): s for s in summary}
    assert means[(12, "sherali_adams:2")]["mean_bound"] == 6.0
    assert means[(9, "sherali_adams:3")]["mean_bound"] == 3.0
    assert (tmp_path / "table.summary.csv").exists()
    # resume: nothing recomputed, then only the missing graphs are added
    again = benchmark.run_benchmark([9, 12], 3, methods, seed=5, out=out, progress=False)
    assert len(_rows(out)) == 18 and again == summary
    benchmark.run_benchmark([9, 12], 4, methods, seed=5, out=out, progress=False)
    assert len(_rows(out)) == 24
    # a run killed mid-write leaves a partial line: it is dropped and recomputed
    text = out.read_text()
    out.write_text(text[: text.rstrip("\n").rfind("\n") + 1] + "5,12,3,0.7")
    benchmark.run_benchmark([9, 12], 4, methods, seed=5, out=out, progress=False)
    rows = _rows(out)
    assert len(rows) == 24 and len({benchmark.row_key(r) for r in rows}) == 24
    table = benchmark.format_table(summary)
    assert "sherali_adams:3" in table and "unsound" in table


def test_memory_budget_rows_are_skipped_not_crashed(tmp_path) -> None:
    out = tmp_path / "skip.csv"
    summary = benchmark.run_benchmark(
        [10],
        1,
        ["sherali_adams:2", "sherali_adams:4"],
        out=out,
        memory_budget=64 * 1024,
        progress=False,
    )
    statuses = {r["method"]: r["status"] for r in _rows(out)}
    assert statuses == {"sherali_adams:2": "ok", "sherali_adams:4": "skipped_memory"}
    row = next(s for s in summary if s["method"] == "sherali_adams:4")
    assert row["skipped_memory"] == 1 and row["certified"] == 0


def test_failed_certificate_is_never_a_bound(tmp_path, monkeypatch) -> None:
    from envs.polyproof.proof import Proof

    calls = {"n": 0}

    def fail_second_check(self) -> bool:  # pass the solver's own check, fail the benchmark's
        calls["n"] += 1
        return calls["n"] % 2 == 1

    monkeypatch.setattr(Proof, "is_valid", fail_second_check)
    out = tmp_path / "fail.csv"
    summary = benchmark.run_benchmark([8], 1, ["sherali_adams:2"], out=out, progress=False)
    (row,) = _rows(out)
    assert row["status"] == "certificate_failed" and row["bound"] == ""
    assert summary[0]["certificate_failed"] == 1 and summary[0]["certified"] == 0


def test_dynamic_provers_rows(tmp_path) -> None:
    pytest.importorskip("baselines.provers")
    out = tmp_path / "provers.csv"
    benchmark.run_benchmark(
        [8], 2, ["random", "dual_pricing"], out=out, max_steps=20, progress=False
    )
    rows = _rows(out)
    assert len(rows) == 4
    for row in rows:
        assert row["status"] == "ok", row["message"]
        assert row["sound"] == "True" and row["certificate_valid"] == "True"
        assert Fraction(row["bound_exact"]) >= int(row["alpha"])


def test_cli_defaults_run(tmp_path, monkeypatch, capsys) -> None:
    pytest.importorskip("baselines.provers")
    monkeypatch.chdir(tmp_path)
    assert benchmark.main(["--no-progress"]) == 0
    printed = capsys.readouterr().out
    for method in benchmark.DEFAULT_METHODS:
        assert method in printed
    rows = _rows(tmp_path / benchmark.DEFAULT_OUT)
    assert len(rows) == len(benchmark.DEFAULT_N) * benchmark.DEFAULT_GRAPHS * len(
        benchmark.DEFAULT_METHODS
    )
    assert all(r["status"] in ("ok", "reference") for r in rows)
    assert all(r["sound"] in ("True", "") for r in rows)


def test_cli_rejects_bad_arguments(tmp_path) -> None:
    with pytest.raises(UsageError):
        benchmark.main(["--methods", "nope", "--out", str(tmp_path / "x.csv")])
    with pytest.raises(UsageError):
        benchmark.main(["--graphs", "0", "--out", str(tmp_path / "x.csv")])


def test_warm_start_benchmark_small(tmp_path, capsys) -> None:
    out = tmp_path / "ws.json"
    assert (
        warm_start_benchmark.main(
            ["--n", "8", "--max-memory", "30", "--graphs", "1", "--out", str(out)]
        )
        == 0
    )
    document = json.loads(out.read_text())
    summary = document["summary"]
    assert summary["steps"] == 30 - 17
    assert summary["rebuild_over_warm"] > 0 and summary["cleared_over_warm"] > 0
    assert "rebuild/warm" in capsys.readouterr().out
