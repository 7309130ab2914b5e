"""Hoffman constants of random tropical rational maps: exact (brute force, PVZ) vs bounds.

    python -m baselines.regions.hoffman_bench [--repeats 8]

As in Sec. 3.3 of Lezeau et al. (2024): p and q get m_p, m_q monomials with exponents
uniform in [-1, 1]^n (coefficients 0); for each cell (i, j) the matrix
``[E_p - 1 e_i ; E_q - 1 e'_j]`` is formed and H(f) = max over cells.  Reports the exact value
(PVZ, checked against brute force), the sampled lower bound, the upper bound and the times.
Writes ``hoffman.csv``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, write_csv
from envs.cli import UsageParser, run_cli
from envs.regions.hoffman import (
    hoffman_brute_force,
    hoffman_lower_bound,
    hoffman_pvz,
    hoffman_upper_bound,
    tropical_hoffman_matrices,
)
from envs.regions.tropical import TropicalPolynomial, TropicalRational

CONFIGS = [(2, 3, 2), (2, 4, 3), (3, 3, 3), (3, 4, 4)]  # (n, m_p, m_q)


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    rows = []
    for n, m_p, m_q in CONFIGS:
        for repeat in tqdm(range(args.repeats), desc=f"n={n} m_p={m_p} m_q={m_q}"):
            rng = np.random.default_rng(1000 * n + 100 * m_p + 10 * m_q + repeat)
            f = TropicalRational(
                TropicalPolynomial(np.zeros(m_p), rng.uniform(-1, 1, (m_p, n))),
                TropicalPolynomial(np.zeros(m_q), rng.uniform(-1, 1, (m_q, n))),
            )
            matrices = tropical_hoffman_matrices(f)
            timings, values = {}, {}
            for name, function in [
                ("brute", hoffman_brute_force),
                ("pvz", lambda A: hoffman_pvz(A).hoffman),
                ("lower", lambda A, seed=repeat: hoffman_lower_bound(A, num_samples=10, seed=seed)),
                ("upper", lambda A: hoffman_upper_bound(A)[0]),
            ]:
                begin = time.perf_counter()
                values[name] = max(function(A) for A in matrices)
                timings[name] = time.perf_counter() - begin
            rows.append(
                {
                    "n": n,
                    "m_p": m_p,
                    "m_q": m_q,
                    "repeat": repeat,
                    **{f"H_{k}": f"{v:.6g}" for k, v in values.items()},
                    **{f"seconds_{k}": f"{v:.4f}" for k, v in timings.items()},
                    "pvz_equals_brute": bool(np.isclose(values["pvz"], values["brute"], rtol=1e-6)),
                    "bounds_hold": bool(
                        values["lower"] <= values["pvz"] * (1 + 1e-6)
                        and values["pvz"] <= values["upper"] * (1 + 1e-6)
                    ),
                }
            )
    write_csv(args.output / "hoffman.csv", rows)
    print(
        "n | m_p | m_q | mean H exact | mean lower | mean upper | s brute | s PVZ | s lower | s upper | PVZ==brute | bounds hold"
    )
    for n, m_p, m_q in CONFIGS:
        sel = [r for r in rows if (r["n"], r["m_p"], r["m_q"]) == (n, m_p, m_q)]

        def mean(key: str, sel: list[dict] = sel) -> float:
            return float(np.mean([float(r[key]) for r in sel]))

        print(
            f"{n} | {m_p} | {m_q} | {mean('H_pvz'):.3g} | {mean('H_lower'):.3g} | {mean('H_upper'):.3g} | "
            f"{mean('seconds_brute'):.3f} | {mean('seconds_pvz'):.3f} | {mean('seconds_lower'):.3f} | "
            f"{mean('seconds_upper'):.4f} | {sum(r['pvz_equals_brute'] for r in sel)}/{len(sel)} | "
            f"{sum(r['bounds_hold'] for r in sel)}/{len(sel)}"
        )
    return rows


if __name__ == "__main__":
    run_cli(main)
