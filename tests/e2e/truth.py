"""Known truth for real runs, read straight from a run's files (not through the analysis).

Each helper derives what a run's report *should* say from ``journal.jsonl`` (when each
fault's call started, took effect and was undone) and ``requests.jsonl`` (every due
request's intended start, end and outcome), so that the report's figures can be held
to it. Used by ``tests/e2e/test_truth.py``, ``tests/docker/test_truth_docker.py`` and
``bench/truth_corpus.py``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

RESOLUTION_S = 0.1
"""The report's default resolution: recovery must be within it of the truth."""


@dataclass(frozen=True)
class Line:
    """One due request, seconds from load start."""

    intended: float
    end: float
    ok: bool
    sent: bool


@dataclass(frozen=True)
class Injection:
    """One fault's times from the journal, seconds from load start."""

    called: float
    """When the injecting call started."""
    start: float
    """When it took effect."""
    healed: float | None
    """When its undo took effect (an instant fault: its injection)."""


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def zero(run_dir: Path) -> float:
    """Time zero of the run: the load's start, epoch seconds."""
    return next(r["load_ts"] for r in _jsonl(run_dir / "journal.jsonl") if r["kind"] == "load_started")


def requests(run_dir: Path) -> list[Line]:
    """Every due request of the run (sent or not), in intended order."""
    t0 = zero(run_dir)
    lines = [Line(intended=r["intended_ts"] - t0, end=r["ts"] + r["service_ms"] / 1000.0 - t0,
                  ok=r["ok"], sent=r.get("sent", True))
             for r in _jsonl(run_dir / "requests.jsonl")]
    return sorted(lines, key=lambda line: line.intended)


def injection(run_dir: Path, fault: str) -> Injection:
    """The journal's times of ``fault``: call start, effect, undo."""
    t0, records = zero(run_dir), _jsonl(run_dir / "journal.jsonl")
    injected = next(r for r in records if r["kind"] == "fault_injected" and r["fault"] == fault)
    start = injected["effective_ts"] - t0
    if injected.get("instant"):
        healed = start
    else:
        reverted = next((r for r in records if r["kind"] == "fault_reverted" and r["fault"] == fault), None)
        healed = None if reverted is None else reverted["effective_ts"] - t0
    return Injection(called=injected["call_ts"] - t0, start=start, healed=healed)


def succeeding_again(lines: list[Line], since: float, until: float) -> float | None:
    """The moment requests succeed again after ``since``: the intended start of the first
    request after the last failure (``since`` if none failed after it); None if nothing
    succeeded after the last failure.

    Only requests answered before ``until`` count (the next fault's call: what was in
    flight then is that fault's damage).
    """
    due = [line for line in lines if line.intended < until and line.end < until]
    last = max((line.intended for line in due if not line.ok), default=None)
    if last is None or last < since:
        return since
    after = [line.intended for line in due if line.intended > last and line.ok]
    return min(after) if after else None


def truth_recovery_s(run_dir: Path, fault: str, until: float) -> float | None:
    """The true recovery time of ``fault``: from its heal to the moment requests succeed
    again (see ``succeeding_again``), never negative; None if they never do."""
    healed = injection(run_dir, fault).healed
    again = succeeding_again(requests(run_dir), healed, until)
    return None if again is None else max(0.0, again - healed)


def report_fault(report: dict, name: str) -> dict:
    """The report's entry for fault ``name``."""
    return next(f for f in report["faults"] if f["name"] == name)


def window(report: dict, name: str) -> dict:
    """The report's window ``name`` (baseline, a fault's, ...)."""
    return next(w for w in report["windows"] if w.get("name") == name)


def check_errors_only_inside(run_dir: Path, report: dict, fault: str) -> None:
    """Every failed request was due inside the fault's span or in flight at its
    injecting call, and the report counts every error in the fault's window."""
    inj = injection(run_dir, fault)
    failing = [line for line in requests(run_dir) if not line.ok]
    assert failing, "the fault broke nothing"
    outside = [line for line in failing if not (
        line.intended < inj.healed and (line.intended >= inj.start or line.end >= inj.called))]
    assert outside == [], (inj, outside[:5])
    assert window(report, fault)["errors"] == report["requests"]["errors"] == len(failing)
    series = report["series"]
    stray = [(t, e) for t, e in zip(series["start_s"], series["errors"])
             if e and not (inj.start - 1e-6 <= t < inj.healed)]
    assert stray == [], stray


def steady_window_s(run_dir: Path) -> float:
    """The scenario's ``steady_state.window``, seconds (from the journal's copy of it)."""
    header = next(r for r in _jsonl(run_dir / "journal.jsonl") if r["kind"] == "run_started")
    window = header["scenario"]["steady_state"]["window"]
    return float(window[:-1]) if isinstance(window, str) else float(window)


def check_recovery(run_dir: Path, report: dict, fault: str, until: float) -> float | None:
    """The report's recovery time of ``fault`` is within one resolution step of the
    truth read from requests.jsonl; returns measured − truth, in seconds.

    When requests never succeed again, or the true recovery leaves no full steady-state
    window before the horizon, the report must say "not recovered" (None) instead: a recovery is only claimed over a
    whole window. Within one step of that edge either answer is right.
    """
    truth = truth_recovery_s(run_dir, fault, until)
    entry = report_fault(report, fault)
    measured = entry["recovery_time_s"]
    room = entry["horizon_s"] - entry["recovery_start_s"] - steady_window_s(run_dir)
    if truth is None or truth > room + RESOLUTION_S:
        assert measured is None, (fault, measured, truth, room)
        return None
    if measured is None and truth > room - RESOLUTION_S:
        return None
    assert measured is not None, (fault, measured, truth, room)
    assert abs(measured - truth) <= RESOLUTION_S + 1e-9, (fault, measured, truth)
    return measured - truth


def check_freeze(report: dict, fault: str = "frozen-model") -> None:
    """A 4 s freeze: >= 90% of the due requests counted in its window, p50 from intent >= 1.5 s."""
    assert report["integrity"] == []  # Locust's count matches the sent lines
    frozen = window(report, fault)
    due = 8 * 10 * (frozen["end_s"] - frozen["start_s"])  # 8 users, 10 slots/s each
    assert frozen["requests"] >= 0.9 * due, frozen
    assert frozen["omitted"] > frozen["sent"], frozen  # the users were blocked: most slots never sent
    assert frozen["p50_ms"] >= 1500, frozen  # from intended start: they waited for the thaw
    # the contrast comes from the freeze, not from a slow machine (margins a busy one keeps)
    baseline = window(report, "baseline")
    assert baseline["omitted"] <= 0.1 * baseline["requests"] and baseline["p50_ms"] < 500, baseline


def check_black_hole(returncode: int, report: dict, fault: str = "black-hole") -> None:
    """A black-holed ingress fails ``p99_ms < 1000`` during it, on the due requests."""
    assert returncode == 1
    failing = next(s for s in report["slos"] if s["name"] == f"during[{fault}].p99_ms")
    assert failing["status"] == "failed" and failing["observed"] > 3000, failing
    hole = window(report, fault)
    due = 8 * 10 * (hole["end_s"] - hole["start_s"])
    assert hole["requests"] >= 0.9 * due and hole["errors"] > 0, hole
    assert report["integrity"] == []


def check_refused(run_dir: Path, report: dict, fault: str = "refused-ingress") -> None:
    """Ingress refused for 5.000 s: the journal's span, errors only inside, recovery true."""
    inj = injection(run_dir, fault)
    assert abs(inj.healed - inj.start - 5.0) < 0.05, inj  # each end lands within ms of plan
    check_errors_only_inside(run_dir, report, fault)
    check_recovery(run_dir, report, fault, until=float("inf"))


def check_kill(run_dir: Path, report: dict, fault: str = "kill-model") -> None:
    """A kill: errors, then recovery measured within 100 ms of requests succeeding again."""
    assert report["requests"]["errors"] > 0, "the kill broke nothing"
    check_recovery(run_dir, report, fault, until=float("inf"))


def check_two_faults(run_dir: Path, report: dict, first: str = "slow-features",
                     second: str = "kill-model") -> None:
    """Feature latency, then a kill: the first recovers at once (the kill's damage is
    the kill's) and passes its recovery SLO; both recoveries are within 100 ms of the
    truth, and the kill's recovery SLO says what its truth says."""
    kill = injection(run_dir, second)
    check_recovery(run_dir, report, first, until=kill.called)
    assert report_fault(report, first)["recovery_time_s"] <= RESOLUTION_S, report_fault(report, first)
    assert slo(report, f"recovery_time[{first}]")["status"] == "passed", slo(report, f"recovery_time[{first}]")
    check_recovery(run_dir, report, second, until=float("inf"))
    check_recovery_verdict(run_dir, report, second, until=float("inf"))


def slo(report: dict, name: str) -> dict:
    """The report's SLO ``name``."""
    return next(s for s in report["slos"] if s["name"] == name)


def check_recovery_verdict(run_dir: Path, report: dict, fault: str, until: float) -> None:
    """The fault's recovery SLO (``< bound``) passed if and only if the true recovery time
    is under the bound and was measured; within one resolution step of the bound either
    verdict is right."""
    verdict = slo(report, f"recovery_time[{fault}]")
    bound = float(re.fullmatch(r"<\s*([0-9.]+)\s*s", verdict["threshold"]).group(1))
    true = truth_recovery_s(run_dir, fault, until)
    measured = report_fault(report, fault)["recovery_time_s"]
    if measured is None or true is None:
        assert verdict["status"] == "failed", verdict
    elif abs(true - bound) > RESOLUTION_S:
        assert (verdict["status"] == "passed") == (true < bound), (verdict, true)
