"""The runner played on the fakes (fake clock, backend, proxies, store, load): a run in
milliseconds whose every record and every call is known. Not a test module.

    run = play(scenario(LATENCY), fail={"kill": DriverError("boom")})
    run.kinds(), run.first(FaultInjected).lag_ms, run.backend.calls
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness.backends.fake import FakeBackend
from harness.clock import FakeClock
from harness.interrupts import RunGuard
from harness.journal import Journal
from harness.load import FakeLoadDriver
from harness.model import Scenario
from harness.runner import Parts, execute, run_status
from harness.timeline.records import LoadStarted, Record

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "fixtures" / "pipeline"

LATENCY = {"name": "slow", "at": 4, "for": 3, "latency": {"link": "features", "latency_ms": 300}}
KILL = {"name": "kill-model", "at": 6, "kill": {"service": "model-server"}}
PAUSE = {"name": "freeze", "at": 5, "for": 2, "pause": {"service": "feature-server"}}
DOWN = {"name": "cut", "at": 2, "down": {"link": "ingress"}}  # no ``for``: held to the end


def scenario(*faults: dict, duration: float = 10) -> Scenario:
    """A scenario on the reference pipeline's declaration (nothing of it runs)."""
    return Scenario.model_validate({"name": "fake-run", "pipeline": str(PIPELINE), "seed": 5,
                                    "load": {"users": 2, "spawn_rate": 2, "duration": duration},
                                    "faults": list(faults)})


@dataclass
class FakeRun:
    """What a run on the fakes left: its records, the fakes, its error and status."""

    clock: FakeClock
    records: list[Record]
    backends: list[FakeBackend]
    error: str | None = None
    status: str = ""
    signals: list[str] = field(default_factory=list)
    journal: Journal | None = None
    loads: list[FakeLoadDriver] = field(default_factory=list)

    @property
    def backend(self) -> FakeBackend:
        """The one backend the run made."""
        return self.backends[0]

    @property
    def load_ts(self) -> float:
        """When the load started (the zero of every ``at``)."""
        return self.first(LoadStarted).load_ts

    def kinds(self) -> list[str]:
        """Every record's kind, in order."""
        return [r.kind for r in self.records]

    def of(self, cls: type) -> list[Any]:
        """The records of type ``cls``, in order."""
        return [r for r in self.records if isinstance(r, cls)]

    def first(self, cls: type) -> Any:
        """The first record of type ``cls``."""
        return self.of(cls)[0]


def play(scene: Scenario, *, fail: dict[str, BaseException] | None = None, step_s: float = 0.0,
         call_s: float = 0.0, probe: Callable[[FakeClock], None] | None = None,
         alarms: tuple[tuple[float, Callable[["FakeRun"], None]], ...] = (),
         backend: type[FakeBackend] = FakeBackend) -> FakeRun:
    """Run ``scene`` on the fakes. ``alarms``: ``(seconds from the start, action(run))``;
    ``probe(clock)`` stands for the baseline probe; ``step_s`` / ``call_s`` are how long
    each backend / proxy call takes on the fake clock."""
    clock, made = FakeClock(), []

    def make_backend(**kwargs: Any) -> FakeBackend:
        made.append(backend(**kwargs, clock=clock, step_s=step_s, fail=fail))
        made[-1].proxies.call_s = call_s
        return made[-1]

    journal = Journal(None, clock=clock)
    run = FakeRun(clock, [], made, journal=journal)
    journal.events.record.add_listener(lambda record, **_: run.records.append(record))
    for at, action in alarms:
        clock.at(clock.now + at, functools.partial(action, run))
    def make_load(**kwargs: Any) -> FakeLoadDriver:
        run.loads.append(FakeLoadDriver(**kwargs, clock=clock))
        return run.loads[-1]

    parts = Parts(clock=clock, backend=make_backend, load=make_load,
                  probe=(lambda ingress, spec=None: probe(clock)) if probe else (lambda ingress, spec=None: None))
    with RunGuard(journal) as guard:
        run.error = execute(scene, scenario_file=ROOT / "fake.yaml", backend_name="process", run_dir=None,
                            journal=journal, guard=guard, parts=parts,
                            header={"run_id": "fake", "scenario": {"name": scene.name}})
        run.status, run.signals = run_status(guard, run.error), list(guard.signals)
    return run
