"""Variants of one scenario file, each written as an ordinary scenario and run for real.

``explore`` and ``sweep`` try many variants of a scenario. Each variant is a scenario
file of its own (its faults replaced or one value changed) that ``chaos-harness run``
replays as it is; :func:`run_trial` validates it with the loader, runs it in this
process and keeps what the search needs from its report. A run a stop condition
(``abort_if``) aborted counts as failed, with the pseudo-SLO ``abort_if``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import InfraError
from harness.loader import load_scenario, resolve_pipeline_dir


@dataclass(frozen=True)
class Outcome:
    """What one real run of a variant showed."""

    verdict: str
    """``passed``, ``failed`` or ``unknown``."""
    run_dir: Path
    seconds: float
    slos: list[dict[str, Any]] = field(default_factory=list)
    """The report's SLO verdicts (name, status, observed, threshold, message)."""

    @property
    def failed(self) -> list[str]:
        """Names of the SLOs that failed."""
        return [s["name"] for s in self.slos if s["status"] == "failed"]


class TrialStopped(InfraError):
    """A trial run did not complete (the harness failed or was interrupted): stop searching."""

    def __init__(self, message: str, *, interrupted: bool = False):
        super().__init__(message)
        self.exit_code = 130 if interrupted else 3


def variant_data(source: dict[str, Any], source_file: Path, dest_dir: Path,
                 **changes: Any) -> dict[str, Any]:
    """``source`` with ``changes`` applied and its ``pipeline`` made to resolve from ``dest_dir``."""
    data = {k: v for k, v in source.items() if k != "explore"}
    pipeline = resolve_pipeline_dir(str(data.get("pipeline", "fixtures/pipeline")), source_file)
    data["pipeline"] = os.path.relpath(pipeline, dest_dir.resolve())
    data.update(changes)
    return data


def write_variant(data: dict[str, Any], path: Path) -> Path:
    """Write ``data`` as a scenario file at ``path`` (keys in their given order)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
    return path


def run_trial(path: Path, *, reports_dir: Path, backend: str | None) -> Outcome:
    """Validate and run the scenario file at ``path``; raise TrialStopped unless it completed."""
    from harness.runner import run_scenario

    scenario = load_scenario(path, backend=backend)
    started = time.monotonic()
    result = run_scenario(scenario, scenario_file=path, reports_dir=reports_dir, backend=backend,
                          log=None)
    if result.status == "interrupted":
        raise TrialStopped(f"interrupted by {', '.join(result.signals)}", interrupted=True)
    seconds = time.monotonic() - started
    if result.status == "aborted":  # a stop condition (abort_if) held: the system broke
        slos = (result.report or {}).get("slos", [])
        stop = {"name": "abort_if", "status": "failed", "observed": None, "threshold": None,
                "message": str(result.error)}
        return Outcome(verdict="failed", run_dir=result.run_dir, seconds=seconds, slos=[*slos, stop])
    if result.status != "completed" or result.report is None:
        raise TrialStopped(f"the run of {path} failed: {result.error} (see {result.run_dir})")
    return Outcome(verdict=result.verdict or "unknown", run_dir=result.run_dir, seconds=seconds,
                   slos=result.report.get("slos", []))
