"""Analysis of a finished run: pure functions over ``journal.jsonl`` + ``requests.jsonl``.

Record first, judge afterwards: the runner only writes the two files; everything here
reads them back, so a run can be re-analysed offline (``chaos-harness report RUN_DIR``).
All times are seconds relative to the ``load_started`` record; windows are half-open
``[start, end)`` and a request belongs to the window holding its *start* time.

Metrics, identical for a one-second timeline bucket and for any window:

* ``error_rate``: requests with ``ok == false`` over all requests;
* ``fallback_rate``: requests with ``fallback == true`` over all requests;
* ``p50_ms`` / ``p95_ms`` / ``p99_ms``: nearest-rank percentiles of ``latency_ms`` over
  every request, failed ones included (as Locust does), so each is an observed latency;
* ``throughput_rps``: requests (failed ones included) per second of window.

Rates and percentiles are ``None`` for a window without requests: no traffic is no
evidence of health.

**Recovery time** (see ``docs/recovery-time.md``): recovery starts at R, the fault's
revert time (its injection time for an instant fault such as a kill). Recovery time is
S − R, where S is the earliest second-bucket start ≥ floor(R) such that the steady-state
SLO holds over every window of ``steady_state.window`` seconds, sliding in 1 s steps, from
S until the horizon (the next fault's injection or the end of the load, whichever is
first), at least one full window fitting between S and the horizon. It is clamped to
``>= 0``. A window with zero requests never holds. No such S: the fault did not recover
(``time_s is None``). No R, or not even one window between floor(R) and the horizon: the
recovery is not measurable.

>>> run = load_run(Path("reports/latest"))  # doctest: +SKIP
>>> window_stats(run, 0, 10).p99_ms  # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from harness.errors import HarnessError
from harness.integrity import load_totals, record_problems
from harness.journal import LOAD_EVENTS_FILE, REQUEST_LOG_FILE, read_journal, scan_jsonl
from harness.model import COMMON_FAULT_KEYS, Scenario

WARMUP_S = 2.0
"""Seconds after load start left out of the baseline window (connections, caches)."""
GUARD_S = 0.5
"""Seconds before the first fault left out of the baseline (requests still in flight)."""

_REQUEST_COLUMNS = ["ts", "latency_ms", "name", "ok", "status", "error", "fallback"]


@dataclass(frozen=True)
class WindowStats:
    """The request metrics of one window ``[start_s, end_s)`` (seconds from load start)."""

    start_s: float
    end_s: float
    requests: int
    errors: int
    fallbacks: int
    error_rate: float | None
    fallback_rate: float | None
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    throughput_rps: float | None

    @property
    def duration_s(self) -> float:
        """Length of the window in seconds."""
        return self.end_s - self.start_s

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready fields, ``duration_s`` included."""
        return {**asdict(self), "duration_s": self.duration_s}


@dataclass(frozen=True)
class FaultWindow:
    """One injected fault, from the journal: its window ``[start, end)`` from load start."""

    name: str
    kind: str
    target: Any
    start: float
    """When ``fault_injected`` was recorded."""
    end: float
    """When it was reverted; ``start`` for an instant fault; the load's end if never."""
    instant: bool
    healed_at: float | None
    """When ``fault_reverted`` was recorded; None if it never was (crash)."""
    revert_ok: bool | None = None

    @property
    def recovery_start(self) -> float | None:
        """R: the revert time, or the injection time for an instant fault."""
        return self.start if self.instant else self.healed_at


@dataclass(frozen=True)
class Recovery:
    """How long the system took to hold its steady state again after one fault."""

    fault: str
    start: float | None
    """R, seconds from load start; None when the fault was never reverted."""
    horizon: float
    """The next fault's injection or the end of the load, whichever is first."""
    recovered_at: float | None
    """S, the start of the first second from which the steady state keeps holding."""
    measurable: bool
    reason: str
    """Why ``time_s`` is None; empty when recovered."""

    @property
    def time_s(self) -> float | None:
        """S − R clamped to >= 0; None if not recovered or not measurable."""
        if self.recovered_at is None or self.start is None:
            return None
        return max(0.0, self.recovered_at - self.start)


@dataclass(frozen=True, eq=False)
class Run:
    """A finished (or crashed) run, read back from its files."""

    run_id: str
    header: dict[str, Any]
    """The ``run_started`` record."""
    scenario: Scenario
    journal: tuple[dict[str, Any], ...]
    requests: pd.DataFrame
    """One row per request, sorted by ``t`` (request start, seconds from load start)."""
    load_started_at: float
    """Epoch seconds of ``load_started``: the zero of every relative time."""
    duration_s: float
    """Until ``load_stopped``, or until the last request completed if it is missing."""
    faults: tuple[FaultWindow, ...]
    status: str
    """``run_finished.status`` (completed, interrupted, error), ``interrupted`` if any
    signal arrived (even while the reports were written), ``crashed`` without it."""
    integrity: tuple[str, ...] = ()
    """Why the run's record is incomplete (``harness.integrity``); empty when complete."""

    def iso(self, t: float | None) -> str | None:
        """Wall-clock ISO 8601 (UTC) of ``t`` seconds after load start."""
        return None if t is None else to_iso(self.load_started_at + t)


def to_iso(ts: float) -> str:
    """Epoch seconds as ISO 8601 in UTC."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()


def load_run(run_dir: Path | str) -> Run:
    """Read ``journal.jsonl``, ``requests.jsonl`` and ``load-events.jsonl`` into a Run."""
    run_dir = Path(run_dir)
    request_log, events = run_dir / REQUEST_LOG_FILE, run_dir / LOAD_EVENTS_FILE
    records, torn = scan_jsonl(request_log) if request_log.exists() else ([], 0)
    totals = load_totals(scan_jsonl(events)[0]) if events.exists() else None
    return build_run(read_journal(run_dir), records, run_id=run_dir.name, torn=torn,
                     load_totals=totals)


def build_run(journal: list[dict[str, Any]], requests: Iterable[dict[str, Any]],
              *, run_id: str | None = None, torn: int = 0,
              load_totals: dict[str, Any] | None = None) -> Run:
    """Build a Run from journal and request records (``load_run`` minus the files).

    ``torn`` and ``load_totals`` feed the completeness check (``harness.integrity``).
    """
    requests = list(requests)
    first = {}
    for record in journal:
        first.setdefault(record.get("kind"), record)
    header = first.get("run_started")
    if header is None:
        raise HarnessError(f"run {run_id}: the journal has no run_started record")
    load_start = first.get("load_started", header)["ts"]
    frame = load_requests(requests, load_start)
    if "load_stopped" in first:
        duration = max(0.0, first["load_stopped"]["ts"] - load_start)
    else:  # crashed: the load lasted until the last logged request completed
        ends = frame["t"] + frame["latency_ms"] / 1000.0
        duration = max(0.0, ends.max()) if len(frame) else 0.0
    try:
        scenario = _rebuild_scenario(header.get("scenario") or {})
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise HarnessError(f"run {run_id}: run_started holds no valid scenario: {exc}") from exc
    kinds = {fault.name: fault.kind for fault in scenario.faults}
    status = first.get("run_finished", {}).get("status", "crashed")
    if "signal_received" in first and status != "crashed":
        status = "interrupted"
    return Run(run_id=header.get("run_id") or run_id or "", header=header, scenario=scenario,
               journal=tuple(journal), requests=frame, load_started_at=load_start,
               duration_s=float(duration),
               faults=fault_windows(journal, load_start, duration, kinds), status=status,
               integrity=tuple(record_problems(journal, logged=len(requests), torn=torn,
                                               totals=load_totals)))


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


def load_requests(records: Iterable[dict[str, Any]], load_start: float) -> pd.DataFrame:
    """The request log as a DataFrame sorted by ``t`` (start time from load start).

    ``ok`` and ``fallback`` become strict booleans (null counts as false).
    """
    frame = pd.DataFrame.from_records(list(records), columns=_REQUEST_COLUMNS)
    frame = frame.dropna(subset=["ts", "latency_ms"])
    frame["t"] = frame["ts"].astype(float) - load_start
    frame["latency_ms"] = frame["latency_ms"].astype(float)
    frame["ok"] = frame["ok"].eq(True)
    frame["fallback"] = frame["fallback"].eq(True)
    return frame.sort_values("t", kind="stable").reset_index(drop=True)


def fault_windows(journal: list[dict[str, Any]], load_start: float, load_end: float,
                  kinds: dict[str, str] | None = None) -> tuple[FaultWindow, ...]:
    """Pair each ``fault_injected`` with the next ``fault_reverted`` of the same fault.

    Times are relative to ``load_start`` (epoch); a fault never reverted ends at
    ``load_end``. The kind is the record's ``fault_kind``, else ``kinds[fault]`` (from
    the scenario: a journal record's own ``kind`` field is the record's kind).
    """
    windows = []
    for i, record in enumerate(journal):
        if record.get("kind") != "fault_injected":
            continue
        name = record.get("fault", "?")
        revert = next((r for r in journal[i + 1:] if r.get("kind") == "fault_reverted"
                       and r.get("fault") == name), None)
        start, instant = record["ts"] - load_start, bool(record.get("instant", False))
        if instant:  # a kill heals when its target reports healthy again
            revert = next((r for r in journal[i + 1:] if r.get("kind") == "service_healthy"
                           and r.get("service") == record.get("target")), revert)
        healed = None if revert is None else revert["ts"] - load_start
        end = start if instant else max(start, load_end if healed is None else healed)
        windows.append(FaultWindow(
            name=name, kind=record.get("fault_kind") or (kinds or {}).get(name, ""),
            target=record.get("target"), start=start, end=end, instant=instant,
            healed_at=healed, revert_ok=None if revert is None else revert.get("ok", True)))
    return tuple(sorted(windows, key=lambda w: w.start))


def percentile(values: np.ndarray, q: float) -> float | None:
    """Nearest-rank ``q``-th percentile (an observed value), None for no values.

    >>> percentile(np.array([10.0, 20.0, 30.0, 40.0]), 50)
    20.0
    """
    return percentiles(values, (q,))[0]


def percentiles(values: np.ndarray, qs: tuple[float, ...]) -> list[float | None]:
    """``percentile`` for each of ``qs`` with one sort; Nones for no values.

    >>> percentiles(np.array([10.0, 20.0, 30.0, 40.0]), (50, 99))
    [20.0, 40.0]
    """
    if len(values) == 0:
        return [None] * len(qs)
    return np.percentile(values, qs, method="inverted_cdf").tolist()


def window_stats(run: Run, start: float, end: float) -> WindowStats:
    """Metrics of the requests that started in ``[start, end)`` (seconds from load start)."""
    t = run.requests["t"].to_numpy()
    lo, hi = np.searchsorted(t, [start, end], side="left")
    latency = run.requests["latency_ms"].to_numpy()[lo:hi]
    n = int(hi - lo)
    errors = n - int(run.requests["ok"].to_numpy()[lo:hi].sum())
    fallbacks = int(run.requests["fallback"].to_numpy()[lo:hi].sum())
    length = end - start
    p50, p95, p99 = percentiles(latency, (50, 95, 99))
    return WindowStats(
        start_s=float(start), end_s=float(end), requests=n, errors=errors, fallbacks=fallbacks,
        error_rate=errors / n if n else None,
        fallback_rate=fallbacks / n if n else None,
        p50_ms=p50, p95_ms=p95, p99_ms=p99,
        throughput_rps=n / length if length > 0 else None,
    )


def load_window(run: Run) -> tuple[float, float]:
    """The whole load, ``[0, duration)``."""
    return 0.0, run.duration_s


def baseline_window(run: Run, *, warmup: float = WARMUP_S) -> tuple[float, float]:
    """From load start + ``warmup`` to ``GUARD_S`` before the first fault (or the load's end).

    The guard keeps requests that were in flight when the fault hit (a kill cuts them
    off) out of the steady state they did not belong to.
    """
    end = max(0.0, run.faults[0].start - GUARD_S) if run.faults else run.duration_s
    return min(warmup, end), end


def per_second(run: Run) -> list[WindowStats]:
    """One WindowStats per second of load, ``[k, k + 1)``, empty seconds included.

    The last second is cut at the load's end, so its throughput is over the part run.
    """
    return [window_stats(run, k, min(k + 1.0, run.duration_s))
            for k in range(math.ceil(run.duration_s))]


def timeline_rows(run: Run) -> list[dict[str, Any]]:
    """``per_second`` as JSON-ready dicts, each led by ``second`` (its integer start)."""
    return [{"second": int(row.start_s), **row.to_dict()} for row in per_second(run)]


def timeline(run: Run) -> pd.DataFrame:
    """``timeline_rows`` as a DataFrame: one row per second of load."""
    columns = ["second", *WindowStats.__dataclass_fields__, "duration_s"]
    return pd.DataFrame.from_records(timeline_rows(run), columns=columns)


def measure_recovery(run: Run, fault: FaultWindow, *, window_s: float,
                     holds: Callable[[WindowStats], bool]) -> Recovery:
    """Recovery of ``fault`` as defined in this module's docstring.

    ``holds(stats)`` says whether the steady state holds over one window; windows with
    no requests are never asked about (they never hold).

    >>> measure_recovery(run, run.faults[0], window_s=5,  # doctest: +SKIP
    ...                  holds=lambda s: s.error_rate < 0.01).time_s
    """
    start = fault.recovery_start
    later = [f.start for f in run.faults if f is not fault and start is not None
             and f.start >= start]
    horizon = min([run.duration_s, *later])
    ends = "the next fault" if later and min(later) < run.duration_s else "the end of load"
    where = f"{ends} (t={horizon:.1f} s)"

    def outcome(recovered_at: float | None, measurable: bool, reason: str) -> Recovery:
        return Recovery(fault=fault.name, start=start, horizon=horizon,
                        recovered_at=recovered_at, measurable=measurable, reason=reason)

    if start is None:
        return outcome(None, False, "the fault was never reverted")
    first, last = math.floor(start), math.floor(horizon - window_s + 1e-9)
    if last < first:
        return outcome(None, False, f"no full {window_s:g} s window between t={first} s "
                       f"and {where}")
    recovered_at = None
    for s in range(last, first - 1, -1):  # walk back while every later window holds
        stats = window_stats(run, s, s + window_s)
        if stats.requests == 0 or not holds(stats):
            if recovered_at is None:
                return outcome(None, True, f"the steady state did not hold over "
                               f"[{s}, {s + window_s:g}) s, the last window before {where}")
            break
        recovered_at = float(s)
    return outcome(recovered_at, True, "")
