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


@pytest.hookspec(firstresult=False)
def pytest_chaos_record(config: pytest.Config, item: pytest.Item, record) -> None:
    """Called for every journal record of a chaos run (a scenario item's, or the
    ``chaos_run`` fixture's), as soon as it is on disk.

    ``item`` is the test running it; ``record`` is a typed record
    (``harness.timeline.records``). The call comes from the thread that wrote the record
    (a supervisor's, the engine's event watcher's), so keep it short. React while the
    run goes on, e.g. in a conftest::

        from harness.timeline.records import FaultInjected

        def pytest_chaos_record(item, record):
            if isinstance(record, FaultInjected):
                print(f"{record.fault} landed {record.lag_ms} ms after its time")

    A hook that raises is logged (``harness.timeline``), and the run goes on.

    .. versionadded:: 0.1
    """
