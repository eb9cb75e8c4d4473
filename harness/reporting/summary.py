"""``summary.md``: the run for people, fit for a pull-request comment or a game-day write-up.

What was injected, what broke (each fault's window against the baseline), how long
each phase took (detect / mitigate / recover with a runbook, each fault's recovery),
the runbook's steps and the operator's notes, and which SLOs failed. Rendered from the
Judgement like every report; Markdown special characters in values are escaped.
"""

from __future__ import annotations

import re
from typing import Any

from harness.judge import Judgement
from harness.reporting.base import Reporter, register
from harness.slo import Status

_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|#])")


def md(value: Any) -> str:
    """``value`` as Markdown text, its special characters escaped."""
    return _SPECIAL.sub(r"\\\1", "" if value is None else str(value))


def _s(value: float | None) -> str:
    return "never" if value is None else f"{value:.2f} s"


def _rate(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.0f} ms"


@register
class SummaryReporter(Reporter):
    """Writes ``summary.md``."""

    filename = "summary.md"

    def render(self, j: Judgement) -> str:
        """The whole Markdown text."""
        header = j.run.header
        failed = [v for v in j.slos if v.status is not Status.PASSED]
        lines = [f"# {md(j.scenario)}: {j.verdict.value.upper()}", "",
                 f"Run `{j.run_id}` · {md(header.backend)} backend · seed {header.seed} · started {md(j.started_at)} · "
                 f"harness status **{md(j.status)}**" + (f": {md(j.error)}" if j.error else ""), ""]
        lines += self._injected(j) + self._broke(j) + self._phases(j) + self._runbook(j)
        lines += ["## SLOs", ""]
        if failed:
            lines += [f"{len(failed)} of {len(j.slos)} did not pass:", ""]
            lines += [f"- **{md(v.name)}** ({v.status.value}, bound {md(v.threshold)}): {md(v.message)}"
                      for v in failed]
        else:
            lines.append(f"All {len(j.slos)} passed.")
        lines += ["", f"Full report: `report.html` · data: `report.json` · run: `{j.run_id}`", ""]
        return "\n".join(lines)

    def _injected(self, j: Judgement) -> list[str]:
        out = ["## What was injected", ""]
        if not j.faults:
            return out + ["Nothing (a steady-state run).", ""]
        for f in j.faults:
            w = f.window
            healed = "never healed" if w.healed_at is None else f"healed at t={w.healed_at:.2f} s"
            lag = "" if w.lag_ms is None else f", {w.lag_ms:.1f} ms late"
            what = "instant" if w.instant else healed
            out.append(f"- **{md(w.name)}**: {md(w.kind)} on {md(w.target)} at t={w.start:.2f} s{lag}; {what}")
        return out + [""]

    def _broke(self, j: Judgement) -> list[str]:
        out = ["## What broke", "", "| window | requests | error rate | p99 | flags |", "| --- | --- | --- | --- | --- |"]
        for w in j.windows:
            s = w.stats
            flags = ", ".join(f"{md(flag)} {_rate(s.flag_rate(flag))}" for flag in s.flags) or "–"
            out.append(f"| {md(w.name)} | {s.requests} | {_rate(s.metric('error_rate'))} | "
                       f"{_ms(s.metric('p99_ms'))} | {flags} |")
        out += [f"- unplanned at t={u.t_s:.2f} s: {md(u.what)}" for u in j.unplanned]
        return out + [""]

    def _phases(self, j: Judgement) -> list[str]:
        out = ["## How long each phase took", ""]
        inc = j.incident
        if inc is not None:
            out += [f"From **{md(inc.fault)}** taking effect" + (f" at t={inc.fault_s:.2f} s:" if inc.fault_s else ":"),
                    "", "| detect | mitigate | recover |", "| --- | --- | --- |",
                    f"| {_s(inc.time_to_detect)} | {_s(inc.time_to_mitigate)} | {_s(inc.time_to_recover)} |", ""]
            if inc.mitigation_note:
                out += [f"Not mitigated: {md(inc.mitigation_note)}.", ""]
        for f in j.faults:
            r = f.recovery
            text = _s(r.time_s) if r.time_s is not None else f"not recovered ({md(r.reason)})"
            out.append(f"- recovery after {md(f.window.name)}: {text}")
        return out + [""]

    def _runbook(self, j: Judgement) -> list[str]:
        inc = j.incident
        if inc is None:
            return []
        out = ["## Runbook", "", "| step | trigger | fired | done | outcome |", "| --- | --- | --- | --- | --- |"]
        for s in inc.steps:
            outcome = "never done" if s.ok is None else ("done" if s.ok else "failed") + f" ({md(s.by)})"
            fired = "–" if s.fired_s is None else f"t={s.fired_s:.2f} s"
            done = "–" if s.done_s is None else f"t={s.done_s:.2f} s"
            out.append(f"| {s.step}. {md(s.title)} | {md(s.trigger)} | {fired} | {done} | {outcome} |")
        if inc.notes:
            out += ["", "Operator notes:", ""] + [f"- t={t:.2f} s: {md(text)}" for t, text in inc.notes]
        return out + [""]
