"""``report.html``: one self-contained page (inline CSS and SVG, no scripts, no links).

Shows the verdict (and why the record is incomplete, if it is), request totals,
per-second charts with fault windows shaded and unplanned deaths marked, the SLO table,
the unplanned deaths, the faults, the windows and the whole journal. Every value is
escaped.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from string import Template
from typing import Any, Iterable

from harness.analysis import Run, to_iso
from harness.reporting.base import Reporter, register
from harness.reporting.svg import Band, Series, line_chart

_TEMPLATE = Template(files("harness.reporting").joinpath("report.html").read_text("utf-8"))
_JOURNAL_KEYS = ("ts", "t", "kind", "phase")


@register
class HtmlReporter(Reporter):
    """Writes the human report."""

    filename = "report.html"

    def render(self, report: dict[str, Any], run: Run) -> str:
        """The whole HTML page."""
        title = f"{report['scenario']}: {report['verdict']} ({report['run_id']})"
        body = "\n".join([_header(report), _charts(report), _slo_table(report),
                          _unplanned_table(report), _fault_table(report),
                          _windows_table(report), _journal_table(run)])
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


def _header(report: dict[str, Any]) -> str:
    meta = (f"run {report['run_id']} · seed {report['seed']} · backend {report['backend']} · "
            f"started {report['started_at']} · harness status {report['status']}")
    error = f"<p class=\"failed\">{escape(str(report['error']))}</p>" if report["error"] else ""
    error += "".join(f"<p class=\"unknown\">incomplete record: {escape(problem)}</p>"
                     for problem in report["integrity"])
    error += "".join(f"<p class=\"failed\">unplanned at t={event['t_s']:.1f} s: "
                     f"{escape(event['what'])}</p>" for event in report["unplanned"])
    req = report["requests"]
    totals = _table(["requests", "errors", "error rate", "fallback rate", "p50 ms", "p95 ms",
                     "p99 ms", "throughput rps", "duration s"],
                    [[req["total"], req["errors"], req["error_rate"], req["fallback_rate"],
                      req["p50_ms"], req["p95_ms"], req["p99_ms"], req["throughput_rps"],
                      req["duration_s"]]])
    return (f"<h1>{escape(report['scenario'])} "
            f"<span class=\"badge {escape(report['verdict'])}\">{escape(report['verdict'])}"
            f"</span></h1><p class=\"meta\">{escape(meta)}</p>{error}{totals}")


def _charts(report: dict[str, Any]) -> str:
    rows, x_max = report["timeline"], report["requests"]["duration_s"]
    bands = [Band(f["start_s"], f["end_s"], f["name"]) for f in report["faults"]]
    bands += [Band(e["t_s"], e["t_s"], f"{e['service'] or 'fault proxy'} died (unplanned)")
              for e in report["unplanned"]]

    def points(key: str) -> list[tuple[float, float | None]]:
        return [((r["start_s"] + r["end_s"]) / 2, r[key]) for r in rows]

    def chart(title: str, unit: str, scale: float, *series: tuple[str, str, str]) -> str:
        return line_chart(title=title, bands=bands, x_max=x_max, unit=unit, scale=scale,
                          series=[Series(label, color, points(key))
                                  for label, color, key in series])

    return "<h2>Timeline</h2>" + "\n".join([
        chart("Latency per second (ms)", "", 1.0,
              ("p50", "#2563eb", "p50_ms"), ("p99", "#dc2626", "p99_ms")),
        chart("Error rate per second", "%", 100.0, ("errors", "#dc2626", "error_rate")),
        chart("Fallback rate per second", "%", 100.0, ("fallback", "#7c3aed", "fallback_rate")),
        chart("Throughput (requests/s)", "", 1.0, ("rps", "#059669", "throughput_rps")),
    ])


def _slo_table(report: dict[str, Any]) -> str:
    rows = [[s["name"], (s["status"], s["status"]), s["observed"], s["threshold"],
             s["message"]] for s in report["slos"]]
    return "<h2>SLOs</h2>" + _table(["SLO", "status", "observed", "threshold", "message"],
                                    rows)


def _unplanned_table(report: dict[str, Any]) -> str:
    if not report["unplanned"]:
        return ""
    rows = [[e["at"], e["t_s"], e["phase"], e["kind"], e["what"]] for e in report["unplanned"]]
    return "<h2>Unplanned deaths</h2>" + _table(["time", "t s", "phase", "kind", "what"], rows)


def _fault_table(report: dict[str, Any]) -> str:
    rows = [[f["name"], f["kind"], _fmt(f["target"]), f["injected_at"], f["healed_at"],
             f["window_s"], f["recovery_time_s"], f["recovery_note"]]
            for f in report["faults"]]
    return "<h2>Faults</h2>" + _table(["fault", "kind", "target", "injected at",
                                       "healed at", "window s", "recovery s", "note"], rows)


def _windows_table(report: dict[str, Any]) -> str:
    keys = ["start_s", "end_s", "requests", "error_rate", "fallback_rate", "p50_ms",
            "p95_ms", "p99_ms", "throughput_rps"]
    rows = [[w["name"], *(w[k] for k in keys)] for w in report["windows"]]
    return "<h2>Windows</h2>" + _table(["window", *keys], rows)


def _journal_table(run: Run) -> str:
    rows = []
    for record in run.journal:
        details = {k: v for k, v in record.items() if k not in _JOURNAL_KEYS}
        if isinstance(details.get("scenario"), dict):
            details["scenario"] = details["scenario"].get("name")
        ts = record.get("ts")
        rows.append([to_iso(ts) if isinstance(ts, (int, float)) else ts, record.get("t"),
                     record.get("kind"), record.get("phase"),
                     json.dumps(details, default=str)])
    return "<h2>Journal</h2>" + _table(["time", "t", "kind", "phase", "details"], rows,
                                       "journal")
