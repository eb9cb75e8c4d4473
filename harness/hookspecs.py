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


@pytest.hookspec(firstresult=False)
def pytest_chaos_record(config: pytest.Config, record) -> None:
    """Called for every journal record of a ``chaos_run`` run, as soon as it is on disk.

    ``record`` is a typed record (``harness.timeline.records``); the call comes from
    the thread that wrote it (a supervisor's, the engine's event watcher's), so keep it
    short. React while the run goes on, e.g. in a conftest::

        from harness.timeline.records import FaultInjected

        def pytest_chaos_record(config, record):
            if isinstance(record, FaultInjected):
                print(f"{record.fault} landed {record.lag_ms} ms after its time")

    A hook that raises is logged (``harness.timeline``), and the run goes on.

    .. versionadded:: 0.1
    """
