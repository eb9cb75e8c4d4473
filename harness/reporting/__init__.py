"""Reports of a finished run: ``report.json``, ``junit.xml`` and ``report.html``.

``build_reports(run_dir)`` reads only the run's files (``journal.jsonl``,
``requests.jsonl``, ``load-events.jsonl``) and writes one file per registered reporter
(``harness.reporting.base.register``), so reports can be rebuilt offline at any time::

    report = build_reports(Path("reports/latest"))
    report["verdict"]  # "passed" | "failed" | "unknown"

The files are written atomically, all or none: each is rendered, written to a temporary
file beside it and fsynced, and only when every one is on disk are they renamed into
place. A full disk leaves the previous reports (or none), never a torn one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.errors import InfraError

from harness.analysis import load_run
from harness.reporting import html, json_report, junit  # noqa: F401  (registration)
from harness.reporting.base import Reporter, register, reporters
from harness.reporting.summary import summarize

__all__ = ["Reporter", "ReportsNotWritten", "build_reports", "register", "reporters", "summarize"]


class ReportsNotWritten(InfraError):
    """The run was judged but its report files could not be written (e.g. a full disk)."""

    def __init__(self, message: str, report: dict[str, Any]):
        super().__init__(message)
        self.report = report
        """The judged report, for a summary on the console."""


def build_reports(run_dir: Path) -> dict[str, Any]:
    """Judge the run in ``run_dir``, write every report file there, return the report.

    Raises ReportsNotWritten (holding the report) when the files cannot be written.
    """
    run_dir = Path(run_dir)
    run = load_run(run_dir)
    report = summarize(run)
    texts = {name: reporter().render(report, run) for name, reporter in reporters().items()}
    try:
        _write_all(run_dir, texts)
    except OSError as exc:
        raise ReportsNotWritten(f"{run_dir}: {exc.strerror or exc}", report) from exc
    return report


def _write_all(run_dir: Path, texts: dict[str, str]) -> None:
    """Write every file to a temporary name, then rename them all (see module docstring)."""
    temps: dict[Path, Path] = {}
    try:
        for name, text in texts.items():
            temp = run_dir / f".{name}.{os.getpid()}.tmp"
            temps[temp] = run_dir / name
            with open(temp, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        for temp, final in temps.items():
            os.replace(temp, final)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
