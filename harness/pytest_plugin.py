"""The pytest plugin (entry point ``pytest11: chaos``): thin, lazy, namespaced.

* ``@pytest.mark.chaos(scenario="scenarios/x.yaml", backend="process")`` plus the
  ``chaos_run`` fixture runs the scenario and records every SLO verdict with
  ``record_property`` (so they land in pytest's own JUnit XML);
* the fixture is a listener on the run's events: each fault's injection lag becomes a
  property as it lands, and every record is passed to the ``pytest_chaos_record`` hook
  while the run goes on (``harness/hookspecs.py``);
* ``@pytest.mark.docker`` tests skip with a reason when no Docker engine answers,
  and fail instead when ``CHAOS_REQUIRE_DOCKER=1``;
* options live in the ``chaos`` group, all prefixed ``--chaos-``.

Nothing heavy (docker, locust) is imported until a test asks for it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.backends import backend_names

_backend_key = pytest.StashKey[str]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos-harness resilience scenarios")
    group.addoption("--chaos-backend", default=None, choices=backend_names(),
                    help="backend for chaos-marked tests (default: the scenario's own)")
    group.addoption("--chaos-reports-dir", default="reports",
                    help="directory for run reports (default: reports)")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from harness import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos(scenario, backend=None): run a chaos-harness scenario "
                                       "for the chaos_run fixture")
    config.addinivalue_line("markers", "docker: needs a Docker engine (skips without one unless "
                                       "CHAOS_REQUIRE_DOCKER=1)")
    config.stash[_backend_key] = config.getoption("--chaos-backend")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    docker_items = [item for item in items if item.get_closest_marker("docker")]
    if not docker_items or os.environ.get("CHAOS_REQUIRE_DOCKER") == "1":
        return
    from harness.dockerutil import docker_available

    available, reason = docker_available()
    if not available:
        skip = pytest.mark.skip(reason=f"no Docker engine: {reason} (set CHAOS_REQUIRE_DOCKER=1 to fail instead)")
        for item in docker_items:
            item.add_marker(skip)


@pytest.fixture
def chaos_run(request: pytest.FixtureRequest, record_property):
    """Run the scenario named by ``@pytest.mark.chaos(scenario=...)``; return the RunResult."""
    from harness.loader import load_scenario
    from harness.runner import run_scenario
    from harness.timeline.events import Events

    marker = request.node.get_closest_marker("chaos")
    if marker is None or "scenario" not in marker.kwargs:
        pytest.fail("chaos_run needs @pytest.mark.chaos(scenario='path/to/scenario.yaml')")
    path = Path(marker.kwargs["scenario"])
    backend = marker.kwargs.get("backend") or request.config.stash[_backend_key]
    events = Events()
    events.record.add_listener(_RecordListener(request.config, record_property))
    result = run_scenario(load_scenario(path), scenario_file=path, backend=backend, events=events,
                          reports_dir=Path(request.config.getoption("--chaos-reports-dir")))
    record_property("chaos_run_dir", str(result.run_dir))
    for slo in (result.report or {}).get("slos", []):
        record_property(f"slo:{slo['name']}", f"{slo['status']} (observed {slo['observed']}, "
                                              f"threshold {slo['threshold']})")
    request.config.hook.pytest_chaos_run_finished(config=request.config, result=result)
    return result


class _RecordListener:
    """Listens on a run's records: each fault's lag as a property, every record to the hook."""

    def __init__(self, config: pytest.Config, record_property):
        self.config, self.record_property = config, record_property

    def __call__(self, record, **_) -> None:
        from harness.timeline.records import FaultInjected

        if isinstance(record, FaultInjected) and record.lag_ms is not None:
            self.record_property(f"fault:{record.fault}:lag_ms", record.lag_ms)
        self.config.hook.pytest_chaos_record(config=self.config, record=record)
