"""A sweep's files: ``sweep.json`` (every run, each SLO's edge and breaking point) and
``sweep.html`` (the same with one SVG chart per SLO), built from the same summary.
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import Any

from harness.sweep.param import SweepParam
from harness.sweep.plot import slo_chart
from harness.sweep.search import Edge, Point
from harness.units import Threshold

_TEMPLATE = Template(files("harness.reporting").joinpath("report.html").read_text("utf-8"))


def sweep_summary(scenario: str, source: Path, param: SweepParam, points: list[Point],
                  edges: list[Edge]) -> dict[str, Any]:
    """Everything the sweep found, as JSON-ready data."""
    return {
        "format": 1, "scenario": scenario, "scenario_file": str(source), "param": param.path_text,
        "range": [param.value(param.low), param.value(param.high)], "runs": len(points),
        "slos": [{"name": e.slo, "fails": e.fails, "monotone": e.monotone,
                  "threshold": _threshold_text(points, e.slo),
                  "edge": None if e.low is None else [param.value(e.low), param.value(e.high)],
                  "breaking_point": None if e.breaking_point is None else param.value(e.breaking_point),
                  "step": e.step} for e in edges],
        "points": [{"run": p.number, "value": param.value(p.value), "verdict": p.outcome.verdict,
                    "file": str(p.file), "run_dir": str(p.outcome.run_dir),
                    "seconds": round(p.outcome.seconds, 2),
                    "slos": {s["name"]: {"status": s["status"], "observed": s.get("observed")}
                             for s in p.outcome.slos}} for p in points],
    }


def write_sweep(summary: dict[str, Any], param: SweepParam, out_dir: Path) -> None:
    """Write ``sweep.json`` and ``sweep.html`` into ``out_dir``."""
    (out_dir / "sweep.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "sweep.html").write_text(_html(summary, param))


def describe(slo: dict[str, Any], param: str) -> str:
    """One line per SLO: where it breaks along the parameter."""
    fails = slo["fails"]
    if fails in ("nowhere", "everywhere"):
        return f"{slo['name']}: {'holds' if fails == 'nowhere' else 'fails'} over the whole range"
    side = "from" if fails == "above" else "up to"
    caveat = "" if slo["monotone"] else " (not monotone: a verdict flipped back)"
    return (f"{slo['name']} ({slo['threshold']}): fails {side} {param} = {slo['breaking_point']} "
            f"(edge {slo['edge'][0]}..{slo['edge'][1]}, within {slo['step']:g}){caveat}")


def _threshold_text(points: list[Point], name: str) -> str | None:
    return next((s.get("threshold") for p in points for s in p.outcome.slos if s["name"] == name), None)


def _scale(name: str) -> tuple[float, str, str | None]:
    """(scale, unit shown, the metric's unit for Threshold.bound) of an SLO by its name."""
    metric = name.rsplit(".", 1)[-1]
    if metric.endswith("_rate"):
        return 100.0, "%", None
    if metric.endswith("_ms"):
        return 1.0, "ms", "ms"
    if metric == "recovery_time" or name.startswith("recovery_time"):
        return 1.0, "s", "s"
    return 1.0, "", None


def _html(summary: dict[str, Any], param: SweepParam) -> str:
    x_label = "s" if param.duration else ""
    body = [f"<h1>sweep {escape(summary['scenario'])}</h1>",
            f"<p class=\"meta\">{escape(summary['param'])} from {summary['range'][0]} to "
            f"{summary['range'][1]}, {summary['runs']} runs; scenario {escape(summary['scenario_file'])}</p>",
            "<h2>Breaking points</h2><ul>"]
    body += [f"<li>{escape(describe(s, summary['param']))}</li>" for s in summary["slos"]]
    body.append("</ul>")
    for slo in summary["slos"]:
        scale, unit, metric_unit = _scale(slo["name"])
        bound = Threshold.parse(slo["threshold"]).bound(metric_unit) if slo["threshold"] else None
        dots = [(_number(p["value"], param), p["slos"].get(slo["name"], {}).get("observed"),
                 p["slos"].get(slo["name"], {}).get("status") == "passed") for p in summary["points"]]
        edge = None
        if slo["edge"] is not None:
            edge = (_number(slo["edge"][0], param), _number(slo["edge"][1], param),
                    f"breaks at {slo['breaking_point']}")
        body.append(slo_chart(title=f"{slo['name']} ({slo['threshold']})", unit=unit, scale=scale,
                              x_range=(param.low, param.high), x_label=x_label, dots=dots,
                              bound=bound, edge=edge))
    body.append("<h2>Runs</h2><table><thead><tr><th>run</th><th>value</th><th>verdict</th>"
                "<th>failed SLOs</th><th>run directory</th></tr></thead><tbody>")
    for p in summary["points"]:
        failed = ", ".join(n for n, s in p["slos"].items() if s["status"] == "failed")
        body.append(f"<tr><td class=\"num\">{p['run']}</td><td class=\"num\">{p['value']}</td>"
                    f"<td class=\"{escape(p['verdict'])}\">{escape(p['verdict'])}</td>"
                    f"<td>{escape(failed)}</td><td><code>{escape(p['run_dir'])}</code></td></tr>")
    body.append("</tbody></table>")
    return _TEMPLATE.substitute(title=escape(f"sweep {summary['scenario']}"), body="\n".join(body))


def _number(value: Any, param: SweepParam) -> float:
    from harness.units import parse_duration

    return parse_duration(value) if param.duration else float(value)
