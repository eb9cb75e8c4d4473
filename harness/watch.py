"""Conditions watched on the live request feed; ``abort_if`` is one use of them.

:class:`ConditionWatch` listens on ``events.request`` (the live feed, ``harness.feed``)
and ``events.record`` (to learn the load's start and each fault's injection). Each
watched condition is evaluated as requests arrive (``harness.conditions``: the one
definition of "holds"); the first time one holds, a ``condition_held`` record is
journaled and its callback runs, in the feed's thread. A condition can be armed by a
fault: it is then watched only from that fault's injection on (detection times of a
runbook count from the fault, never from noise before it).

``stop_conditions(scenario, guard)`` watches the scenario's ``abort_if``: the first one
to hold calls ``guard.stop``, which ends the run at once (every fault healed, status
``aborted``, exit code 5).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from harness.conditions import EVAL_STEP_S, Condition, RollingWindow
from harness.errors import HarnessError
from harness.timeline.events import Events
from harness.timeline.records import ConditionHeld, FaultInjected, LoadStarted, Record
from harness.timeline.requests import Request

if TYPE_CHECKING:
    from harness.interrupts import RunGuard
    from harness.journal import Journal
    from harness.model import Scenario


@dataclass
class Watched:
    """One condition under watch, and what to do when it first holds."""

    condition: Condition
    role: str
    on_held: Callable[[ConditionHeld], None] = lambda _: None
    step: int | None = None
    armed_by: str | None = None
    """A fault name: watched only once that fault was injected."""
    armed: bool = True
    done: bool = False
    last_eval: float = field(default=0.0)


class ConditionWatch:
    """Evaluates watched conditions on the live feed (see the module docstring)."""

    def __init__(self, journal: "Journal"):
        self.journal = journal
        self.watched: list[Watched] = []
        self.window = RollingWindow(1.0)
        self.load_ts: float | None = None
        self._lock = threading.Lock()

    def watch(self, condition: Condition, role: str, on_held: Callable[[ConditionHeld], None] = lambda _: None,
              *, step: int | None = None, armed_by: str | None = None) -> None:
        """Watch ``condition``; ``on_held(record)`` runs once, when it first holds."""
        self.watched.append(Watched(condition, role, on_held, step, armed_by, armed=armed_by is None))
        self.window.span_s = max(self.window.span_s, condition.for_s)

    def listen(self, events: Events) -> "ConditionWatch":
        """Subscribe to the run's requests and records; returns itself."""
        events.request.add_listener(self.on_request)
        events.record.add_listener(self.on_record)
        return self

    def on_record(self, record: Record, **_: Any) -> None:
        """Learn the load's start and arm the conditions waiting for a fault."""
        if isinstance(record, LoadStarted):
            self.load_ts = record.load_ts
        elif isinstance(record, FaultInjected):
            for w in self.watched:
                if w.armed_by == record.fault:
                    w.armed = True

    def on_request(self, request: Request, **_: Any) -> None:
        """Add ``request`` to the window and evaluate what is due."""
        with self._lock:
            self.window.add(request)
            if self.load_ts is None:
                return
            now = self.window.latest
            held = []
            for w in self.watched:
                if w.done or not w.armed or now - w.last_eval < EVAL_STEP_S:
                    continue
                w.last_eval = now
                holds, value = w.condition.holds(self.window, now, self.load_ts)
                if holds:
                    w.done = True
                    held.append((w, value))
        for w, value in held:
            try:
                record = self.journal.emit(ConditionHeld(condition=str(w.condition), role=w.role, held_at=now,
                                                         value=value, step=w.step))
            except HarnessError:
                record = ConditionHeld(condition=str(w.condition), role=w.role, held_at=now, value=value)
            w.on_held(record)


def stop_conditions(scenario: "Scenario", journal: "Journal", guard: "RunGuard") -> ConditionWatch:
    """A watch of the scenario's ``abort_if`` that stops the run when one holds."""
    watch = ConditionWatch(journal)
    for condition in scenario.abort_if:
        def stop(record: ConditionHeld, condition: Condition = condition) -> None:
            t = "" if watch.load_ts is None else f" at t={record.held_at - watch.load_ts:.2f} s"
            guard.stop(f"aborted: abort_if '{condition}' held{t}")
        watch.watch(condition, "abort", stop)
    return watch
