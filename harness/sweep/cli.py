"""``chaos-harness sweep FILE --param PATH=LOW..HIGH [--runs N]``: each SLO's breaking point.

Writes ``<reports-dir>/<time>-sweep-<name>/``: ``variants/`` (each tried value as a
scenario file), ``runs/`` (their run directories), ``sweep.json`` and ``sweep.html``.
Exit code 0 when the sweep completed (its findings are in the files and on the
console), 2 for a bad file or argument (nothing started), 3 when a run failed, 130
when interrupted.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

DEFAULT_RUNS = 8


def add_parser(commands, backends: list[str]) -> None:
    """Register ``sweep`` on the CLI's sub-command parsers."""
    cmd = commands.add_parser("sweep", help="bisect one scenario value towards each SLO's breaking point")
    cmd.add_argument("scenario")
    cmd.add_argument("--param", required=True, type=_param,
                     help="PATH=LOW..HIGH, e.g. 'faults[0].latency.latency_ms=50..2000'")
    cmd.add_argument("--runs", type=_runs, default=DEFAULT_RUNS,
                     help=f"most real runs, the two ends included (default {DEFAULT_RUNS})")
    cmd.add_argument("--backend", choices=backends, default=None)
    cmd.add_argument("--reports-dir", default="reports")
    cmd.set_defaults(func=sweep_command)


def _param(text: str):
    from harness.sweep.param import parse_param

    try:
        return parse_param(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _runs(text: str) -> int:
    if not text.isdigit() or int(text) < 2:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 2 (the range's two ends; got {text!r})")
    return int(text)


def sweep_command(args: argparse.Namespace) -> int:
    """Check both ends, sweep, write sweep.json and sweep.html, print each breaking point."""
    from harness.errors import InvalidScenario
    from harness.loader import load_scenario
    from harness.located import problem_at
    from harness.sweep.page import describe, sweep_summary, write_sweep
    from harness.sweep.search import Sweeper
    from harness.yamlfile import read_yaml

    source, param = Path(args.scenario), args.param
    scenario = load_scenario(source, backend=args.backend)
    doc = read_yaml(source)
    why = param.check(doc.data)
    if why:
        raise InvalidScenario([problem_at(doc, (), f"--param {param.path_text}: {why}")])
    with tempfile.TemporaryDirectory(prefix="chaos-sweep-") as tmp:  # both ends valid, before any run
        checker = Sweeper(doc.data, source, param, Path(tmp), runs=args.runs)
        for value in (param.low, param.high):
            load_scenario(checker.variant(value, Path(tmp) / "end.yaml"), backend=args.backend)
    out_dir = Path(args.reports_dir) / f"{time.strftime('%Y%m%d-%H%M%S')}-sweep-{scenario.name}"
    out_dir.mkdir(parents=True)
    print(f"sweeping {param.path_text} over {param.value(param.low)}..{param.value(param.high)} "
          f"in at most {args.runs} runs; writing {out_dir}")
    sweeper = Sweeper(doc.data, source, param, out_dir, runs=args.runs, backend=args.backend)
    edges = sweeper.sweep()
    summary = sweep_summary(scenario.name, source, param, sweeper.points, edges)
    write_sweep(summary, param, out_dir)
    for slo in summary["slos"]:
        print(f"  {describe(slo, param.path_text)}")
    print(f"report: {out_dir / 'sweep.html'}")
    return 0
