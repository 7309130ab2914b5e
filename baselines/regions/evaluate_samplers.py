"""Compare the RegionEnum-v0 baselines: uniform, Hoffman-radius, fundamental-domain sampling.

    python -m baselines.regions.evaluate_samplers [--episodes 20] [--budget 64]

Two settings: random MLPs [2, 8, 1] (uniform vs Hoffman radius) and DeepSets networks with
n = 3 inputs (uniform vs fundamental domain).  Writes ``samplers.csv`` (one row per episode)
and prints the mean fraction of regions found.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from tqdm import tqdm

from baselines.regions.io_utils import DEFAULT_OUTPUT, write_csv
from baselines.regions.samplers import (
    FundamentalDomainSampler,
    HoffmanRadiusSampler,
    UniformSampler,
    run_episode,
)
from envs.cli import UsageParser, run_cli
from envs.regions.env import RegionEnumEnv


def main(argv: list[str] | None = None) -> list[dict]:
    parser = UsageParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--radius", type=float, default=20.0)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    settings = [
        ("mlp_2_8_1", dict(architectures=[[2, 8, 1]]), [UniformSampler, HoffmanRadiusSampler]),
        (
            "deepsets_3",
            dict(generator="deepsets", input_dim=3),
            [UniformSampler, FundamentalDomainSampler],
        ),
    ]
    rows = []
    for name, kwargs, samplers in settings:
        env = RegionEnumEnv(budget=args.budget, radius=args.radius, **kwargs)
        for sampler_cls in samplers:
            for episode in tqdm(range(args.episodes), desc=f"{name}/{sampler_cls.name}"):
                sampler = sampler_cls(seed=episode)
                result = run_episode(env, sampler, seed=episode)
                rows.append(
                    {
                        "setting": name,
                        "sampler": sampler_cls.name,
                        "episode": episode,
                        "found": result["found"],
                        "total": result["total"],
                        "found_fraction": f"{result['found_fraction']:.6f}",
                        "effective_radius": getattr(sampler, "effective_radius", ""),
                    }
                )
    write_csv(args.output / "samplers.csv", rows)
    print("setting | sampler | mean found fraction | mean found / total")
    for name, _, samplers in settings:
        for sampler_cls in samplers:
            sel = [r for r in rows if r["setting"] == name and r["sampler"] == sampler_cls.name]
            print(
                f"{name} | {sampler_cls.name} | {np.mean([float(r['found_fraction']) for r in sel]):.3f} | "
                f"{np.mean([r['found'] for r in sel]):.1f} / {np.mean([r['total'] for r in sel]):.1f}"
            )
    return rows


if __name__ == "__main__":
    run_cli(main)
