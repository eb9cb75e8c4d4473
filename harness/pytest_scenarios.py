"""Scenario files as pytest items: ``pytest scenarios/`` runs each one as a test.

Which YAML files are scenarios (so that ``pytest`` never grabs every YAML file in a
repository):

* every ``*.yaml`` / ``*.yml`` file under a folder named by the ``chaos_scenarios`` ini
  option (paths relative to the ini file) or by ``--chaos-scenarios PATH`` (relative to
  the current directory; repeatable);
* any YAML file named on the command line itself (``pytest path/to/x.yaml``).

Each file is loaded and validated at collection: an invalid one is a collection error
whose text is the loader's ``file:line: key: problem`` list, never a traceback. Its one
item is named after the scenario's ``name`` and carries the ``chaos`` marker, the
``docker`` marker when it runs on the docker backend, and the markers the
``chaos_markers`` ini option lists (``slow``, say). Running it runs the scenario;
the item fails unless the harness completed and every SLO held.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from harness.pytest_verdicts import RunOutcome, outcome_of

if TYPE_CHECKING:
    from harness.model import Scenario

SCENARIO_SUFFIXES = (".yaml", ".yml")
outcome_key = pytest.StashKey[RunOutcome]()
"""Where a node that ran a scenario keeps its :class:`RunOutcome`."""


class ScenarioFailed(Exception):
    """A scenario item's run missed an SLO or did not complete; the text says which."""


def scenario_roots(config: pytest.Config) -> list[Path]:
    """The folders whose YAML files are scenarios: ``chaos_scenarios`` then ``--chaos-scenarios``."""
    given = config.getoption("chaos_scenarios") or []
    here = config.invocation_params.dir
    return [*config.getini("chaos_scenarios"), *(Path(os.path.normpath(here / p)) for p in given)]


def is_scenario_file(file_path: Path, session: pytest.Session) -> bool:
    """A YAML file under a scenario folder, or one named on the command line."""
    if file_path.suffix not in SCENARIO_SUFFIXES:
        return False
    roots = scenario_roots(session.config)
    return session.isinitpath(file_path) or any(file_path.is_relative_to(r) for r in roots)


def shown_path(config: pytest.Config, path: Path) -> Path:
    """``path`` relative to the directory pytest was started in, if it lies below it."""
    here = config.invocation_params.dir
    return path.relative_to(here) if path.is_relative_to(here) else path


def chosen_backend(config: pytest.Config) -> str | None:
    """``--chaos-backend``, or None for each scenario's own."""
    return config.getoption("chaos_backend")


def reports_dir(config: pytest.Config) -> Path:
    """``--chaos-reports-dir``; one subfolder per xdist worker, so runs never share ``latest``."""
    path = config.invocation_params.dir / config.getoption("chaos_reports_dir")
    worker = getattr(config, "workerinput", {}).get("workerid")
    return path / worker if worker else path


def run_chaos(node: pytest.Item, path: Path, scenario: Scenario, backend: str | None):
    """Run one scenario for ``node``, listening to it (``_RecordListener``): record its
    SLOs as properties, keep its outcome in ``node.stash``, call
    ``pytest_chaos_run_finished``; return the RunResult."""
    from harness.runner import run_scenario
    from harness.timeline.events import Events

    config = node.config
    events = Events()
    events.record.add_listener(_RecordListener(node))
    result = run_scenario(scenario, scenario_file=path, reports_dir=reports_dir(config),
                          backend=backend, events=events)
    outcome = outcome_of(result)
    node.user_properties.extend(outcome.properties())
    node.stash[outcome_key] = outcome
    config.hook.pytest_chaos_run_finished(config=config, item=node, result=result)
    return result


class _RecordListener:
    """A run's listener: each fault's lag as a property of ``node``, every record to the
    ``pytest_chaos_record`` hook, as the records are written."""

    def __init__(self, node: pytest.Item):
        self.node = node

    def __call__(self, record, **_) -> None:
        from harness.timeline.records import FaultInjected

        if isinstance(record, FaultInjected) and record.lag_ms is not None:
            self.node.user_properties.append((f"fault:{record.fault}:lag_ms", record.lag_ms))
        self.node.config.hook.pytest_chaos_record(config=self.node.config, item=self.node, record=record)


class ScenarioFile(pytest.File):
    """One scenario file; collects one :class:`ScenarioItem` (or fails with the loader's text)."""

    def collect(self):
        from harness.errors import ScenarioError
        from harness.loader import load_scenario

        try:
            scenario = load_scenario(shown_path(self.config, self.path),
                                     backend=chosen_backend(self.config))
        except ScenarioError as exc:
            raise self.CollectError(str(exc)) from None
        yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioItem(pytest.Item):
    """Runs one scenario; passes only if the harness completed and every SLO held."""

    def __init__(self, *, scenario: Scenario, **kwargs):
        super().__init__(**kwargs)
        self.scenario = scenario
        self.add_marker(pytest.mark.chaos(scenario=str(self.path)))
        if (chosen_backend(self.config) or scenario.backend) == "docker":
            self.add_marker("docker")
        for name in self.config.getini("chaos_markers"):
            self.add_marker(getattr(pytest.mark, name))

    def runtest(self) -> None:
        """Run the scenario; a signal that interrupted it ends the session like Ctrl-C."""
        backend = chosen_backend(self.config)
        result = run_chaos(self, self.path, self.scenario, backend)
        if result.status == "interrupted":
            raise KeyboardInterrupt(f"scenario {self.name!r} interrupted by "
                                    f"{', '.join(result.signals)}: healed and torn down")
        outcome = self.stash[outcome_key]
        if not outcome.passed:
            raise ScenarioFailed(outcome.failure_message(self.name, self._reproduce(backend)))

    def _reproduce(self, backend: str | None) -> str:
        return (f"chaos-harness run {shown_path(self.config, self.path)} --seed {self.scenario.seed} "
                f"--backend {backend or self.scenario.backend}")

    def repr_failure(self, excinfo, style=None):
        """A missed SLO is told by its text alone: no traceback into the plugin."""
        if isinstance(excinfo.value, ScenarioFailed):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style)

    def reportinfo(self):
        return self.path, None, f"scenario {self.name}"
