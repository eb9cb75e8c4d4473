"""The fault plan: every injection and revert of a scenario at its time, played on time.

``plan_steps`` resolves a scenario into steps (seconds from load start); ``FaultPlayer``
plays them on the run's clock. Each step begins ``PREPARE_S`` before its planned time:
the activation journals ``fault_injecting`` (with ``planned_ts``) durably, looks up
what it will touch and takes a store snapshot if it needs one, then waits precisely
(``Clock.wait_until``) and makes its ONE call::

    step due at D:   D - PREPARE_S ........ D
                     |journal, look up, snapshot|spin| call -> effective, lag = effective - D

A step is never cut in half by a signal (``RunGuard.deferred``): a Ctrl-C waits at
most ``PREPARE_S`` plus the call.
"""

from __future__ import annotations

import contextlib
import random
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Literal

from harness.activation import FaultActivation
from harness.faults.base import FaultContext
from harness.ledger import TargetLedger
from harness.model import FaultSpec, Scenario
from harness.timeline.records import Phase

if TYPE_CHECKING:
    from harness.backends.base import Backend
    from harness.clock import Clock
    from harness.interrupts import RunGuard
    from harness.journal import Journal

PREPARE_S = 0.25
"""How long before its planned time a step begins (journal, look-ups, snapshot)."""
READY_POLL_S = 0.1
"""How often a game day's wait for the next injection looks whether the operator is ready."""


@dataclass(frozen=True)
class Step:
    """One change of the plan: ``action`` on fault ``spec`` at ``at`` s from load start."""

    at: float
    action: Literal["inject", "revert"]
    spec: FaultSpec


def plan_steps(scenario: Scenario) -> list[Step]:
    """The scenario's injections and reverts in time order (a revert before an injection
    due at the same moment, so a fault ending frees its target for the next)."""
    steps = []
    for spec in scenario.faults:
        steps.append(Step(spec.at, "inject", spec))
        if spec.ends_at is not None:
            steps.append(Step(spec.ends_at, "revert", spec))
    return sorted(steps, key=lambda step: (step.at, step.action == "inject"))


class FaultPlayer:
    """Plays a scenario's fault plan from ``started`` (epoch seconds of load start).

    ``wait(deadline)`` is the runner's wait: it returns at ``deadline`` or raises if the
    run cannot go on (a signal, an abort, the load gone). Every activation enters
    ``stack``, so whatever the run's end, each injected fault is reverted (LIFO).
    """

    def __init__(self, scenario: Scenario, *, started: float, backend: "Backend", journal: "Journal",
                 stack: contextlib.ExitStack, guard: "RunGuard", clock: "Clock",
                 wait: Callable[[float], None], ready: "threading.Event | None" = None):
        self.scenario, self.started, self.backend, self.journal = scenario, started, backend, journal
        self.stack, self.guard, self.clock, self.wait = stack, guard, clock, wait
        self.ready = ready
        """Game-day mode: set by the operator to inject the next fault now; every later
        step moves earlier by as much."""
        self.active: dict[str, FaultActivation] = {}
        """The faults injected and not yet reverted, by name."""
        self._rng, self._ledger = random.Random(scenario.seed), TargetLedger()

    def play(self) -> None:
        """Play every step at its time; the journal's phase follows (inject / recover)."""
        for step in plan_steps(self.scenario):
            due = self._wait_for(step, self.started + step.at)
            with self.guard.deferred():  # a step is made whole, then journaled
                if step.action == "revert":
                    self.active.pop(step.spec.name).revert(planned_ts=due)
                else:
                    self._inject(step.spec, due)
            if not self.active:
                self.journal.enter_phase(Phase.RECOVER)

    def _wait_for(self, step: Step, due: float) -> float:
        """Wait until ``due`` - PREPARE_S, or until the operator is ready for an injection;
        returns the step's (possibly earlier) due time."""
        if step.action != "inject" or self.ready is None:
            self.wait(due - PREPARE_S)
            return due
        while self.clock.time() < due - PREPARE_S and not self.ready.is_set():
            self.wait(min(due - PREPARE_S, self.clock.time() + READY_POLL_S))
        if self.ready.is_set():
            self.ready.clear()
            early = due - PREPARE_S - self.clock.time()
            if early > 0:
                self.started -= early
                due -= early
        return due

    def _inject(self, spec: FaultSpec, due: float) -> None:
        self.journal.enter_phase(Phase.INJECT)
        ctx = FaultContext(backend=self.backend, journal=self.journal, rng=random.Random(self._rng.random()),
                           fault_name=spec.name, ledger=self._ledger, clock=self.clock)
        activation = self.stack.enter_context(FaultActivation(spec, ctx, planned_ts=due))
        if activation.fault.instant:
            activation.revert()
        elif spec.for_ is not None:
            self.active[spec.name] = activation
