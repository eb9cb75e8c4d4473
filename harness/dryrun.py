"""``chaos-harness run --dry-run``: the resolved plan of a scenario, and nothing touched.

The dry run is the runner itself (``harness.runner.execute``) on the fakes: a
:class:`~harness.backends.fake.FakeBackend` (fake proxies, an in-memory feature table),
a :class:`~harness.load.FakeLoadDriver` and a :class:`~harness.clock.FakeClock`, with a
journal kept in memory. So the plan it prints is what the real run would ask for, in
the same order, at the same times from load start: no run directory, no process, no
Docker call. Each step lists what the fakes were asked (toxics with their attributes,
stream and toxicity, kills, data changes)::

    dry run of 'game-day' (seed 7) on the process backend: nothing was started
    load: 20 users (spawning 20/s) for 60 s
      15.000s  inject slow-features (latency on features)
               add toxic chaos-slow-features to proxy features: latency (latency=400, jitter=50), ...
      35.000s  revert slow-features
               remove toxic chaos-slow-features from proxy features
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.backends.fake import FakeBackend
from harness.clock import FakeClock
from harness.interrupts import RunGuard
from harness.journal import Journal
from harness.load import FakeLoadDriver
from harness.model import Scenario
from harness.timeline.records import (FaultInjected, FaultInjecting, FaultRecord, FaultReleased, FaultReverted,
                                      FaultStacked, LoadStarted, Record, StoreReplayed)


@dataclass
class PlannedStep:
    """One fault step of the dry run: when (s from load start), what, and the calls it made."""

    t: float
    what: str
    calls: list[str] = field(default_factory=list)


@dataclass
class DryRun:
    """The outcome of a dry run: the steps, and the error that would end the run (if any)."""

    scenario: Scenario
    backend: str
    steps: list[PlannedStep]
    error: str | None

    def lines(self) -> list[str]:
        """The plan as printed lines."""
        load, s = self.scenario.load, self.scenario
        auto = " (docker if an engine answers, else process)" if self.backend == "auto" else ""
        out = [f"dry run of {s.name!r} (seed {s.seed}) on the {self.backend} backend{auto}: nothing was started",
               f"load: {load.users} users (spawning {load.spawn_rate:g}/s) for {load.duration:g} s"
               + (f", {load.rate_per_user:g} requests/s each" if load.rate_per_user else "")
               + (f", shared by {load.workers} Locust workers" if load.workers else ""),
               "plan (seconds from load start):"]
        ended = False
        for step in self.steps:
            if step.t >= load.duration and not ended:
                out.append(f"  {load.duration:9.3f}s  load ends")
                ended = True
            out.append(f"  {step.t:9.3f}s  {step.what}")
            out += [f"              {call}" for call in step.calls]
        if not self.steps:
            out.append("  no faults")
        if not ended:
            out.append(f"  {load.duration:9.3f}s  load ends")
        if self.error:
            out.append(f"the run would fail: {self.error}")
        return out


def dry_run(scenario: Scenario, *, scenario_file: Path, backend: str | None = None) -> DryRun:
    """Play ``scenario`` on the fakes and return its plan (see the module docstring)."""
    from harness.runner import Parts, execute

    clock, made = FakeClock(), []
    backend_name = backend or scenario.backend

    def make_backend(**kwargs: Any) -> FakeBackend:
        made.append(FakeBackend(**kwargs, clock=clock, mimics=backend_name))
        return made[-1]

    parts = Parts(clock=clock, backend=make_backend, load=functools.partial(FakeLoadDriver, clock=clock),
                  probe=lambda ingress, spec=None: None, live=False)
    journal = Journal(None, clock=clock)
    plan = _PlanRecorder(made)
    journal.events.record.add_listener(plan.on_record)
    header = {"run_id": "dry-run", "seed": scenario.seed, "backend": backend_name,
              "scenario_file": str(scenario_file), "scenario": scenario.model_dump(mode="json", by_alias=True)}
    with RunGuard(journal) as guard:
        error = execute(scenario, scenario_file=scenario_file, backend_name=backend_name, run_dir=None,
                        journal=journal, guard=guard, parts=parts, header=header)
    journal.close()
    return DryRun(scenario, backend_name, plan.steps, error)


class _PlanRecorder:
    """Listens on the dry run's records and files the fakes' calls under each fault step."""

    def __init__(self, backends: list[FakeBackend]):
        self.backends, self.steps = backends, []
        self._seen, self._load_ts, self._instant = 0, 0.0, set()
        self._notes: list[str] = []  # calls and notes of the step being made, before its record

    def _new_calls(self) -> list[str]:
        calls = self.backends[0].calls if self.backends else []
        fresh, self._seen = calls[self._seen:], len(calls)
        return [call.describe() for call in fresh if call.action != "resolve"]

    def on_record(self, record: Record, **_: Any) -> None:
        """File ``record`` (a fault step, or a note on the step being made)."""
        if isinstance(record, LoadStarted):
            self._load_ts = record.load_ts
        elif isinstance(record, FaultInjecting):
            self._new_calls()  # the pipeline's own calls (up, proxies) are not a step's
            if record.instant:
                self._instant.add(record.fault)
        elif isinstance(record, (FaultInjected, FaultReverted)):
            self._step(record)
        elif isinstance(record, (FaultStacked, FaultReleased, StoreReplayed)):
            self._notes += [*self._new_calls(), _note(record)]

    def _step(self, record: FaultInjected | FaultReverted) -> None:
        calls, self._notes = [*self._notes, *self._new_calls()], []
        if isinstance(record, FaultInjected):
            what = f"inject {record.fault} ({record.fault_kind} on {record.target})"
        elif record.fault in self._instant and record.ok and not calls:
            return  # an instant fault: nothing to undo
        elif not record.ok:
            what = f"{record.fault} fails: {record.error}"
        else:
            what = f"revert {record.fault}" + ("" if record.planned_ts else " (end of run)")
        self.steps.append(PlannedStep(record.at - self._load_ts, what, calls))


def _note(record: FaultRecord | StoreReplayed) -> str:
    if isinstance(record, FaultStacked):
        return f"(stacks on {record.target}, already held by {', '.join(record.held_by)})"
    if isinstance(record, FaultReleased):
        return f"({record.target} stays faulted: still held by {', '.join(record.still_held_by)})"
    return f"(the table is restored and {', '.join(record.faults)} applied again)"
