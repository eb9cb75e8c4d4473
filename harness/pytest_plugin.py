"""The pytest plugin (entry point ``pytest11: chaos``): thin, lazy, namespaced.

* ``pytest scenarios/`` collects each scenario file as a test item
  (:mod:`harness.pytest_scenarios` says which YAML files are scenarios); each SLO is a
  sub-result in the failure message, the terminal summary and pytest's own JUnit XML
  (:mod:`harness.pytest_verdicts`);
* ``@pytest.mark.chaos(scenario="scenarios/x.yaml", backend="process")`` plus the
  ``chaos_run`` fixture runs the scenario inside an ordinary test and records every SLO
  verdict with ``record_property`` (so they land in pytest's own JUnit XML);
* ``chaos_pipeline`` (a running pipeline for one test), ``chaos_toxiproxy`` (its fault
  proxy's Toxiproxy-API client) and ``inject`` (``with inject.latency("features",
  ms=300): ...``, always healed) for hand-written tests (:mod:`harness.pytest_fixtures`);
* every chaos run is listened to while it goes on: each fault's injection lag becomes a
  ``fault:NAME:lag_ms`` property as it lands, and every journal record is passed to
  the ``pytest_chaos_record`` hook (``harness/hookspecs.py``);
* chaos items refuse to run in parallel under pytest-xdist (they share the machine's
  cores, ports, fault proxy and Docker engine, so they would disturb each other's
  timings) unless ``--chaos-isolated`` says every worker has a machine of its own;
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
from harness.pytest_fixtures import chaos_pipeline, chaos_toxiproxy, inject  # noqa: F401  (fixtures)
from harness.pytest_scenarios import (ScenarioFile, ScenarioItem, is_scenario_file, outcome_key,
                                      run_chaos, scenario_roots)
from harness.pytest_verdicts import SloReporter

_PARALLEL_REFUSED = (
    "{count} chaos item(s) here cannot run in parallel under pytest-xdist ({workers} workers): "
    "chaos runs share this machine's cores, ports, fault proxy and Docker engine, so each would "
    "disturb the others' faults and timings. Run them without -n (or with -n 0 or -n 1), or "
    "pass --chaos-isolated if every xdist worker has a machine of its own (e.g. --tx ssh=...).")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "chaos-harness resilience scenarios")
    group.addoption("--chaos-backend", default=None, choices=backend_names(),
                    help="backend for every chaos run (default: each scenario's own)")
    group.addoption("--chaos-reports-dir", default="reports",
                    help="directory for run reports (default: reports)")
    group.addoption("--chaos-scenarios", action="append", default=None, metavar="PATH",
                    help="a folder (or file) whose YAML files are scenarios to collect, "
                         "besides the chaos_scenarios ini option; repeatable")
    group.addoption("--chaos-isolated", action="store_true", default=False,
                    help="let chaos items run in parallel under pytest-xdist: every worker "
                         "has a machine of its own (default: refuse)")
    parser.addini("chaos_scenarios", type="paths", default=[],
                  help="folders whose YAML files are chaos scenarios, collected as test items")
    parser.addini("chaos_pipeline", type="paths", default=[],
                  help="the pipeline directory chaos_pipeline brings up when no "
                       "@pytest.mark.chaos_pipeline names one")
    parser.addini("chaos_markers", type="linelist", default=[],
                  help="markers added to every scenario item (e.g. slow)")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from harness import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos(scenario, backend=None): a chaos-harness scenario "
                                       "run: every scenario item, and tests using chaos_run")
    config.addinivalue_line("markers", "chaos_pipeline(directory, backend=None): the pipeline the "
                                       "chaos_pipeline fixture brings up for this test")
    config.addinivalue_line("markers", "docker: needs a Docker engine (skips without one unless "
                                       "CHAOS_REQUIRE_DOCKER=1)")
    config.pluginmanager.register(SloReporter(config), "chaos-slo-reporter")


def pytest_report_header(config: pytest.Config) -> list[str]:
    roots = [os.path.relpath(r, config.rootpath) for r in scenario_roots(config)]
    return [f"chaos scenarios: {', '.join(roots)}"] if roots else []


def pytest_collect_file(file_path: Path, parent: pytest.Collector):
    if is_scenario_file(file_path, parent.session):
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector: pytest.Collector):
    """On an xdist worker of a parallel run, a collector holding chaos items fails to collect."""
    report = yield
    workers = getattr(collector.config, "workerinput", {}).get("workercount", 1)
    if workers > 1 and report.passed and not collector.config.getoption("chaos_isolated"):
        chaos = [node for node in report.result
                 if isinstance(node, pytest.Item) and node.get_closest_marker("chaos")]
        if chaos:
            report.outcome = "failed"
            report.longrepr = _PARALLEL_REFUSED.format(count=len(chaos), workers=workers)
            report.result = []
    return report


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """A scenario item's call report carries its outcome (plain data: it crosses xdist)."""
    report = yield
    if call.when == "call" and isinstance(item, ScenarioItem) and outcome_key in item.stash:
        report.chaos_outcome = item.stash[outcome_key].to_json()
    return report


@pytest.fixture
def chaos_run(request: pytest.FixtureRequest):
    """Run the scenario named by ``@pytest.mark.chaos(scenario=...)``; return the RunResult.

    Each SLO is recorded as a ``slo:NAME`` property of the test (its pass or failure is
    the test's own assertions' business, so no per-SLO testcase is added).
    """
    from harness.loader import load_scenario

    marker = request.node.get_closest_marker("chaos")
    if marker is None or "scenario" not in marker.kwargs:
        pytest.fail("chaos_run needs @pytest.mark.chaos(scenario='path/to/scenario.yaml')")
    path = Path(marker.kwargs["scenario"])
    backend = marker.kwargs.get("backend") or request.config.getoption("chaos_backend")
    return run_chaos(request.node, path, load_scenario(path, backend=backend), backend)
