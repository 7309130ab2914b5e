"""Fixtures shared by every test folder: the executor backends under test."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def ray_instance():
    """One local Ray instance for the whole module (reused by run_tasks)."""
    ray = pytest.importorskip("ray", reason='Ray is not installed: pip install -e ".[ray]"')
    import logging
    import signal

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        ignore_reinit_error=True,
        logging_level=logging.WARNING,
    )
    yield ray
    ray.shutdown()
    for sig, handler in handlers.items():  # ray.init installs its own; later tests expect ours
        signal.signal(sig, handler)


@pytest.fixture
def backend(request):
    """The backend under test; ``ray`` starts (once) the module's local instance."""
    if request.param == "ray":
        request.getfixturevalue("ray_instance")
    return request.param
