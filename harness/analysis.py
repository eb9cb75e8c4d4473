"""A finished run read back and placed in time: the input of ``harness.judge``.

Record first, judge afterwards: the runner only writes ``journal.jsonl`` and the load
writes ``requests.jsonl``; everything here reads them back, so a run can be re-judged
offline (``chaos-harness check RUN_DIR``). The definitions are written once, in
``docs/measurement.md``; in short:

* **time zero** is the load's start (``load_started.load_ts``, Locust's ``test_start``:
  the zero of every fault's ``at``); all times here are seconds from it;
* a **fault acts** from its ``fault_injected.effective_ts`` (else the record's ``ts``)
  until its ``fault_reverted`` likewise; an instant fault (a kill) has no span;
* **latency** is from a request's intended start (its user's schedule) to its answer;
  **service time** from sending to the answer;
* **attribution**: a request belongs to the window holding its intended start, except
  one in flight while a fault was being injected (intended start < I and its end at or
  after C, the start of the injecting call), which belongs from I on (the latest such
  I): what a fault broke is counted in its window, never in the one before, even when
  the request ended before the call returned;
* a **window** ``[start, end)`` counts every request *due* in it (sent or not); rates
  and percentiles are over them, ``throughput_rps`` is the *sent* ones per second.
  Rates and percentiles are None for a window without requests: no traffic is no
  evidence of health.

The metrics of a window are in ``harness.windows``.

>>> run = load_run(Path("reports/latest"))  # doctest: +SKIP
>>> run.faults[0].start, run.faults[0].lag_ms  # doctest: +SKIP
(10.002, 2.1)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from harness.errors import HarnessError
from harness.integrity import load_totals, record_problems
from harness.journal import LOAD_EVENTS_FILE, REQUEST_LOG_FILE, read_records, scan_jsonl
from harness.model import COMMON_FAULT_KEYS, Scenario
from harness.requestlog import RequestLog, read_request_log, request_log
from harness.timeline.records import (
    FaultInjected, FaultReverted, LoadStarted, LoadStopped, Record, RunFinished, RunStarted,
    ServiceHealthy, SignalReceived, parse_record,
)


@dataclass(frozen=True)
class FaultWindow:
    """One injected fault, from the journal; times in seconds from load start."""

    name: str
    kind: str
    target: Any
    start: float
    """I: when it took effect (``effective_ts``, else the ``fault_injected`` record)."""
    end: float
    """When it was reverted; ``start`` for an instant fault; the load's end if never."""
    instant: bool
    healed_at: float | None
    """When its revert took effect (an instant fault: its target healthy again); None
    if it never was (a crash)."""
    revert_ok: bool | None = None
    planned: float | None = None
    """When the plan wanted it (``planned_ts``, else load start + ``at``)."""
    lag_ms: float | None = None
    """``start`` − ``planned``, in ms: how late the fault took effect."""
    called: float | None = None
    """C: when the call that injected it started (``call_ts``); None in old journals."""

    @property
    def acting_from(self) -> float:
        """The earliest moment the fault may have acted: C, else I."""
        return self.start if self.called is None else min(self.called, self.start)

    @property
    def recovery_start(self) -> float | None:
        """R: the revert's instant, or the injection's for an instant fault."""
        return self.start if self.instant else self.healed_at


@dataclass(frozen=True, eq=False)
class Requests:
    """The request log placed in time: one element per due request, sorted by ``at``."""

    at: np.ndarray
    """Seconds from load start where the request is counted (see attribution)."""
    latency_ms: np.ndarray
    """From intended start to the answer."""
    service_ms: np.ndarray
    ok: np.ndarray
    sent: np.ndarray
    flags: dict[str, np.ndarray]
    """Flag name -> bool per request (the flags the run's answers carried)."""

    def __len__(self) -> int:
        return len(self.at)

    def flag(self, name: str) -> np.ndarray:
        """The column of flag ``name`` (all False when no answer carried it)."""
        column = self.flags.get(name)
        return column if column is not None else np.zeros(len(self), dtype=bool)

    def prefix(self, column: np.ndarray) -> np.ndarray:
        """Running count of a bool column, with a leading 0: the count over ``[lo, hi)``
        is ``p[hi] - p[lo]``."""
        return np.concatenate(([0], np.cumsum(column, dtype=np.int64)))


@dataclass(frozen=True, eq=False)
class Run:
    """A finished (or crashed) run, read back from its files."""

    run_id: str
    header: RunStarted
    scenario: Scenario
    records: tuple[Record, ...]
    """The journal, typed."""
    requests: Requests
    load_started_at: float
    """Epoch seconds of time zero (see the module docstring)."""
    duration_s: float
    """Until ``load_stopped``, or until the last request's answer if it is missing; never
    past the end of the load's schedule (``load_started.duration_s``, or the last request
    due if later): the time Locust takes to exit is not load."""
    faults: tuple[FaultWindow, ...]
    status: str
    """``run_finished.status`` (completed, interrupted, error), ``interrupted`` if any
    signal arrived (even while the reports were written), ``crashed`` without it."""
    integrity: tuple[str, ...] = ()
    """Why the run's record is incomplete (``harness.integrity``); empty when complete."""
    golden: Any = None
    """The golden answers (:class:`harness.correctness.GoldenLog`), None when none were replayed."""
    metrics: Any = None
    """The services' scraped metrics (``harness.metric_slo.read_scrapes``), None when none were."""

    @property
    def flag_names(self) -> tuple[str, ...]:
        """The flags the run reports: the pipeline's declared ones, then any other an
        answer carried, then any an SLO names (``<flag>_rate``)."""
        named = [metric[:-5] for slo in self.scenario.slo_sets() for metric, _ in slo.items()
                 if metric.endswith("_rate") and metric not in type(slo).model_fields]
        out: list[str] = []
        for name in (*self.header.flags, *sorted(self.requests.flags), *named):
            if name not in out:
                out.append(name)
        return tuple(out)

    def iso(self, t: float | None) -> str | None:
        """Wall-clock ISO 8601 (UTC) of ``t`` seconds after load start."""
        return None if t is None else to_iso(self.load_started_at + t)


def to_iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 in UTC."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def load_run(run_dir: Path | str) -> Run:
    """Read ``journal.jsonl``, ``requests.jsonl`` and ``load-events.jsonl`` into a Run
    (Locust workers' request logs left unmerged by a killed run are merged first)."""
    from harness.requestmerge import merge_worker_logs

    run_dir = Path(run_dir)
    merge_worker_logs(run_dir)
    events = run_dir / LOAD_EVENTS_FILE
    totals = load_totals(scan_jsonl(events)[0]) if events.exists() else None
    from harness.correctness import read_golden_log

    run = build_run(read_records(run_dir), read_request_log(run_dir / REQUEST_LOG_FILE),
                    run_id=run_dir.name, load_totals=totals)
    injections = [(f.acting_from, f.start) for f in run.faults]
    from harness.metric_slo import read_scrapes

    return replace(run, golden=read_golden_log(run_dir, run.load_started_at, injections),
                   metrics=read_scrapes(run_dir))


def build_run(journal: Iterable[Record | dict[str, Any]],
              requests: RequestLog | Iterable[dict[str, Any]], *, run_id: str | None = None,
              load_totals: dict[str, Any] | None = None) -> Run:
    """A Run from journal records and the request log (``load_run`` minus the files).

    Journal records and request lines may also be given as plain objects (tests).
    """
    records = tuple(r if isinstance(r, Record) else parse_record(r) for r in journal)
    log = requests if isinstance(requests, RequestLog) else request_log(requests)
    header = next((r for r in records if isinstance(r, RunStarted)), None)
    if header is None:
        raise HarnessError(f"run {run_id}: the journal has no run_started record")
    try:
        scenario = _rebuild_scenario(header.scenario or {})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise HarnessError(f"run {run_id}: run_started holds no valid scenario: {exc}") from exc
    started = _first(records, LoadStarted)
    zero = started.load_ts if started is not None else header.ts
    stopped = _first(records, LoadStopped)
    if stopped is not None:
        duration = max(0.0, stopped.ts - zero)
        if started is not None and started.duration_s > 0 and len(log):
            # Locust may take a while to exit after its schedule ended: no request was due then
            scheduled = max(float(started.duration_s), float(log.intended_ts.max()) - zero)
            duration = min(duration, scheduled)
    else:  # crashed: the load lasted until the last logged request was answered
        ends = log.ts + log.service_ms / 1000.0 - zero
        duration = max(0.0, float(ends.max())) if len(log) else 0.0
    faults = fault_windows(records, zero, duration, scenario)
    return Run(run_id=header.run_id or run_id or "", header=header, scenario=scenario,
               records=records, requests=place(log, zero, [(f.acting_from, f.start) for f in faults]),
               load_started_at=zero, duration_s=float(duration), faults=faults,
               status=_status(records),
               integrity=tuple(record_problems(records, logged=log.sent_lines,
                                               omitted=len(log) - log.sent_lines,
                                               torn=log.torn, totals=load_totals)))


def _first(records: tuple[Record, ...], kind: type) -> Any:
    return next((r for r in records if isinstance(r, kind)), None)


def _status(records: tuple[Record, ...]) -> str:
    finished = _first(records, RunFinished)
    if finished is None:
        return "crashed"
    return "interrupted" if _first(records, SignalReceived) else finished.status


def _rebuild_scenario(data: dict[str, Any]) -> Scenario:
    """The Scenario from its ``run_started`` dump, fault params kept as plain dicts.

    Re-judging a run offline must not need the fault plugins that ran it.
    """
    faults = []
    for fault in data.get("faults", ()):
        kinds = [k for k in fault if k not in COMMON_FAULT_KEYS]
        if len(kinds) == 1 and "kind" not in fault:  # else let the model say what is wrong
            fault = {**{k: fault[k] for k in COMMON_FAULT_KEYS if k in fault},
                     "kind": kinds[0], "params": fault[kinds[0]]}
        faults.append(fault)
    return Scenario.model_validate({**data, "faults": faults})


def place(log: RequestLog, zero: float,
          injections: Iterable[tuple[float, float]]) -> Requests:
    """The requests of ``log`` placed in time and sorted (see attribution above).

    ``injections`` are the faults' ``(C, I)``: when the injecting call started and when
    the fault took effect, seconds from ``zero``.
    """
    intended = log.intended_ts - zero
    end = log.ts - zero + log.service_ms / 1000.0
    at = intended.copy()
    spans = np.asarray(sorted(set(injections)), dtype=np.float64).reshape(-1, 2)
    if len(spans) and len(at):
        latest = np.searchsorted(spans[:, 0], end, side="right") - 1  # the latest C <= end
        cut = spans[np.maximum(latest, 0), 1]
        moved = (latest >= 0) & (cut > intended)
        at[moved] = cut[moved]
    order = np.argsort(at, kind="stable")
    latency = (log.ts - log.intended_ts) * 1000.0 + log.service_ms
    return Requests(at=at[order], latency_ms=latency[order], service_ms=log.service_ms[order],
                    ok=log.ok[order], sent=log.sent[order],
                    flags={name: column[order] for name, column in log.flags.items()})


def fault_windows(records: Iterable[Record], zero: float, load_end: float,
                  scenario: Scenario | None = None) -> tuple[FaultWindow, ...]:
    """Pair each ``fault_injected`` with the next ``fault_reverted`` of the same fault.

    Times are seconds from ``zero`` (epoch); a fault never reverted ends at ``load_end``.
    The kind is the record's ``fault_kind``, else the scenario's. Without ``planned_ts``
    (journals before it) the plan is ``zero`` + the fault's ``at``.
    """
    records = list(records)
    specs = {f.name: f for f in scenario.faults} if scenario else {}
    windows = []
    for i, record in enumerate(records):
        if not isinstance(record, FaultInjected):
            continue
        later = records[i + 1:]
        revert = next((r for r in later if isinstance(r, FaultReverted)
                       and r.fault == record.fault), None)
        start, spec = record.at - zero, specs.get(record.fault)
        healed = None if revert is None else revert.at - zero
        if record.instant:  # a kill heals when its target reports healthy again
            healthy = next((r for r in later if isinstance(r, ServiceHealthy)
                            and r.service == record.target), None)
            healed = None if healthy is None else healthy.at - zero
        end = start if record.instant else max(start, load_end if healed is None else healed)
        planned = (record.planned_ts - zero if record.planned_ts is not None
                   else spec.at if spec is not None else None)
        lag = record.lag_ms if record.lag_ms is not None else (
            None if planned is None else (start - planned) * 1000.0)
        windows.append(FaultWindow(
            name=record.fault, kind=record.fault_kind or (spec.kind if spec else ""),
            target=record.target, start=start, end=end, instant=record.instant,
            healed_at=healed, revert_ok=None if revert is None else revert.ok,
            planned=planned, lag_ms=lag,
            called=None if record.call_ts is None else record.call_ts - zero))
    return tuple(sorted(windows, key=lambda w: w.start))
