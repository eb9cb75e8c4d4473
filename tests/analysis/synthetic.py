"""Synthetic run directories: journal and request log written from code.

A run starts its load at ``T0`` (epoch); everything else is given in seconds from it.

>>> run_dir = write_run(tmp_path, journal=journal(duration=30), requests=traffic(30))
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from harness.analysis import Run, build_run

T0 = 1_700_000_000.0


@dataclass(frozen=True)
class Plan:
    """One fault of a synthetic run: injected at ``at``, reverted ``for_`` later."""

    name: str
    at: float
    for_: float | None = None
    instant: bool = False
    kind: str = "latency"
    reverted: bool = True


def scenario(*, faults: tuple[Plan, ...] = (), steady: dict | None = None, window: float = 5,
             expect: dict | None = None, name: str = "synthetic") -> dict[str, Any]:
    """A scenario dump as ``run_started`` holds it (YAML shape)."""
    dumped = []
    for plan in faults:
        fault = {"name": plan.name, "at": f"{plan.at:g}s", plan.kind: {"link": "features"}}
        if plan.for_ is not None:
            fault["for"] = f"{plan.for_:g}s"
        dumped.append(fault)
    return {
        "name": name, "seed": 7, "backend": "process",
        "load": {"users": 2, "duration": "30s"},
        "steady_state": {"window": f"{window:g}s", "slo": steady or {"error_rate": "< 1%"}},
        "faults": dumped, "expect": expect or {},
    }


def journal(*, duration: float | None = 30, faults: tuple[Plan, ...] = (),
            finished: str | None = "completed", **scenario_kw: Any) -> list[dict[str, Any]]:
    """Journal records of a run whose load lasts ``duration`` s (None: never stopped)."""
    records = [_rec(-1.0, "run_started", "setup", run_id="synthetic-run", seed=7,
                    backend="process", harness_version="0.1.0", python="3.11",
                    platform="linux", git_commit="abc", scenario_file="s.yaml",
                    scenario=scenario(faults=faults, **scenario_kw)),
               _rec(0.0, "load_started", "baseline")]
    for plan in faults:
        target = "model" if plan.instant else "features"
        records += [_rec(plan.at - 0.01, "fault_injecting", "inject", fault=plan.name,
                         fault_kind=plan.kind, target=target),
                    _rec(plan.at, "fault_injected", "inject", fault=plan.name,
                         fault_kind=plan.kind, target=target, instant=plan.instant)]
        if plan.instant:
            records += [_rec(plan.at, "service_killed", "inject", service="model"),
                        _rec(plan.at + 0.5, "service_restarted", "recover", service="model")]
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
    """``rps`` requests per second from ``start`` to ``duration``, none inside ``gaps``."""
    out = []
    for i in range(int(start * rps), int(duration * rps)):
        t = (i + 0.5) / rps
        if any(a <= t < b for a, b in gaps):
            continue
        ok = not error(t)
        out.append({"ts": T0 + t, "latency_ms": latency(t), "name": "/predict", "ok": ok,
                    "status": 200 if ok else 503, "error": None if ok else "HTTP 503",
                    "fallback": fallback(t)})
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
