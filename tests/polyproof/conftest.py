"""Shared fixtures for PolyProof tests."""

from __future__ import annotations

import pytest

from envs.polyproof.graphs import named_graph, stable_set_from_graph


@pytest.fixture(scope="session")
def small_named_problems():
    """Stable-set problems on K_5, C_7 and Petersen with their exact alpha."""
    return {
        "K5": stable_set_from_graph(named_graph("complete", 5)),
        "C7": stable_set_from_graph(named_graph("cycle", 7)),
        "petersen": stable_set_from_graph(named_graph("petersen")),
    }


@pytest.fixture
def tiny_train_args():
    """Factory of tiny ``agents.train_dqn`` arguments: ``(run_dir, total, *overrides)``."""
    from agents.train_dqn import load_args

    def make(run_dir, total, *overrides):
        return load_args(
            None,
            [
                f"run_dir={run_dir}",
                f"total_timesteps={total}",
                "n=5",
                "max_steps=6",
                "width=8",
                "batch_size=4",
                "learning_starts=8",
                "train_freq=4",
                "buffer_size=100",
                "target_update_interval=8",
                "learning_rate=0.001",
                "exploration_initial_eps=0.3",
                "exploration_final_eps=0.3",
                "eval_every=12",
                "checkpoint_every=12",
                "eval_graphs=1",
                "final_eval_graphs=0",
                "device=cpu",
                *overrides,
            ],
        )

    return make


@pytest.fixture(scope="module")
def one_torch_thread():
    """One torch thread for a test module: tiny tensors, extra threads only add synchronisation."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
