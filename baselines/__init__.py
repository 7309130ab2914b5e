"""Baselines: static hierarchies, scripted and heuristic provers, benchmarks."""
