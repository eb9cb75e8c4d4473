"""Synthetic run directories: journal and request log written from code, with known truth.

A run starts its load at ``T0`` (epoch); everything else is given in seconds from it.

* ``traffic`` — open-loop requests at a fixed rate, each sent when due (intended start
  = actual start), with a chosen outcome and service time per start time;
* ``paced`` — closed-loop users paced by the harness's own schedule
  (``harness.pacing``, the code the locustfile wrapper runs), against a system whose
  answer time is known: a freeze makes them block and omit their slots exactly as in
  a real run.

>>> run_dir = write_run(tmp_path, journal=journal(duration=30), requests=traffic(30))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.analysis import Run, build_run
from harness.pacing import Schedule, omitted_requests
from harness.timeline.requests import Request

T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Plan:
    """One fault of a synthetic run: injected at ``at``, reverted ``for_`` later.

    ``lag`` (s) is how late it took effect: the journal carries ``planned_ts``, ``call_ts``
    (the call starts on plan) and ``effective_ts`` as the writers do, or none of them when
    ``lag`` is None (old journals).
    """

    name: str
    at: float
    for_: float | None = None
    instant: bool = False
    kind: str = "latency"
    reverted: bool = True
    lag: float | None = None


def scenario(*, faults: tuple[Plan, ...] = (), steady: dict | None = None, window: float = 5,
             expect: dict | None = None, name: str = "synthetic",
             resolution: str | None = None) -> dict[str, Any]:
    """A scenario dump as ``run_started`` holds it (YAML shape)."""
    dumped = []
    for plan in faults:
        fault = {"name": plan.name, "at": f"{plan.at:g}s", plan.kind: {"link": "features"}}
        if plan.for_ is not None:
            fault["for"] = f"{plan.for_:g}s"
        dumped.append(fault)
    out = {
        "name": name, "seed": 7, "backend": "process",
        "load": {"users": 2, "duration": "30s"},
        "steady_state": {"window": f"{window:g}s", "slo": steady or {"error_rate": "< 1%"}},
        "faults": dumped, "expect": expect or {},
    }
    if resolution is not None:
        out["resolution"] = resolution
    return out


def journal(*, duration: float | None = 30, faults: tuple[Plan, ...] = (),
            finished: str | None = "completed", **scenario_kw: Any) -> list[dict[str, Any]]:
    """Journal records of a run whose load lasts ``duration`` s (None: never stopped)."""
    records = [_rec(-1.0, "run_started", "setup", run_id="synthetic-run", seed=7,
                    backend="process", harness_version="0.1.0", python="3.11",
                    platform="linux", git_commit="abc", scenario_file="s.yaml",
                    scenario=scenario(faults=faults, **scenario_kw)),
               _rec(0.0, "load_started", "baseline", load_ts=T0)]
    for plan in faults:
        target = "model" if plan.instant else "features"
        timing = {} if plan.lag is None else {"planned_ts": T0 + plan.at, "call_ts": T0 + plan.at,
                                              "effective_ts": T0 + plan.at + plan.lag}
        at = plan.at + (plan.lag or 0.0)
        records += [_rec(plan.at - 0.01, "fault_injecting", "inject", fault=plan.name,
                         fault_kind=plan.kind, target=target),
                    _rec(at + 0.001, "fault_injected", "inject", fault=plan.name,
                         fault_kind=plan.kind, target=target, instant=plan.instant, **timing)]
        if plan.lag is None:
            records[-1]["ts"] = T0 + at
        if plan.instant:
            records += [_rec(at, "service_killed", "inject", service="model"),
                        _rec(at + 0.5, "service_healthy", "recover", service="model")]
        elif plan.reverted:
            end = plan.at + (plan.for_ if plan.for_ is not None else duration or 0)
            records.append(_rec(end, "fault_reverted", "recover", fault=plan.name,
                                ok=True, interrupted=False))
    if duration is not None:
        records.append(_rec(duration, "load_stopped", "recover"))
    if finished is not None:
        records.append(_rec((duration or 0) + 0.5, "run_finished", "teardown", status=finished))
    return sorted(records, key=lambda r: r["t"])


def _rec(t: float, kind: str, phase: str, **fields: Any) -> dict[str, Any]:
    return {"ts": T0 + t, "t": t + 1.0, "kind": kind, "phase": phase, **fields}


def traffic(duration: float, *, rps: int = 10, start: float = 0.0,
            error: Callable[[float], bool] = lambda t: False,
            latency: Callable[[float], float] = lambda t: 20.0,
            fallback: Callable[[float], bool | None] = lambda t: False,
            gaps: tuple[tuple[float, float], ...] = ()) -> list[dict[str, Any]]:
    """``rps`` requests per second from ``start`` to ``duration``, none inside ``gaps``,
    each sent at ``(i + 0.5) / rps`` exactly when due."""
    out = []
    for i in range(int(start * rps), int(duration * rps)):
        t = (i + 0.5) / rps
        if any(a <= t < b for a, b in gaps):
            continue
        ok = not error(t)
        out.append(Request(intended_ts=T0 + t, ts=T0 + t, service_ms=latency(t),
                           name="/predict", ok=ok, status=200 if ok else 503,
                           error=None if ok else "HTTP 503",
                           flags=("fallback",) if fallback(t) else ()).to_json())
    return out


def paced(*, users: int, rate: float, duration: float,
          answer: Callable[[float], tuple[float, bool]]) -> list[dict[str, Any]]:
    """The request log of ``users`` users paced at ``rate`` slots/s for ``duration`` s.

    ``answer(sent_at)`` gives (seconds until the answer, ok) for a request sent at
    ``sent_at`` (seconds from T0). User ``u`` starts at ``u / (users * rate)``; each
    task is one request; the schedule (``harness.pacing``) decides what is sent, when,
    and which slots are written as never sent.
    """
    out = []
    for user in range(users):
        schedule = Schedule(t0=T0 + user / (users * rate), rate=rate)
        now = schedule.t0
        while now - T0 < duration:
            intended = schedule.claim()
            took, ok = answer(now - T0)
            sent = Request(intended_ts=intended, ts=now, service_ms=took * 1000.0, name="/p",
                           ok=ok, status=200 if ok else 503, user=user)
            now += took
            out.append(sent.to_json())
            due, wait = schedule.finish(now)
            out += [r.to_json() for r in omitted_requests(sent, due, now)]
            now += wait
    return out


def write_run(root: Path, *, journal: list[dict], requests: list[dict] | None,
              name: str = "synthetic-run") -> Path:
    """Write ``journal.jsonl`` (+ ``requests.jsonl`` unless None) under ``root/name``."""
    run_dir = root / name
    run_dir.mkdir(parents=True, exist_ok=True)
    _write(run_dir / "journal.jsonl", journal)
    if requests is not None:
        _write(run_dir / "requests.jsonl", requests)
    return run_dir


def _write(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


def run(**kw: Any) -> Run:
    """An in-memory Run: ``journal(**kw)`` with ``requests=`` (default: 30 s of traffic)."""
    requests = kw.pop("requests", None)
    records = journal(**kw)
    return build_run(records, traffic(30) if requests is None else requests)
