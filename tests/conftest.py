"""Fixtures shared by every test folder: the executor backends under test."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the whole module (reused by run_tasks)."""
    ray = pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[ray]"')
    import logging

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        ignore_reinit_error=True,
        logging_level=logging.WARNING,
    )
    yield ray
    ray.shutdown()


@pytest.fixture
def backend(request):
    """The backend under test; ``ray`` starts (once) the module's local instance."""
    if request.param == "ray":
        request.getfixturevalue("ray_instance")
    return request.param
