"""The traversal's cell expansions on a process pool and on Ray give the serial result."""

from __future__ import annotations

import json
from math import comb

import numpy as np
import pytest

from envs.regions.count import main as count_main
from envs.regions.exact import count_regions_traversal
from envs.regions.network import random_network


def _same(a, b) -> None:
    assert (a.count, a.num_cells, a.num_lps) == (b.count, b.num_cells, b.num_lps)
    assert a.cell_labels == b.cell_labels
    assert a.pattern_to_region == b.pattern_to_region
    assert all(np.array_equal(p, q) for p, q in zip(a.cell_points, b.cell_points, strict=True))


@pytest.mark.parametrize("backend", ["process", "ray"], indirect=True)
def test_parallel_backends_give_the_serial_result(backend) -> None:
    for arch, box in (([2, 40, 1], None), ([3, 6, 5, 1], 3.0)):
        net = random_network(arch, 4)
        serial = count_regions_traversal(net, box_radius=box)
        parallel = count_regions_traversal(net, box_radius=box, backend=backend, workers=2)
        _same(serial, parallel)
    assert serial.count == count_regions_traversal(net, box_radius=box, facet_method="cdd").count
    wide = count_regions_traversal(random_network([2, 40, 1], 4), backend=backend, workers=2)
    assert wide.count == 1 + 40 + comb(40, 2)


def test_parallel_errors_name_the_cell(monkeypatch) -> None:
    from envs.regions import cells
    from envs.regions.lp import LPError

    def failing(self, *args, **kwargs):
        raise LPError("HiGHS returned Not Set")

    monkeypatch.setattr(cells.CellExpander, "expand", failing)
    with pytest.raises(LPError, match=r"cell 0 \(active units \[.*\]\): HiGHS returned Not Set"):
        count_regions_traversal(random_network([2, 5, 1], 0))


def test_bad_backend_and_workers_are_errors() -> None:
    net = random_network([2, 3, 1], 0)
    with pytest.raises(ValueError, match="backend"):
        count_regions_traversal(net, backend="threads")
    with pytest.raises(ValueError, match="workers"):
        count_regions_traversal(net, backend="process", workers=0)


def test_count_cli_runs_the_traversal_on_a_pool(capsys) -> None:
    argv = ["--arch", "2,12,1", "--method", "traversal", "--no-monomials"]
    assert count_main(argv + ["--backend", "process", "--workers", "2"]) == 0
    parallel = json.loads(capsys.readouterr().out)
    assert count_main(argv + ["--facet-method", "cdd"]) == 0
    serial = json.loads(capsys.readouterr().out)
    assert parallel["count"] == serial["count"] == 1 + 12 + comb(12, 2)
