"""An exploration's files: ``minimal.yaml``, ``summary.json`` and ``summary.md``.

``minimal.yaml`` is an ordinary scenario (the explore file's settings, the minimal
failing schedule as its ``faults``) that ``chaos-harness run`` replays; the summary says
what was tried, each run's verdict and which SLOs failed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.explore.search import Budget, Exploration, Trial
from harness.explore.source import ExploreSource
from harness.explore.strategy import describe
from harness.trials import variant_data, write_variant

MINIMAL_FILE = "minimal.yaml"


def write_summary(exploration: Exploration, source: ExploreSource, out_dir: Path, *,
                  budget: Budget, seed: int) -> dict[str, Any]:
    """Write the exploration's files into ``out_dir``; return the summary."""
    minimal = exploration.minimal
    summary: dict[str, Any] = {
        "format": 1, "scenario": source.scenario.name, "explore_file": str(source.path), "seed": seed,
        "budget": {"runs": budget.runs, "seconds": budget.seconds}, "runs": exploration.runs,
        "stopped_by": exploration.stopped_by, "not_run_after_budget": exploration.not_run,
        "trials": [_trial(t, out_dir) for t in exploration.trials],
        "minimal": None,
    }
    if minimal is not None:
        data = variant_data(source.data, source.path, out_dir, name=f"{source.scenario.name}-minimal",
                            description=f"Minimal failing schedule found by chaos-harness explore "
                                        f"(try {minimal.number}): {describe(minimal.schedule)}",
                            faults=minimal.schedule)
        write_variant(data, out_dir / MINIMAL_FILE)
        summary["minimal"] = {**_trial(minimal, out_dir), "scenario_file": MINIMAL_FILE}
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    (out_dir / "summary.md").write_text(_markdown(summary))
    return summary


def _trial(trial: Trial, out_dir: Path) -> dict[str, Any]:
    outcome = trial.outcome
    return {"try": trial.number, "schedule": trial.schedule, "faults": len(trial.schedule),
            "described": describe(trial.schedule),
            "file": str(trial.file.relative_to(out_dir)) if trial.file else None,
            "verdict": outcome.verdict if outcome else None,
            "failed_slos": outcome.failed if outcome else [],
            "slos": {s["name"]: s.get("message", "") for s in outcome.slos} if outcome else {},
            "run_dir": str(outcome.run_dir) if outcome else None,
            "seconds": round(outcome.seconds, 2) if outcome else None,
            "skipped": trial.skipped}


def _markdown(summary: dict[str, Any]) -> str:
    lines = [f"# explore {summary['scenario']}", "",
             f"{summary['runs']} runs (budget {summary['budget']['runs']} runs, "
             f"{summary['budget']['seconds']:g} s), seed {summary['seed']}, "
             f"stopped by: {summary['stopped_by']}.", "",
             "| try | faults | schedule | verdict | failed SLOs |", "| --- | --- | --- | --- | --- |"]
    for t in summary["trials"]:
        verdict = t["verdict"] or f"not run ({t['skipped']})"
        lines.append(f"| {t['try']} | {t['faults']} | {t['described']} | {verdict} | "
                     f"{', '.join(t['failed_slos'])} |")
    minimal = summary["minimal"]
    lines.append("")
    if minimal is None:
        lines.append("No schedule broke an SLO within the budget.")
    else:
        lines += [f"**Minimal failing schedule** (try {minimal['try']}, {minimal['faults']} faults): "
                  f"{minimal['described']}", "",
                  *(f"- {name}: {message}" for name, message in minimal["slos"].items()), "",
                  f"Replay: `chaos-harness run {minimal['scenario_file']}` (in this directory)."]
    return "\n".join(lines) + "\n"
