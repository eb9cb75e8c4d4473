"""The lines a run prints while it goes on: a listener on the journal's events.

The runner prints nothing itself; ``run_scenario(log=print)`` subscribes a
:class:`Console` to the run's :class:`~harness.timeline.events.Events`, which says what
happened as the records are written::

    run 20261201-101500-game-day-3fa2c1: scenario 'game-day' on the process backend
    pipeline up; links: features 127.0.0.1:40321, ingress 127.0.0.1:40323
    load started: 20 users for 60s
        15.000s injected slow-features (latency on features), lag 0.9 ms
        35.000s reverted slow-features, lag 0.7 ms
    pipeline down; every fault reverted
"""

from __future__ import annotations

from typing import Any, Callable

from harness.timeline.events import Events
from harness.timeline.records import (ConditionHeld, FaultInjected, FaultReverted, LoadStarted, OperatorNote,
                                      PipelineDown, PipelineUp, ProxyServerDied, Record, RunbookStepDone,
                                      RunbookStepTriggered, RunStarted, ServiceDied)


class Console:
    """Turns records into the console lines above; ``write`` prints one line."""

    def __init__(self, write: Callable[[str], None] = print):
        self.write = write
        self._load_ts: float | None = None
        self._not_reverted: set[str] = set()  # faults injected and not (yet) reverted

    def listen(self, events: Events) -> "Console":
        """Subscribe to ``events.record``; returns itself."""
        events.record.add_listener(self.on_record)
        return self

    def on_record(self, record: Record, **_: Any) -> None:
        """Print the line ``record`` calls for, if any."""
        line = self.line(record)
        if line is not None:
            self.write(line)

    def line(self, record: Record) -> str | None:
        """The console line of ``record`` (None: it is not shown)."""
        if isinstance(record, RunStarted):
            return f"run {record.run_id}: scenario {record.scenario.get('name')!r} on the {record.backend} backend"
        if isinstance(record, PipelineUp):
            links = ", ".join(f"{name} {address}" for name, address in sorted(record.links.items()))
            return f"pipeline up; links: {links or 'none'}"
        if isinstance(record, LoadStarted):
            self._load_ts = record.load_ts
            return f"load started: {record.users} users for {record.duration_s:g}s"
        if isinstance(record, (FaultInjected, FaultReverted)):
            return self._fault_line(record)
        if isinstance(record, ServiceDied):
            return f"  {self._t(record.died_at or record.ts)} {record.service} died, not by the plan: {record.reason}"
        if isinstance(record, ProxyServerDied):
            return f"  {self._t(record.died_at or record.ts)} the fault proxy died: {record.reason}"
        if isinstance(record, ConditionHeld):
            what = {"abort": "STOP CONDITION", "detect": "alert"}.get(record.role, f"step {record.step} trigger")
            return f"  {self._t(record.held_at)} {what}: {record.condition} holds"
        if isinstance(record, RunbookStepTriggered):
            return f"  {self._t(record.ts)} runbook step {record.step} ({record.trigger}): {record.title}"
        if isinstance(record, RunbookStepDone):
            how = record.answer if record.by == "operator" else (
                f"exit {record.exit_code}{' (timed out)' if record.timed_out else ''}" if record.by == "command"
                else "no command")
            return f"  {self._t(record.ts)} runbook step {record.step} {'done' if record.ok else 'FAILED'}: {how}"
        if isinstance(record, OperatorNote):
            return f"  {self._t(record.ts)} note: {record.text}"
        if isinstance(record, PipelineDown):
            left = ", ".join(sorted(self._not_reverted))
            return ("pipeline down; every fault reverted" if not left else
                    f"pipeline down; NOT reverted: {left} (run `chaos-harness cleanup`)")
        return None

    def _fault_line(self, record: FaultInjected | FaultReverted) -> str:
        lag = "" if record.lag_ms is None else f", lag {record.lag_ms:.1f} ms"
        if isinstance(record, FaultInjected):
            self._not_reverted.add(record.fault)
            return f"  {self._t(record.at)} injected {record.fault} ({record.fault_kind} on {record.target}){lag}"
        if not record.ok and record.fault not in self._not_reverted:  # it never took effect
            return f"  {self._t(record.at)} could not inject {record.fault}: {record.error}"
        if not record.ok:
            return f"  {self._t(record.at)} FAILED to revert {record.fault}: {record.error}"
        self._not_reverted.discard(record.fault)
        return f"  {self._t(record.at)} reverted {record.fault}{lag}"

    def _t(self, ts: float) -> str:
        """``ts`` as seconds from load start (``12.345s``), or the time of day before it."""
        if self._load_ts is None:
            return "before load"
        return f"{ts - self._load_ts:8.3f}s"
