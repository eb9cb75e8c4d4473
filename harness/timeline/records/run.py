"""Journal records: the run itself."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from harness.timeline.records.base import Record, kind


@kind("run_started")
class RunStarted(Record):
    """The run's header, written first: who ran what, where, with which seed."""

    run_id: str
    scenario: dict[str, Any]
    """The full resolved scenario (YAML shape): what ``check``/``report`` re-judge."""
    seed: int = 0
    backend: str = ""
    scenario_file: str = ""
    harness_version: str = ""
    python: str = ""
    platform: str = ""
    git_commit: str | None = None
    argv: list[str] = field(default_factory=list)
    pid: int | None = None
    cmdline: list[str] | None = None
    flags: list[str] = field(default_factory=list)
    """The pipeline's declared answer flags (``answers.flags``): each is a ``<flag>_rate``."""


@kind("run_finished")
class RunFinished(Record):
    """The run's end: the harness's own status (``completed``, ``interrupted``, ``error``)."""

    status: str
    error: str | None = None
    signals: list[str] = field(default_factory=list)


@kind("baseline_chosen")
class BaselineChosen(Record):
    """``run --baseline``: the earlier run this one is held to, and its figures
    (``harness.regression.figures``), copied so the run is judged from its own files."""

    baseline_run_id: str
    baseline_dir: str
    max_regression: float
    """The bound, a fraction (0.2 is 20 %)."""
    figures: dict[str, float | None] = field(default_factory=dict)


@kind("phase_started")
class PhaseStarted(Record):
    """The run entered the record's ``phase``."""


@kind("signal_received")
class SignalReceived(Record):
    """SIGINT or SIGTERM arrived (its effect depends on the phase)."""

    signal: str
