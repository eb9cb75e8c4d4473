"""Reports of a finished run: ``report.json``, ``junit.xml`` and ``report.html``.

``build_reports(run_dir)`` reads only ``journal.jsonl`` and ``requests.jsonl`` and writes
one file per registered reporter (``harness.reporting.base.register``), so reports can be
rebuilt offline at any time::

    report = build_reports(Path("reports/latest"))
    report["verdict"]  # "passed" | "failed"
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.analysis import load_run
from harness.reporting import html, json_report, junit  # noqa: F401  (registration)
from harness.reporting.base import Reporter, register, reporters
from harness.reporting.summary import summarize

__all__ = ["Reporter", "build_reports", "register", "reporters", "summarize"]


def build_reports(run_dir: Path) -> dict[str, Any]:
    """Judge the run in ``run_dir``, write every report file there, return the report."""
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    report = summarize(run)
    for filename, reporter in reporters().items():
        (run_dir / filename).write_text(reporter().render(report, run), encoding="utf-8")
    return report
