"""Hooks the chaos pytest plugin adds (registered in ``pytest_addhooks``)."""

import pytest


@pytest.hookspec(firstresult=False)
def pytest_chaos_run_finished(config: pytest.Config, result) -> None:
    """Called after the ``chaos_run`` fixture finished a scenario run.

    ``result`` is a :class:`harness.runner.RunResult` (``run_dir``, ``status``,
    ``verdict``, ``report``). Use it to publish numbers elsewhere, e.g. in a conftest::

        def pytest_chaos_run_finished(config, result):
            print(f"{result.run_dir.name}: {result.verdict}")

    .. versionadded:: 0.1
    """
