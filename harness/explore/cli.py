"""``chaos-harness explore FILE [--budget RUNS,TIME] [--seed N]``: find a minimal failing schedule.

Writes ``<reports-dir>/<time>-explore-<name>/``: ``tries/`` (every schedule tried, as a
scenario file), ``runs/`` (their run directories), ``hypothesis/`` (the example
database), ``summary.json``, ``summary.md`` and, when a schedule broke an SLO,
``minimal.yaml``. Exit code 1 when one did (the system has a weak spot), 0 when none
did within the budget, 2 for a bad file or argument, 3 when a run failed, 130 when
interrupted.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

from harness.units import parse_duration

DEFAULT_RUNS, DEFAULT_SECONDS = 30, 1800.0


def add_parser(commands, backends: list[str]) -> None:
    """Register ``explore`` on the CLI's sub-command parsers."""
    cmd = commands.add_parser("explore", help="search an explore menu for the smallest fault "
                                              "schedule that breaks an SLO")
    cmd.add_argument("scenario")
    cmd.add_argument("--budget", type=budget, default=budget(""),
                     help="most real runs and/or most wall time, e.g. 20, 10m or 20,10m "
                          f"(default {DEFAULT_RUNS} runs, {DEFAULT_SECONDS / 60:g}m)")
    cmd.add_argument("--seed", type=int, default=None, help="seed of the search (default: the scenario's)")
    cmd.add_argument("--backend", choices=backends, default=None)
    cmd.add_argument("--reports-dir", default="reports")
    cmd.set_defaults(func=explore_command)


def budget(text: str):
    """``--budget``: a run count, a duration, or both separated by a comma."""
    from harness.explore.search import Budget

    runs, seconds = DEFAULT_RUNS, DEFAULT_SECONDS
    for part in filter(None, (p.strip() for p in text.split(","))):
        if re.fullmatch(r"\d+", part):
            runs = int(part)
            if runs < 1:
                raise argparse.ArgumentTypeError("the run count must be at least 1")
        else:
            try:
                seconds = parse_duration(part)
            except ValueError as exc:
                raise argparse.ArgumentTypeError(f"{part!r}: not a run count or a duration ({exc})") from None
            if seconds <= 0:
                raise argparse.ArgumentTypeError("the time budget must be more than 0s")
    return Budget(runs=runs, seconds=seconds)


def explore_command(args: argparse.Namespace) -> int:
    """Load, search, write the summary; the exit code says whether an SLO broke."""
    from harness.explore.search import Explorer
    from harness.explore.source import load_explore
    from harness.explore.summary import MINIMAL_FILE, write_summary
    from harness.explore.strategy import describe

    source = load_explore(Path(args.scenario), backend=args.backend)
    seed = source.scenario.seed if args.seed is None else args.seed
    out_dir = Path(args.reports_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-explore-{source.scenario.name}"
    out_dir.mkdir(parents=True)
    print(f"exploring {args.scenario}: budget {args.budget.runs} runs, {args.budget.seconds:g} s; "
          f"seed {seed}; writing {out_dir}")
    explorer = Explorer(source, out_dir, budget=args.budget, seed=seed, backend=args.backend)
    try:
        exploration = explorer.explore()
    finally:  # what was tried so far is written even when a run failed or was interrupted
        write_summary(explorer.result, source, out_dir, budget=args.budget, seed=seed)
    print(f"{exploration.runs} runs; stopped by: {exploration.stopped_by}; summary: {out_dir / 'summary.md'}")
    if exploration.minimal is None:
        print("no schedule broke an SLO")
        return 0
    print(f"minimal failing schedule: {describe(exploration.minimal.schedule)}")
    print(f"replay: chaos-harness run {out_dir / MINIMAL_FILE}")
    return 1
