"""Reports of a finished run: ``report.json``, ``junit.xml``, ``report.html`` and ``summary.md``.

``write_reports(run_dir)`` reads only the run's files (``journal.jsonl``,
``requests.jsonl``, ``load-events.jsonl``), judges the run (``harness.judge``) and
writes one file per registered reporter (``harness.reporting.base.register``), each
rendered from the Judgement, so reports can be rebuilt offline at any time::

    judgement = write_reports(Path("reports/latest"))
    judgement.verdict  # Status.PASSED | FAILED | UNKNOWN

``build_reports`` does the same and returns ``report.json``'s content (a dict).

The files are written atomically, all or none: each is rendered, written to a temporary
file beside it and fsynced, and only when every one is on disk are they renamed into
place. A full disk leaves the previous reports (or none), never a torn one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from harness.analysis import load_run
from harness.errors import InfraError
from harness.judge import Judgement, judge
from harness.reporting import html, json_report, junit, summary  # noqa: F401  (registration)
from harness.reporting.base import Reporter, register, reporters

__all__ = ["Reporter", "ReportsNotWritten", "build_reports", "register", "reporters",
           "write_reports"]


class ReportsNotWritten(InfraError):
    """The run was judged but its report files could not be written (e.g. a full disk)."""

    def __init__(self, message: str, judgement: Judgement):
        super().__init__(message)
        self.judgement = judgement
        """The Judgement, for a summary on the console."""

    @property
    def report(self) -> dict[str, Any]:
        """``report.json``'s content, as it would have been written."""
        return self.judgement.to_json()


def write_reports(run_dir: Path, *, resolution: float | None = None) -> Judgement:
    """Judge the run in ``run_dir`` (at ``resolution`` s, default the scenario's), write
    every report file there, return the Judgement.

    Raises ReportsNotWritten (holding the Judgement) when the files cannot be written.
    """
    run_dir = Path(run_dir)
    judgement = judge(load_run(run_dir), resolution=resolution)
    texts = {name: reporter().render(judgement) for name, reporter in reporters().items()}
    try:
        _write_all(run_dir, texts)
    except OSError as exc:
        raise ReportsNotWritten(f"{run_dir}: {exc.strerror or exc}", judgement) from exc
    return judgement


def build_reports(run_dir: Path, *, resolution: float | None = None) -> dict[str, Any]:
    """``write_reports``, returning ``report.json``'s content."""
    return write_reports(run_dir, resolution=resolution).to_json()


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
