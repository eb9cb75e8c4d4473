"""Time to detect, mitigate and recover: the runbook's fault read back from a finished run.

All three count from **F**, the moment the runbook's fault took effect (its
``fault_injected.effective_ts``), in seconds:

* **time to detect** = D - F, D the first ``condition_held`` of role ``detect`` (the
  runbook's alert, watched live from F on; ``harness.conditions`` defines "holds");
* **time to mitigate** = M - F, M the moment the last bound runbook step was done,
  provided every bound step was done and succeeded (else not mitigated: None);
* **time to recover** = S - F, S as in ``harness.recovery`` with R = F: the first point
  of the grid F + k·resolution from which the steady state holds over every
  ``steady_state.window`` window until the next fault or the end of the load.

None means it never happened (not detected, not mitigated, not recovered): the SLO
fails, it is never a number. A pure function of the run's records and request log.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.analysis import Run
from harness.recovery import Recovery, measure_recovery
from harness.timeline.records import ConditionHeld, OperatorNote, RunbookStepDone, RunbookStepTriggered


@dataclass(frozen=True)
class StepOutcome:
    """One bound runbook step: when it fired and when it was done (seconds from load start)."""

    step: int
    title: str
    trigger: str
    fired_s: float | None
    done_s: float | None
    ok: bool | None
    by: str | None
    output: str | None = None


@dataclass(frozen=True)
class Incident:
    """The runbook's fault and the three times (see the module docstring)."""

    fault: str
    fault_s: float | None
    detected_s: float | None
    mitigated_s: float | None
    recovery: Recovery | None
    steps: tuple[StepOutcome, ...]
    notes: tuple[tuple[float, str], ...]
    """Operator notes: (seconds from load start, text)."""
    mitigation_note: str = ""

    def _since(self, t: float | None) -> float | None:
        return None if t is None or self.fault_s is None else round(t - self.fault_s, 6)

    @property
    def time_to_detect(self) -> float | None:
        """D - F, seconds; None if never detected."""
        return self._since(self.detected_s)

    @property
    def time_to_mitigate(self) -> float | None:
        """M - F, seconds; None if not mitigated."""
        return self._since(self.mitigated_s)

    @property
    def time_to_recover(self) -> float | None:
        """S - F, seconds; None if not recovered."""
        return None if self.recovery is None else self.recovery.time_s

    def to_json(self) -> dict[str, Any]:
        """The ``incident`` entry of ``report.json``."""
        r = self.recovery
        return {"fault": self.fault, "fault_s": self.fault_s, "detected_s": self.detected_s,
                "mitigated_s": self.mitigated_s, "recovered_s": r.recovered_at if r else None,
                "time_to_detect_s": self.time_to_detect, "time_to_mitigate_s": self.time_to_mitigate,
                "time_to_recover_s": self.time_to_recover, "mitigation_note": self.mitigation_note,
                "recovery_note": r.reason if r else "the fault was never injected",
                "steps": [dataclasses.asdict(s) for s in self.steps],
                "notes": [{"t_s": t, "text": text} for t, text in self.notes]}


def incident(run: Run, *, window_s: float, resolution: float, holds) -> Incident | None:
    """The run's incident (None without a runbook); ``holds`` is the steady state's ``holds_batch``."""
    spec = run.scenario.runbook
    name = run.scenario.runbook_fault
    if spec is None or name is None:
        return None
    zero = run.load_started_at
    window = next((f for f in run.faults if f.name == name), None)
    fault_s = window.start if window else None
    detected = next((r.held_at - zero for r in run.records
                     if isinstance(r, ConditionHeld) and r.role == "detect"), None)
    fired = {r.step: r for r in run.records if isinstance(r, RunbookStepTriggered)}
    done = {r.step: r for r in run.records if isinstance(r, RunbookStepDone)}
    steps = tuple(StepOutcome(step=b.step, title=fired[b.step].title if b.step in fired else "", trigger=b.trigger,
                              fired_s=fired[b.step].ts - zero if b.step in fired else None,
                              done_s=done[b.step].ts - zero if b.step in done else None,
                              ok=done[b.step].ok if b.step in done else None,
                              by=done[b.step].by if b.step in done else None,
                              output=done[b.step].output if b.step in done else None)
                  for b in spec.steps)
    mitigated, why = _mitigated(steps)
    recovery = None
    if window is not None:
        recovery = measure_recovery(run, dataclasses.replace(window, instant=True), window_s=window_s,
                                    resolution=resolution, holds=holds)
    notes = tuple((r.ts - zero, r.text) for r in run.records if isinstance(r, OperatorNote))
    return Incident(fault=name, fault_s=fault_s, detected_s=detected, mitigated_s=mitigated,
                    recovery=recovery, steps=steps, notes=notes, mitigation_note=why)


def _mitigated(steps: tuple[StepOutcome, ...]) -> tuple[float | None, str]:
    for s in steps:
        if s.done_s is None:
            return None, f"step {s.step} was {'never done' if s.fired_s is not None else 'never triggered'}"
        if not s.ok:
            return None, f"step {s.step} failed"
    return max(s.done_s for s in steps), ""
