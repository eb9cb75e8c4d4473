"""The report dict (the content of ``report.json``), built from a Run and its verdicts."""

from __future__ import annotations

from typing import Any

from harness.analysis import (
    Recovery, Run, baseline_window, load_window, timeline_rows, to_iso, window_stats,
)
from harness.slo import Status, Verdict, evaluate, recoveries


def summarize(run: Run, verdicts: list[Verdict] | None = None) -> dict[str, Any]:
    """Everything the reporters show: header, verdict, SLOs, faults, requests, timeline.

    ``verdict`` is ``unknown`` when the run's record is incomplete (``integrity`` says
    why: a short or torn request log, a journal cut off), else ``passed`` only if every
    SLO passed; ``status`` is the harness's own (``completed``, ``interrupted``,
    ``error``, or ``crashed`` without ``run_finished``): the harness working and the
    system passing are separate facts. ``unplanned`` lists the deaths nobody planned
    (a service, the fault proxy), from the journal.
    """
    measured = recoveries(run)
    if verdicts is None:
        verdicts = evaluate(run, measured=measured)
    header, scenario = run.header, run.scenario
    finished = next((r for r in run.journal if r.get("kind") == "run_finished"), {})
    passed = all(v.status is Status.PASSED for v in verdicts)
    verdict = Status.UNKNOWN if run.integrity else Status.PASSED if passed else Status.FAILED
    return {
        "run_id": run.run_id,
        "scenario": scenario.name,
        "scenario_file": header.get("scenario_file"),
        "seed": header.get("seed", scenario.seed),
        "backend": header.get("backend", scenario.backend),
        "harness_version": header.get("harness_version"),
        "git_commit": header.get("git_commit"),
        "started_at": to_iso(header["ts"]) if "ts" in header else None,
        "load_started_at": to_iso(run.load_started_at),
        "status": run.status,
        "error": finished.get("error"),
        "verdict": verdict.value,
        "integrity": list(run.integrity),
        "unplanned": _unplanned(run),
        "slos": [v.to_dict() for v in verdicts],
        "faults": _faults(run, measured),
        "requests": _requests(run),
        "timeline": timeline_rows(run),
        "windows": _windows(run),
    }


UNPLANNED_KINDS = {"service_died": "{service} died", "proxy_server_died": "the fault proxy server died"}
"""Journal kinds of deaths nobody planned, and how the report names them."""


def _unplanned(run: Run) -> list[dict[str, Any]]:
    return [{"kind": r["kind"], "at": to_iso(r["ts"]), "t_s": r["ts"] - run.load_started_at,
             "phase": r.get("phase"), "service": r.get("service"),
             "what": f"{UNPLANNED_KINDS[r['kind']].format(service=r.get('service'))}: "
                     f"{r.get('reason', 'no reason recorded')}"}
            for r in run.journal if r.get("kind") in UNPLANNED_KINDS]


def _faults(run: Run, measured: dict[str, Recovery]) -> list[dict[str, Any]]:
    return [{
        "name": fault.name, "kind": fault.kind, "target": fault.target,
        "instant": fault.instant,
        "injected_at": run.iso(fault.start), "healed_at": run.iso(fault.healed_at),
        "start_s": fault.start, "end_s": fault.end, "window_s": fault.end - fault.start,
        "revert_ok": fault.revert_ok,
        "recovery_time_s": measured[fault.name].time_s,
        "recovery_note": measured[fault.name].reason,
    } for fault in run.faults]


def _requests(run: Run) -> dict[str, Any]:
    stats = window_stats(run, *load_window(run)).to_dict()
    keys = ("errors", "error_rate", "fallbacks", "fallback_rate", "p50_ms", "p95_ms",
            "p99_ms", "throughput_rps", "duration_s")
    return {"total": stats["requests"], **{key: stats[key] for key in keys}}


def _windows(run: Run) -> list[dict[str, Any]]:
    baseline = window_stats(run, *baseline_window(run))
    return [{"name": "baseline", "window": "baseline", **baseline.to_dict()}] + [
        {"name": fault.name, "window": "fault", **window_stats(run, fault.start,
                                                                fault.end).to_dict()}
        for fault in run.faults]
