"""The live view of a run: a listener on its timeline (records and the live request feed).

On a terminal it is a ``rich`` panel redrawn four times a second: elapsed and remaining
time with a progress bar, requests/s, error rate, p99, each degraded flag's rate (all
over the last ``WINDOW_S`` seconds), the active faults, each SLO's current state and
the runbook's steps; the console lines (``harness.console``) scroll above it. Not on a
terminal (CI logs) it prints one plain status line every ``PLAIN_EVERY_S`` seconds
instead. It never reads a file: everything comes from ``events.record`` and
``events.request``.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from typing import Any, Callable, TextIO

from harness.conditions import RollingWindow
from harness.model import Scenario
from harness.timeline.events import Events
from harness.timeline.records import (FaultInjected, FaultReverted, LoadStarted, LoadStopped, Record,
                                      RunbookStepDone, RunbookStepTriggered, RunFinished)
from harness.timeline.requests import Request

WINDOW_S = 5.0
"""The rolling window of the live figures."""
PLAIN_EVERY_S = 5.0
"""How often the plain view prints its status line."""


def live_metrics(requests: list[Request], span_s: float) -> dict[str, Any]:
    """rps, error rate, p99 and each flag's rate over ``requests`` (answered in ``span_s``)."""
    n = len(requests)
    if n == 0:
        return {"requests": 0, "rps": 0.0, "error_rate": None, "p99_ms": None, "flags": {}}
    latencies = sorted(r.latency_ms for r in requests)
    flags: dict[str, int] = {}
    for r in requests:
        for flag in r.flags:
            flags[flag] = flags.get(flag, 0) + 1
    return {"requests": n, "rps": n / span_s, "error_rate": sum(not r.ok for r in requests) / n,
            "p99_ms": latencies[max(math.ceil(0.99 * n) - 1, 0)],
            "flags": {k: v / n for k, v in sorted(flags.items())}}


class LiveState:
    """What the view shows, kept up to date by the listeners (thread-safe)."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.window = RollingWindow(WINDOW_S)
        self.load_ts: float | None = None
        self.duration_s = scenario.load.duration
        self.active: dict[str, str] = {}
        self.steps: dict[int, str] = {s.step: "waiting" for s in scenario.runbook.steps} if scenario.runbook else {}
        self.status: str | None = None
        self.lock = threading.Lock()

    def on_record(self, record: Record, **_: Any) -> None:
        """Follow the run: load start, faults, runbook steps, its end."""
        with self.lock:
            if isinstance(record, LoadStarted):
                self.load_ts = record.load_ts
            elif isinstance(record, FaultInjected):
                self.active[record.fault] = f"{record.fault_kind} on {record.target}"
            elif isinstance(record, FaultReverted):
                self.active.pop(record.fault, None)
            elif isinstance(record, RunbookStepTriggered):
                self.steps[record.step] = "running"
            elif isinstance(record, RunbookStepDone):
                self.steps[record.step] = "done" if record.ok else "failed"
            elif isinstance(record, LoadStopped):
                self.status = self.status or "load stopped"
            elif isinstance(record, RunFinished):
                self.status = record.status

    def on_request(self, request: Request, **_: Any) -> None:
        """Add one request to the rolling window."""
        with self.lock:
            self.window.add(request)

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        """The figures to show now."""
        now = time.time() if now is None else now
        with self.lock:
            elapsed = 0.0 if self.load_ts is None else max(now - self.load_ts, 0.0)
            figures = live_metrics(self.window.between(now - WINDOW_S, now), WINDOW_S)
            return {"elapsed_s": min(elapsed, self.duration_s), "duration_s": self.duration_s,
                    "started": self.load_ts is not None, **figures, "faults": dict(self.active),
                    "slos": self._slos(figures), "steps": dict(self.steps), "status": self.status}

    def _slos(self, figures: dict[str, Any]) -> list[tuple[str, str]]:
        """Each steady-state SLO's current state over the live window: ok, MISSED or no data."""
        values = {"error_rate": figures["error_rate"], "p99_ms": figures["p99_ms"],
                  "fallback_rate": figures["flags"].get("fallback", 0.0 if figures["requests"] else None),
                  "throughput_rps": figures["rps"]}
        out = []
        for metric, bound in self.scenario.steady_state.slo.items():
            value = values.get(metric)
            state = "no data" if value is None else "ok" if bound.holds(value, "ms" if metric.endswith("_ms") else None) \
                else "MISSED"
            out.append((f"{metric} {bound.text}", state))
        return out


def plain_line(s: dict[str, Any]) -> str:
    """The status line of the plain view."""
    flags = " ".join(f"{k} {v:.0%}" for k, v in s["flags"].items())
    faults = ", ".join(s["faults"]) or "none"
    steps = " ".join(f"{n}:{state}" for n, state in sorted(s["steps"].items()))
    err = "-" if s["error_rate"] is None else f"{s['error_rate']:.1%}"
    p99 = "-" if s["p99_ms"] is None else f"{s['p99_ms']:.0f}ms"
    slos = " ".join(f"[{name}: {state}]" for name, state in s["slos"])
    return (f"[live] {s['elapsed_s']:5.1f}/{s['duration_s']:g}s  {s['rps']:6.1f} req/s  err {err}  p99 {p99}"
            + (f"  {flags}" if flags else "") + f"  faults: {faults}" + (f"  steps {steps}" if steps else "")
            + (f"  {slos}" if slos else ""))


def rich_panel(s: dict[str, Any], title: str):
    """The terminal view: a rich renderable of the snapshot ``s``."""
    from rich.console import Group
    from rich.panel import Panel
    from rich.progress_bar import ProgressBar
    from rich.table import Table

    elapsed, total = s["elapsed_s"], s["duration_s"]
    head = Table.grid(padding=(0, 2))
    head.add_row(f"elapsed {elapsed:5.1f}s", ProgressBar(total=total, completed=elapsed, width=40),
                 f"remaining {max(total - elapsed, 0):5.1f}s", s["status"] or "")
    figures = Table(show_header=True, header_style="bold", box=None)
    for column in ("req/s", "error rate", "p99", *[f"{k} rate" for k in s["flags"]]):
        figures.add_column(column, justify="right")
    err = "-" if s["error_rate"] is None else f"{s['error_rate']:.1%}"
    p99 = "-" if s["p99_ms"] is None else f"{s['p99_ms']:.0f} ms"
    figures.add_row(f"{s['rps']:.1f}", err, p99, *[f"{v:.1%}" for v in s["flags"].values()])
    lower = Table(show_header=True, header_style="bold", box=None)
    lower.add_column("active faults")
    lower.add_column("SLO (last 5 s)")
    lower.add_column("runbook")
    colour = {"ok": "green", "MISSED": "red", "done": "green", "failed": "red", "running": "yellow"}
    faults = [f"{name} ({what})" for name, what in s["faults"].items()] or ["none"]
    slos = [f"[{colour.get(state, 'dim')}]{name}: {state}[/]" for name, state in s["slos"]]
    steps = [f"[{colour.get(state, 'dim')}]step {n}: {state}[/]" for n, state in sorted(s["steps"].items())]
    for i in range(max(len(faults), len(slos), len(steps))):
        lower.add_row(*(col[i] if i < len(col) else "" for col in (faults, slos, steps)))
    return Panel(Group(head, figures, lower), title=title, title_align="left")


class LiveView:
    """The view itself: ``start()`` before the run, ``stop()`` after; ``log`` prints a line."""

    def __init__(self, scenario: Scenario, *, stream: TextIO | None = None, tty: bool | None = None):
        self.state = LiveState(scenario)
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self.title = f"chaos-harness: {scenario.name}"
        self._live = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def listen(self, events: Events) -> "LiveView":
        """Subscribe to the run's records and requests; returns itself."""
        events.record.add_listener(self.state.on_record)
        events.request.add_listener(self.state.on_request)
        return self

    @property
    def log(self) -> Callable[[str], None]:
        """Where console lines go: above the panel on a terminal, else plain print."""
        if self._live is not None:
            return lambda line: self._live.console.print(line, markup=False, highlight=False)
        return lambda line: print(line, file=self.stream, flush=True)

    def start(self) -> "LiveView":
        """Show the view (a rich Live on a terminal, a printing thread otherwise)."""
        if self.tty:
            from rich.console import Console
            from rich.live import Live

            self._live = Live(get_renderable=lambda: rich_panel(self.state.snapshot(), self.title),
                              console=Console(file=self.stream), refresh_per_second=4, transient=False)
            self._live.start()
        else:
            self._thread = threading.Thread(target=self._plain, name="live-view", daemon=True)
            self._thread.start()
        return self

    def _plain(self) -> None:
        while not self._stop.wait(PLAIN_EVERY_S):
            snapshot = self.state.snapshot()
            if snapshot["started"] and snapshot["status"] is None:
                print(plain_line(snapshot), file=self.stream, flush=True)

    def stop(self) -> None:
        """Stop showing; idempotent."""
        self._stop.set()
        if self._live is not None:
            self._live.stop()
            self._live = None
        if self._thread is not None:
            self._thread.join(1.0)
