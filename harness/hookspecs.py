"""Hooks the chaos pytest plugin adds (registered in ``pytest_addhooks``)."""

import pytest


@pytest.hookspec(firstresult=False)
def pytest_chaos_run_finished(config: pytest.Config, item: pytest.Item, result) -> None:
    """Called after a chaos run finished: a scenario item's, or the ``chaos_run`` fixture's.

    ``item`` is the test that ran it; ``result`` is a :class:`harness.runner.RunResult`
    (``run_dir``, ``status``, ``verdict``, ``report``). Use it to publish numbers
    elsewhere, e.g. in a conftest::

        def pytest_chaos_run_finished(item, result):
            print(f"{item.nodeid}: {result.run_dir.name}: {result.verdict}")

    .. versionadded:: 0.1
    .. versionchanged:: 0.1 ``item``; also called for scenario items.
    """
