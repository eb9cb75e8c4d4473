"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no links).

Shows the verdict (and why the record is incomplete, if it is), request totals (due,
sent, latency from intended start and service time), the series as step charts at the
judged resolution with fault windows shaded, unplanned deaths marked and, with a
runbook, its steps, the operator's notes and detect / mitigate / recover marked; the
incident (the three times, each runbook step, the notes), the SLO table, the
unplanned deaths, the faults (with each one's injection lag and recovery), the windows
and the whole journal. Every value is escaped.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from string import Template
from typing import Any, Iterable

from harness.analysis import to_iso
from harness.judge import Judgement
from harness.reporting.base import Reporter, register
from harness.reporting.svg import Band, Mark, Series, step_chart
from harness.windows import WindowStats

_TEMPLATE = Template(files("harness.reporting").joinpath("report.html").read_text("utf-8"))
_STATS = ("requests", "sent", "errors", "error_rate", "p50_ms", "p95_ms",
          "p99_ms", "service_p50_ms", "service_p99_ms", "throughput_rps")
"""The fixed columns of the windows table; each flag's ``<flag>_rate`` follows."""
_FLAG_COLORS = ("#7c3aed", "#d97706", "#0891b2", "#db2777", "#65a30d", "#4b5563")


@register
class HtmlReporter(Reporter):
    """Writes the human report."""

    filename = "report.html"

    def render(self, judgement: Judgement) -> str:
        """The whole HTML page."""
        title = f"{judgement.scenario}: {judgement.verdict.value} ({judgement.run_id})"
        body = "\n".join([_header(judgement), _glance(judgement), _charts(judgement), _incident(judgement),
                          _slo_table(judgement),
                          _regression_table(judgement), _unplanned_table(judgement), _fault_table(judgement),
                          _windows_table(judgement), _journal_table(judgement)])
        return _TEMPLATE.substitute(title=escape(title), body=body)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _table(headers: Iterable[str], rows: Iterable[Iterable[Any]], css: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(c) for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _cell(value: Any) -> str:
    if isinstance(value, tuple):  # (text, css class)
        return f'<td class="{escape(value[1])}">{escape(_fmt(value[0]))}</td>'
    css = ' class="num"' if isinstance(value, (int, float)) else ""
    return f"<td{css}>{escape(_fmt(value))}</td>"


_CORRECTNESS = ("golden_accuracy", "silent_wrong_rate", "prediction_drift_psi", "prediction_drift_ks")


def _stats_header(stats: WindowStats) -> list[str]:
    return [*_STATS, *(f"{flag}_rate" for flag in stats.flags),
            *(_CORRECTNESS if stats.correctness else ())]


def _stats_row(stats: WindowStats) -> list[Any]:
    return ([stats.metric(key) for key in _STATS] + [stats.flag_rate(flag) for flag in stats.flags]
            + [stats.correctness.get(key) for key in (_CORRECTNESS if stats.correctness else ())])


def _header(j: Judgement) -> str:
    header = j.run.header
    meta = (f"run {j.run_id} · seed {header.seed} · backend {header.backend} · "
            f"started {j.started_at} · harness status {j.status} · "
            f"resolution {j.resolution_s * 1000:g} ms")
    error = f"<p class=\"failed\">{escape(str(j.error))}</p>" if j.error else ""
    error += "".join(f"<p class=\"unknown\">incomplete record: {escape(problem)}</p>"
                     for problem in j.integrity)
    error += "".join(f"<p class=\"failed\">unplanned at t={u.t_s:.2f} s: {escape(u.what)}</p>"
                     for u in j.unplanned)
    totals = _table([*_stats_header(j.totals), "duration_s"], [[*_stats_row(j.totals), j.totals.duration_s]])
    verdict = escape(j.verdict.value)
    return (f"<h1>{escape(j.scenario)} <span class=\"badge {verdict}\">{verdict}</span></h1>"
            f"<p class=\"meta\">{escape(meta)}</p>{error}{totals}"
            f"<p class=\"meta\">Latency is from each request's intended start (its user's "
            f"schedule); service time from sending. Requests counts every request due, "
            f"sent or not.</p>")


def _charts(j: Judgement) -> str:
    s, x_max = j.series, j.run.duration_s
    bands = [Band(f.window.start, f.window.end, f.window.name) for f in j.faults]
    bands += [Band(u.t_s, u.t_s, f"{u.service or 'fault proxy'} died (unplanned)")
              for u in j.unplanned]
    starts, ends = s.start_s.tolist(), s.end_s.tolist()

    columns = s.columns()

    def steps(column: str) -> list[tuple[float, float, float | None]]:
        values = columns[column].tolist()
        return [(a, b, None if v != v else v) for a, b, v in zip(starts, ends, values)]

    def chart(title: str, unit: str, scale: float, *series: tuple[str, str, str]) -> str:
        return step_chart(title=title, bands=bands, x_max=x_max, unit=unit, scale=scale, marks=marks,
                          series=[Series(label, color, steps(key)) for label, color, key in series])

    marks = incident_marks(j)

    every = f"per {j.resolution_s * 1000:g} ms"
    return "<h2>Timeline</h2>" + "\n".join([
        chart(f"Latency from intended start {every} (ms)", "", 1.0,
              ("p50", "#2563eb", "p50_ms"), ("p99", "#dc2626", "p99_ms")),
        chart(f"Service time {every} (ms)", "", 1.0,
              ("p50", "#60a5fa", "service_p50_ms"), ("p99", "#f87171", "service_p99_ms")),
        chart(f"Error rate {every}", "%", 100.0, ("errors", "#dc2626", "error_rate")),
        *([chart(f"Flag rates {every}", "%", 100.0,
                 *((flag, _FLAG_COLORS[i % len(_FLAG_COLORS)], f"{flag}_rate")
                   for i, flag in enumerate(s.flags)))] if s.flags else []),
        chart("Throughput (requests sent/s)", "", 1.0, ("rps", "#059669", "throughput_rps")),
        *_correctness_chart(j, bands, marks),
    ])


def _correctness_chart(j: Judgement, bands: list[Band], marks: list) -> list[str]:
    """The golden answers per second: right, and silently wrong (200, no flag, wrong)."""
    from harness.correctness import correctness_steps

    steps = correctness_steps(j.run.golden, j.run.duration_s)
    if not steps:
        return []
    return [step_chart(title="Golden answers per 1 s: right and silently wrong", bands=bands,
                       x_max=j.run.duration_s, unit="%", scale=100.0, marks=marks,
                       series=[Series("golden_accuracy", "#059669", steps["golden_accuracy"]),
                               Series("silent_wrong_rate", "#dc2626", steps["silent_wrong_rate"])])]


def _glance(j: Judgement) -> str:
    """One line: which SLOs failed, and whether only correctness ones did (a silent failure)."""
    failed = [v.name for v in j.slos if v.status.value == "failed"]
    if not failed:
        return ""
    correctness = ("golden_accuracy", "silent_wrong_rate", "prediction_drift_psi", "prediction_drift_ks")
    silent = all(name.endswith(correctness) for name in failed)
    passed = sum(v.status.value == "passed" for v in j.slos)
    note = (" — every other SLO (latency, errors, flags) passed: the answers went wrong "
            "without a status code or a flag saying so" if silent else "")
    return (f"<p class=\"failed\">Failed: {escape(', '.join(failed))} ({passed} of {len(j.slos)} passed)"
            f"{escape(note)}</p>")


def incident_marks(j: Judgement) -> list[Mark]:
    """The runbook's steps, the operator's notes and detect / mitigate / recover, in time."""
    inc = j.incident
    if inc is None:
        return []
    marks = [Mark(s.done_s, f"step {s.step} {'done' if s.ok else 'failed'}", "step")
             for s in inc.steps if s.done_s is not None]
    marks += [Mark(t, f"note: {text[:40]}", "note") for t, text in inc.notes]
    recovered = inc.recovery.recovered_at if inc.recovery and inc.time_to_recover is not None else None
    for kind, label, t in (("detect", "detected", inc.detected_s), ("mitigate", "mitigated", inc.mitigated_s),
                           ("recover", "recovered", recovered)):
        if t is not None:
            marks.append(Mark(t, label, kind))
    return sorted(marks, key=lambda m: m.t)


def _incident(j: Judgement) -> str:
    inc = j.incident
    if inc is None:
        return ""

    def t(value: float | None) -> str:
        return "never" if value is None else f"{value:.2f} s"
    phases = _table(["fault", "took effect t s", "time to detect", "time to mitigate", "time to recover"],
                    [[inc.fault, inc.fault_s, t(inc.time_to_detect), t(inc.time_to_mitigate), t(inc.time_to_recover)]])
    steps = _table(["step", "title", "trigger", "fired t s", "done t s", "outcome", "by", "output"],
                   [[s.step, s.title, s.trigger, s.fired_s, s.done_s,
                     ("never done", "unknown") if s.ok is None else ("done", "passed") if s.ok else ("failed", "failed"),
                     s.by, s.output] for s in inc.steps])
    notes = _table(["t s", "note"], [[at, text] for at, text in inc.notes]) if inc.notes else ""
    return ("<h2>Incident: detect, mitigate, recover</h2>"
            "<p class=\"meta\">From the moment the runbook's fault took effect: detection is its alert "
            "first holding, mitigation the last runbook step done, recovery the steady state holding for good "
            "(docs/runbooks.md).</p>" + phases + "<h3>Runbook steps</h3>" + steps
            + ("<h3>Operator notes</h3>" + notes if notes else ""))


def _slo_table(j: Judgement) -> str:
    rows = [[v.name, (v.status.value, v.status.value), v.observed, v.threshold, v.message]
            for v in j.slos]
    return "<h2>SLOs</h2>" + _table(["SLO", "status", "observed", "threshold", "message"], rows)


def _regression_table(j: Judgement) -> str:
    r = j.regression
    if r is None:
        return ""
    css = {"passed": "passed", "regressed": "failed", "unknown": "unknown"}
    rows = [[c.figure.name, c.figure.metric, (c.status, css[c.status]), c.baseline, c.observed,
             "" if c.change is None else f"{c.change:+.0%}", c.message] for c in r.checks]
    heading = (f"<h2>Against baseline {escape(r.baseline_run_id)} "
               f"<span class=\"badge {css[r.verdict]}\">{escape(r.verdict)}</span></h2>"
               f"<p class=\"meta\">Bound: +{r.max_regression:.0%} over the baseline's value "
               f"(at least 1 percentage point of error rate, 10 ms of p99, 1 s of recovery). "
               f"Separate from the SLO verdict: exit code 4 when only this failed.</p>")
    return heading + _table(["window / fault", "metric", "status", "baseline", "observed",
                             "change", "message"], rows)


def _unplanned_table(j: Judgement) -> str:
    if not j.unplanned:
        return ""
    rows = [[to_iso(u.at), u.t_s, u.phase, u.kind, u.what] for u in j.unplanned]
    return "<h2>Unplanned deaths</h2>" + _table(["time", "t s", "phase", "kind", "what"], rows)


def _fault_table(j: Judgement) -> str:
    rows = []
    for f in j.faults:
        w, r = f.window, f.recovery
        rows.append([w.name, w.kind, _fmt(w.target), w.planned, w.start, w.lag_ms, w.healed_at,
                     w.end - w.start, r.time_s, r.reason])
    return "<h2>Faults</h2>" + _table(
        ["fault", "kind", "target", "planned t s", "took effect t s", "lag ms", "healed t s",
         "window s", "recovery s", "note"], rows)


def _windows_table(j: Judgement) -> str:
    rows = [[w.name, w.stats.start_s, w.stats.end_s, *_stats_row(w.stats)] for w in j.windows]
    return "<h2>Windows</h2>" + _table(["window", "start_s", "end_s", *_stats_header(j.totals)], rows)


def _journal_table(j: Judgement) -> str:
    rows = []
    for record in j.run.records:
        data = record.to_json()
        details = {k: v for k, v in data.items() if k not in ("ts", "t", "kind", "phase")}
        if isinstance(details.get("scenario"), dict):
            details["scenario"] = details["scenario"].get("name")
        rows.append([to_iso(record.ts) if record.ts else None, record.t, data["kind"],
                     str(record.phase), json.dumps(details, default=str)])
    return "<h2>Journal</h2>" + _table(["time", "t", "kind", "phase", "details"], rows,
                                       "journal")
