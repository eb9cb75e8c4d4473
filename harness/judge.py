"""``judge(run) -> Judgement``: every verdict of a finished run, typed, with no I/O.

Record first, judge afterwards: :func:`judge` is a pure function of a
:class:`~harness.analysis.Run` (what ``load_run`` read from the run directory), so
``chaos-harness check`` re-judges any run, old ones included, under today's rules.
Every report (``report.json``, ``junit.xml``, ``report.html``) is rendered from the
Judgement; ``report.json`` *is* ``Judgement.to_json()`` (``"format": 2``).

The verdict is ``unknown`` when the run's record is incomplete (``integrity`` says why:
a short or torn request log, a journal cut off), else ``passed`` only if every SLO
passed. ``status`` is the harness's own (``completed``, ``interrupted``, ``error``,
``crashed``): the harness working and the system passing are separate facts.

>>> judgement = judge(load_run("reports/latest"))  # doctest: +SKIP
>>> judgement.verdict, [f.lag_ms for f in judgement.faults]  # doctest: +SKIP
(<Status.PASSED: 'passed'>, [2.1])
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from harness.analysis import FaultWindow, Run, to_iso
from harness.data_effects import data_effects
from harness.recovery import Recovery
from harness.regression import Regression, figures, regression
from harness.series import Series, series
from harness.incident import Incident
from harness.slo import Status, Verdict, evaluate, recoveries, resolution_of, run_incident
from harness.timeline.records import BaselineChosen, ProxyServerDied, RunFinished, ServiceDied
from harness.windows import WindowStats, baseline_window, total_stats, window_stats

REPORT_FORMAT = 2
"""``report.json``'s ``format``: 2 since the Judgement (intended starts, 100 ms series)."""


@dataclass(frozen=True)
class FaultOutcome:
    """One injected fault: where it acted, how late it was, how the system recovered."""

    window: FaultWindow
    recovery: Recovery

    def to_json(self, run: Run) -> dict[str, Any]:
        """The fault's entry of ``report.json``."""
        w, r = self.window, self.recovery
        return {"name": w.name, "kind": w.kind, "target": w.target, "instant": w.instant,
                "planned_at": run.iso(w.planned), "injected_at": run.iso(w.start),
                "healed_at": run.iso(w.healed_at), "planned_s": w.planned, "start_s": w.start,
                "end_s": w.end, "window_s": w.end - w.start, "lag_ms": w.lag_ms,
                "revert_ok": w.revert_ok, "recovery_start_s": r.start, "horizon_s": r.horizon,
                "recovered_at_s": r.recovered_at, "recovery_time_s": r.time_s,
                "recovery_measurable": r.measurable, "recovery_note": r.reason}


@dataclass(frozen=True)
class NamedWindow:
    """A window the report shows: the baseline, or one fault's."""

    name: str
    kind: str
    """``baseline`` or ``fault``."""
    stats: WindowStats


@dataclass(frozen=True)
class UnplannedDeath:
    """A death nobody planned (a service, the fault proxy), from the journal."""

    kind: str
    at: float
    """Epoch seconds (the death's own time when known, else the record's)."""
    t_s: float
    """Seconds from load start."""
    phase: str
    service: str | None
    what: str


@dataclass(frozen=True, eq=False)
class Judgement:
    """Everything a run's reports say, typed (see the module docstring)."""

    run: Run
    verdict: Status
    resolution_s: float
    slos: tuple[Verdict, ...]
    faults: tuple[FaultOutcome, ...]
    totals: WindowStats
    windows: tuple[NamedWindow, ...]
    series: Series
    unplanned: tuple[UnplannedDeath, ...]
    error: str | None
    """``run_finished.error``: why the harness itself failed, if it did."""
    incident: Incident | None = None
    """The runbook's fault, steps and detect/mitigate/recover times (None without a runbook)."""
    regression: Regression | None = None
    """The checks against the run's ``--baseline`` (``harness.regression``), if it had one."""

    @property
    def run_id(self) -> str:
        """The run's id (its directory's name)."""
        return self.run.run_id

    @property
    def status(self) -> str:
        """The harness's own outcome (see ``Run.status``)."""
        return self.run.status

    @property
    def integrity(self) -> tuple[str, ...]:
        """Why the run's record is incomplete; empty when complete."""
        return self.run.integrity

    @property
    def scenario(self) -> str:
        """The scenario's name."""
        return self.run.scenario.name

    @property
    def started_at(self) -> str | None:
        """ISO time of the run's header."""
        return to_iso(self.run.header.ts) if self.run.header.ts else None

    def to_json(self) -> dict[str, Any]:
        """The content of ``report.json``."""
        run, header = self.run, self.run.header
        return {
            "format": REPORT_FORMAT, "run_id": self.run_id, "scenario": self.scenario,
            "scenario_file": header.scenario_file or None,
            "seed": header.seed, "backend": header.backend or run.scenario.backend,
            "harness_version": header.harness_version or None, "git_commit": header.git_commit,
            "started_at": self.started_at, "load_started_at": to_iso(run.load_started_at),
            "status": self.status, "error": self.error, "verdict": self.verdict.value,
            "resolution_s": self.resolution_s, "integrity": list(self.integrity),
            "unplanned": [{"kind": u.kind, "at": to_iso(u.at), "t_s": u.t_s, "phase": u.phase,
                           "service": u.service, "what": u.what} for u in self.unplanned],
            "slos": [v.to_dict() for v in self.slos],
            "faults": [f.to_json(run) for f in self.faults],
            "data": data_effects(run.records),
            "requests": {"total": self.totals.requests, **_stats_json(self.totals)},
            "windows": [{"name": w.name, "window": w.kind, **w.stats.to_dict()}
                        for w in self.windows],
            "series": self.series.to_json(),
            "incident": self.incident.to_json() if self.incident else None,
            **({"regression": self.regression.to_json()} if self.regression else {}),
        }


def _stats_json(stats: WindowStats) -> dict[str, Any]:
    out = stats.to_dict()
    for key in ("start_s", "end_s", "requests"):
        del out[key]
    return out


def judge(run: Run, *, resolution: float | None = None) -> Judgement:
    """Judge ``run`` (see the module docstring); ``resolution`` overrides the scenario's."""
    step = resolution_of(run, resolution)
    measured = recoveries(run, resolution=step)
    verdicts = tuple(evaluate(run, measured=measured, resolution=step))
    passed = all(v.status is Status.PASSED for v in verdicts)
    verdict = Status.UNKNOWN if run.integrity else Status.PASSED if passed else Status.FAILED
    finished = next((r for r in run.records if isinstance(r, RunFinished)), None)
    judgement = Judgement(
        run=run, verdict=verdict, resolution_s=step, slos=verdicts,
        faults=tuple(FaultOutcome(f, measured[f.name]) for f in run.faults),
        totals=total_stats(run), windows=_windows(run), series=series(run, step),
        unplanned=_unplanned(run), error=finished.error if finished else None,
        incident=run_incident(run, resolution=step))
    chosen = next((r for r in run.records if isinstance(r, BaselineChosen)), None)
    if chosen is None:
        return judgement
    return replace(judgement, regression=regression(
        chosen.figures, figures(judgement.to_json()), bound=chosen.max_regression,
        baseline_run_id=chosen.baseline_run_id, baseline_dir=chosen.baseline_dir))


def _windows(run: Run) -> tuple[NamedWindow, ...]:
    baseline = NamedWindow("baseline", "baseline", window_stats(run, *baseline_window(run)))
    return (baseline, *(NamedWindow(f.name, "fault", window_stats(run, f.start, f.end))
                        for f in run.faults))


def _unplanned(run: Run) -> tuple[UnplannedDeath, ...]:
    out = []
    for r in run.records:
        if isinstance(r, ServiceDied):
            what, service = f"{r.service} died", r.service
        elif isinstance(r, ProxyServerDied):
            what, service = "the fault proxy server died", r.service
        else:
            continue
        at = r.died_at if r.died_at is not None else r.ts
        out.append(UnplannedDeath(kind=r.kind, at=at, t_s=at - run.load_started_at,
                                  phase=str(r.phase), service=service,
                                  what=f"{what}: {r.reason or 'no reason recorded'}"))
    return tuple(out)
