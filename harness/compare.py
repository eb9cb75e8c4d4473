"""``chaos-harness compare RUN_A RUN_B``: every comparable figure of two runs side by side.

Reads each run's ``report.json`` (``harness.regression.figures``: per-SLO observed
values, per-window error rate, flag rates, latency percentiles and throughput, per-fault
recovery time) into one pandas table with the delta ``B - A`` and the relative change
(against ``max(A, floor)``, as the regression checks measure it). Rendered as a
terminal table and as a self-contained HTML page. With a bound, the figures
``run --baseline`` checks are marked ``regressed`` or ``passed`` too.

pandas is imported here only: never during a run (its import slows the garbage
collector the fault calls hold off, see ``harness.activation``).
"""

from __future__ import annotations

import json
from html import escape
from importlib.resources import files
from pathlib import Path
from string import Template
from typing import TYPE_CHECKING, Any

from harness.regression import Figure, check_key, checked_keys, figures, relative_change

if TYPE_CHECKING:
    import pandas

REPORT_FILE = "report.json"
_GROUPS = {"slo": "SLOs (observed)", "window": "Windows", "fault": "Recovery"}


class NotARun(ValueError):
    """A directory whose ``report.json`` cannot be read (the CLI's exit code 2)."""


def read_report(run_dir: Path) -> dict[str, Any]:
    """``run_dir/report.json`` as a dict; NotARun saying what is wrong."""
    path = Path(run_dir) / REPORT_FILE
    if not Path(run_dir).is_dir():
        raise NotARun(f"{run_dir}: no such run directory")
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotARun(f"{run_dir}: has no {REPORT_FILE} (rebuild it with "
                      f"`chaos-harness report {run_dir}`)") from None
    except (OSError, ValueError) as exc:
        raise NotARun(f"{path}: cannot be read ({exc})") from None
    if not isinstance(report, dict) or report.get("format") != 2:
        raise NotARun(f"{path}: not a report of format 2 (rebuild it with "
                      f"`chaos-harness report {run_dir}`)")
    return report


def comparison(a: dict[str, Any], b: dict[str, Any], bound: float | None = None) -> "pandas.DataFrame":
    """One row per figure either run has a value for: ``group, name, metric, A, B, delta, change``,
    plus each run's SLO status, plus ``check`` (regressed / passed / unknown) when
    ``bound`` is given."""
    import pandas

    fa, fb = figures(a), figures(b)
    status_a = {s["name"]: s["status"] for s in a.get("slos", [])}
    status_b = {s["name"]: s["status"] for s in b.get("slos", [])}
    checked = set(checked_keys(fa, fb)) if bound is not None else set()
    rows = []
    for key in dict.fromkeys([*fa, *fb]):
        figure = Figure.parse(key)
        old, new = fa.get(key), fb.get(key)
        if old is None and new is None:  # an instant fault's window, say
            continue
        row = {"group": figure.group, "name": figure.name, "metric": figure.metric,
               "A": old, "B": new, "delta": None if old is None or new is None else new - old,
               "change": relative_change(figure, old, new),
               "A status": status_a.get(figure.name, "") if figure.group == "slo" else "",
               "B status": status_b.get(figure.name, "") if figure.group == "slo" else ""}
        if bound is not None:
            row["check"] = check_key(key, fa, fb, bound).status if key in checked else ""
        rows.append(row)
    return pandas.DataFrame(rows)


def _shown(table: "pandas.DataFrame") -> "pandas.DataFrame":
    """The table with numbers as text: 4 significant digits, change in %, blanks for None."""
    out = table.copy().astype(object)
    for column in ("A", "B", "delta"):
        out[column] = [("" if v is None or v != v else f"{v:.4g}") for v in table[column]]
    out["change"] = [("" if v is None or v != v else f"{v:+.0%}") for v in table["change"]]
    return out


def _title(a: dict[str, Any], b: dict[str, Any]) -> str:
    return f"A = {a.get('run_id')} ({a.get('verdict')}) · B = {b.get('run_id')} ({b.get('verdict')})"


def render_text(table: "pandas.DataFrame", a: dict[str, Any], b: dict[str, Any]) -> str:
    """The terminal table, one block per group."""
    lines = [_title(a, b)]
    shown = _shown(table)
    for group, heading in _GROUPS.items():
        part = shown[shown["group"] == group].drop(columns="group")
        if group != "slo":
            part = part.drop(columns=["A status", "B status"])
        if part.empty:
            continue
        lines += ["", heading, part.to_string(index=False)]
    return "\n".join(lines) + "\n"


def _marked(html: str) -> str:
    """Statuses coloured as in the run report (``regressed`` and ``failed`` red)."""
    for status, css in (("regressed", "failed"), ("failed", "failed"), ("passed", "passed"),
                        ("unknown", "unknown")):
        html = html.replace(f"<td>{status}</td>", f'<td class="{css}">{status}</td>')
    return html


def render_html(table: "pandas.DataFrame", a: dict[str, Any], b: dict[str, Any]) -> str:
    """A self-contained HTML page (the report's style), one table per group."""
    template = Template(files("harness.reporting").joinpath("report.html").read_text("utf-8"))
    shown = _shown(table)
    body = [f"<h1>{escape(str(a.get('scenario')))}: compare</h1>",
            f"<p class=\"meta\">{escape(_title(a, b))}. delta = B - A; change = delta / "
            f"max(A, floor) (floors: 1 percentage point of error rate, 10 ms of p99 latency, "
            f"1 s of recovery).</p>"]
    for group, heading in _GROUPS.items():
        part = shown[shown["group"] == group].drop(columns="group")
        if group != "slo":
            part = part.drop(columns=["A status", "B status"])
        if not part.empty:
            body += [f"<h2>{escape(heading)}</h2>", _marked(part.to_html(index=False, escape=True, border=0))]
    return template.substitute(title=escape(f"compare {a.get('run_id')} {b.get('run_id')}"),
                               body="\n".join(body))
