"""``chaos-harness``: validate | schema | run | gameday | check | report | compare | init | proxy serve | images build | cleanup.

Exit codes (the same for every command):
    0  done, every SLO held (and, with --baseline, nothing regressed)
    1  an SLO failed (the system under test missed it)
    2  invalid input (scenario file, arguments, a directory that cannot serve); nothing was started
    3  the harness or its environment failed (Docker, proxy, processes, a file it could not write)
    4  every SLO held, but the run regressed against its --baseline by more than --max-regression
    5  aborted: a stop condition of the scenario (``abort_if``) held; every fault was healed at once
  130  interrupted (Ctrl-C / SIGTERM) after healing and tearing down

Generative chaos: ``explore`` (the minimal fault schedule that breaks an SLO; exit 1
when one did) and ``sweep`` (each SLO's breaking point along one value); docs/explore.md.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import traceback
from pathlib import Path

from harness.backends import backend_names
from harness.errors import HarnessError, InvalidScenario
from harness.explore.cli import add_parser as add_explore_parser
from harness.sweep.cli import add_parser as add_sweep_parser

EXIT_OK, EXIT_SLO, EXIT_INVALID, EXIT_INFRA, EXIT_REGRESSED, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 4, 5, 130
_MAX_SEED = 2**63 - 1


class _BadArgument(Exception):
    """A command-line argument that cannot be used: message to stderr, exit code 2."""


def _validate(args: argparse.Namespace) -> int:
    from harness.loader import load_scenario

    code = EXIT_OK
    for path in args.files:
        try:
            scenario = load_scenario(path)
            print(f"{path}: ok ({scenario.name}: {len(scenario.faults)} faults)")
        except InvalidScenario as exc:
            print(str(exc), file=sys.stderr)
            code = EXIT_INVALID
    return code


def _schema(args: argparse.Namespace) -> int:
    from harness.schema import scenario_schema

    print(json.dumps(scenario_schema(), indent=2, sort_keys=True))
    return EXIT_OK


def _run(args: argparse.Namespace) -> int:
    from harness.loader import load_scenario
    from harness.runner import run_scenario

    scenario = load_scenario(args.scenario, backend=args.backend)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.dry_run:
        return _dry_run(scenario, args)
    baseline = _baseline(args, scenario.name)
    _writable_dir(Path(args.reports_dir), "--reports-dir")
    events, view = _live_view(scenario, args.live)
    try:
        result = run_scenario(scenario, scenario_file=Path(args.scenario), reports_dir=Path(args.reports_dir),
                              backend=args.backend, baseline=baseline, events=events,
                              log=view.log if view else print)
    finally:
        if view is not None:
            view.stop()
    return _run_exit_code(result, reproduce=f"chaos-harness run {args.scenario} --seed {scenario.seed} "
                                            f"--backend {args.backend or scenario.backend}")


def _gameday(args: argparse.Namespace) -> int:
    """``gameday SCENARIO``: the run with the operator in the loop (``harness.gameday``)."""
    from functools import partial

    from harness.gameday import ExternalBackend, OperatorConsole, check_url, inject_only, verify_only
    from harness.loader import load_scenario, resolve_pipeline_dir
    from harness.pipeline import load_pipeline
    from harness.runner import Parts, run_scenario

    scenario = load_scenario(args.scenario, backend=args.backend)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    if args.inject_only and args.verify_only:
        raise _BadArgument("--inject-only and --verify-only exclude each other")
    if args.url and not args.verify_only:
        raise _BadArgument("--url is for --verify-only (the pipeline that is already running)")
    _writable_dir(Path(args.reports_dir), "--reports-dir")
    parts = Parts()
    if args.verify_only:
        problem = check_url(args.url or "", scenario.allowed_hosts) if args.url else "--verify-only needs --url"
        if problem:
            raise _BadArgument(problem)
        link = load_pipeline(resolve_pipeline_dir(scenario.pipeline, Path(args.scenario))).load.link
        scenario = verify_only(scenario)
        parts = Parts(backend=partial(ExternalBackend, url=args.url, link=link))
    elif args.inject_only:
        scenario = inject_only(scenario, args.hold)
    events, view = _live_view(scenario, args.live)
    write = view.log if view else print
    if not args.verify_only:
        parts = Parts(operator=OperatorConsole(scenario, write=write, hold=args.inject_only))
        write("game day: answer runbook steps with y/n/note · Enter injects the next fault now · "
              "note TEXT · q quits (heals everything)")
    try:
        result = run_scenario(scenario, scenario_file=Path(args.scenario), reports_dir=Path(args.reports_dir),
                              backend=args.backend, events=events, log=write, parts=parts)
    finally:
        if view is not None:
            view.stop()
    if args.inject_only and result.status == "completed":  # a hold, not a judged run: healed is done
        print(f"held and healed; report: {result.run_dir / 'report.html'}")
        return EXIT_OK
    return _run_exit_code(result, reproduce=f"chaos-harness gameday {args.scenario} --seed {scenario.seed}")


def _live_view(scenario, mode: str):
    """``--live``: the run's events and its live view (None for ``off``), already showing."""
    from harness.liveview import LiveView
    from harness.timeline.events import Events

    events = Events()
    if mode == "off":
        return events, None
    view = LiveView(scenario, tty=None if mode == "auto" else mode == "rich").listen(events)
    return events, view.start()


def _baseline(args: argparse.Namespace, scenario: str):
    """``--baseline RUN_DIR``: the BaselineChosen record to journal, or None; the baseline
    must be a judged run of the same scenario (else _BadArgument, nothing started)."""
    from harness.compare import NotARun, read_report
    from harness.regression import figures
    from harness.timeline.records import BaselineChosen

    if args.baseline is None:
        if args.max_regression is not None:
            raise _BadArgument("--max-regression needs --baseline RUN_DIR")
        return None
    try:
        report = read_report(Path(args.baseline))
    except NotARun as exc:
        raise _BadArgument(f"--baseline {exc}") from None
    if report.get("scenario") != scenario:
        raise _BadArgument(f"--baseline {args.baseline}: a run of scenario {report.get('scenario')!r}, "
                           f"not {scenario!r}")
    return BaselineChosen(baseline_run_id=str(report.get("run_id")),
                          baseline_dir=str(Path(args.baseline).resolve()),
                          max_regression=args.max_regression if args.max_regression is not None else 0.2,
                          figures=figures(report))


def _dry_run(scenario, args: argparse.Namespace) -> int:
    """Print the resolved plan; touch nothing (``harness.dryrun``). Exit 3 if the run would fail."""
    from harness.dryrun import dry_run

    planned = dry_run(scenario, scenario_file=Path(args.scenario), backend=args.backend)
    print("\n".join(planned.lines()))
    return EXIT_INFRA if planned.error else EXIT_OK


def _run_exit_code(result, *, reproduce: str) -> int:
    """Say how the run ended and return its exit code (see the module docstring)."""
    _print_summary(result.report)
    if result.reports_error:
        print(f"the reports could not be written ({result.reports_error}); rebuild them with "
              f"`chaos-harness report {result.run_dir}`", file=sys.stderr)
    else:
        print(f"report: {result.run_dir / 'report.html'}")
    if result.status == "interrupted":
        also = f"; meanwhile: {result.error}" if result.error else ""
        print(f"interrupted by {', '.join(result.signals)}: healed and torn down{also}",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    if result.status == "aborted":
        print(f"{result.error}: every fault healed, the run stopped", file=sys.stderr)
        return EXIT_ABORTED
    if result.status != "completed" or result.report is None:
        why = result.error or "its reports could not be built (see the message above)"
        print(f"the harness failed: {why}", file=sys.stderr)
        return EXIT_INFRA
    if result.reports_error:
        return EXIT_INFRA
    if result.verdict == "unknown":
        print("verdict unknown: the run's record is incomplete (see above)", file=sys.stderr)
        return EXIT_INFRA
    if result.verdict != "passed":
        print(f"reproduce: {reproduce}", file=sys.stderr)
        return EXIT_SLO
    return _regression_exit_code(result.report)


def _regression_exit_code(report: dict) -> int:
    """EXIT_REGRESSED when the report's --baseline checks regressed, else EXIT_OK."""
    if report.get("regression", {}).get("verdict") == "regressed":
        print(f"regressed against baseline {report['regression']['baseline_run_id']} "
              f"(every SLO held)", file=sys.stderr)
        return EXIT_REGRESSED
    return EXIT_OK


def _print_summary(report: dict | None) -> None:
    if not report:
        return
    for slo in report.get("slos", []):
        print(f"  [{slo['status'].upper():7}] {slo['name']}: {slo.get('message', '')}")
    for event in report.get("unplanned", []):
        print(f"  unplanned at t={event['t_s']:.1f} s ({event['phase']}): {event['what']}")
    for problem in report.get("integrity", []):
        print(f"  incomplete record: {problem}")
    regression = report.get("regression")
    if regression:
        print(f"against baseline {regression['baseline_run_id']} "
              f"(max regression +{regression['max_regression']:.0%}):")
        for check in regression["checks"]:
            print(f"  [{check['status'].upper():9}] {check['message']}")
    print(f"verdict: {report.get('verdict')}"
          + (f", {regression['verdict']} against the baseline" if regression else ""))


def _report(args: argparse.Namespace) -> int:
    from harness.journal import JOURNAL_FILE, read_journal
    from harness.reporting import build_reports

    run_dir = Path(args.run_dir)
    if not run_dir.is_dir():
        what = "not a directory" if run_dir.exists() else "no such directory"
        raise _BadArgument(f"{args.command} {run_dir}: {what}")
    if not (run_dir / JOURNAL_FILE).is_file():
        raise _BadArgument(f"{args.command} {run_dir}: not a run directory (it has no {JOURNAL_FILE})")
    if not any(r.get("kind") == "run_started" for r in read_journal(run_dir)):
        raise _BadArgument(f"{args.command} {run_dir}: not a run directory ({JOURNAL_FILE} has "
                           f"no run_started record)")
    report = build_reports(run_dir, resolution=args.resolution)
    _print_summary(report)
    print(f"report: {Path(args.run_dir) / 'report.html'}")
    if args.command == "report":
        return EXIT_OK
    if report["verdict"] == "passed":
        return _regression_exit_code(report)
    return {"unknown": EXIT_INFRA}.get(report["verdict"], EXIT_SLO)


def _compare(args: argparse.Namespace) -> int:
    from harness.compare import NotARun, comparison, read_report, render_html, render_text

    try:
        a, b = read_report(Path(args.run_a)), read_report(Path(args.run_b))
    except NotARun as exc:
        raise _BadArgument(f"compare {exc}") from None
    table = comparison(a, b, args.max_regression)
    print(render_text(table, a, b), end="")
    html = Path(args.html) if args.html else Path(args.run_b) / f"compare-{a.get('run_id')}.html"
    try:
        html.write_text(render_html(table, a, b), encoding="utf-8")
    except OSError as exc:
        raise _BadArgument(f"--html {html}: cannot write there ({exc.strerror or exc})") from None
    print(f"html: {html}")
    regressed = args.max_regression is not None and (table["check"] == "regressed").any()
    return EXIT_REGRESSED if regressed else EXIT_OK


def _init(args: argparse.Namespace) -> int:
    """Write a starter pipeline over a compose file; print what was inferred and what was not."""
    from harness.init import SCENARIO_FILE, init_pipeline

    result = init_pipeline(args.compose_file, args.out)
    print(f"wrote {result.out_dir}/: {', '.join(f.name for f in result.files)}")
    print(f"ingress: {result.ingress}; proxy service: {result.plan.service}")
    for link in result.plan.links:
        print(f"  link {link.name}: {link.caller} -> {link.upstream} (proxy port {link.listen})")
    if result.notes:
        print("could not infer (or only guessed):")
        for note in result.notes:
            print(f"  - {note}")
    print(f"next: chaos-harness validate {result.out_dir / SCENARIO_FILE}")
    return EXIT_OK


def _proxy(args: argparse.Namespace) -> int:
    from harness.proxy import serve_main

    code = serve_main(args.rest)
    return EXIT_INFRA if code == 1 else code  # 1 is Toxiproxy's "cannot listen"; ours is 3


def _images(args: argparse.Namespace) -> int:
    from harness.images import build_main

    return build_main([*map(str, args.pipelines), *(["--rebuild"] if args.rebuild else [])])


def _cleanup(args: argparse.Namespace) -> int:
    from harness.cleanup import FAILED, cleanup

    if Path(args.reports_dir).exists() and not Path(args.reports_dir).is_dir():
        raise _BadArgument(f"--reports-dir {args.reports_dir}: not a directory")
    lines = cleanup(Path(args.reports_dir), run_id=args.run_id)
    for line in lines:
        print(line)
    return EXIT_INFRA if any(FAILED in line for line in lines) else EXIT_OK


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chaos-harness", description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    commands = parser.add_subparsers(dest="command", required=True)
    cmd = commands.add_parser("validate", help="check scenario files without starting anything")
    cmd.add_argument("files", nargs="+")
    cmd.set_defaults(func=_validate)
    commands.add_parser("schema", help="print the scenario JSON Schema").set_defaults(func=_schema)
    cmd = commands.add_parser("run", help="run one scenario and write its reports")
    _scenario_arguments(cmd)
    cmd.add_argument("--dry-run", action="store_true",
                     help="print the resolved plan (times, targets, toxics, data changes); start nothing")
    cmd.add_argument("--live", choices=["auto", "rich", "plain", "off"], default="auto",
                     help="the live view: rich on a terminal, plain status lines otherwise (auto)")
    cmd.add_argument("--baseline", default=None, metavar="RUN_DIR",
                     help="an earlier run of this scenario: exit 4 if recovery time, error rate or "
                          "p99 latency got worse than there by more than --max-regression")
    cmd.add_argument("--max-regression", type=_bound, default=None, metavar="PCT",
                     help="the bound for --baseline, e.g. 20%% (the default) or 0.2")
    cmd.set_defaults(func=_run)
    cmd = commands.add_parser("compare", help="two runs side by side: per-SLO and per-window deltas")
    cmd.add_argument("run_a")
    cmd.add_argument("run_b")
    cmd.add_argument("--html", default=None, metavar="FILE",
                     help="where to write the HTML page (default: RUN_B/compare-<A's run id>.html)")
    cmd.add_argument("--max-regression", type=_bound, default=None, metavar="PCT",
                     help="also mark the --baseline checks; exit 4 if one regressed")
    cmd.set_defaults(func=_compare)
    cmd = commands.add_parser("gameday", help="a game day: the run with the operator in the loop "
                                              "(runbook prompts, notes, inject when ready, quit heals)")
    _scenario_arguments(cmd)
    cmd.add_argument("--inject-only", action="store_true",
                     help="inject every fault at once, hold until Enter or --hold, then heal")
    cmd.add_argument("--hold", type=_hold, default=60.0, help="longest hold of --inject-only (default 60s)")
    cmd.add_argument("--verify-only", action="store_true",
                     help="judge the steady state of a pipeline that is already running (--url)")
    cmd.add_argument("--url", default=None, help="--verify-only: the running pipeline's ingress URL")
    cmd.add_argument("--live", choices=["auto", "rich", "plain", "off"], default="plain",
                     help="the live view (plain status lines by default: they leave the prompts readable)")
    cmd.set_defaults(func=_gameday)
    for name, text in (("check", "re-judge a finished run offline (exit 1 if an SLO failed, "
                                 "3 if its record is incomplete)"),
                       ("report", "rebuild a run's reports from its journal and request log")):
        cmd = commands.add_parser(name, help=text)
        cmd.add_argument("run_dir")
        cmd.add_argument("--resolution", type=_resolution, default=None,
                         help="step of the series and the recovery grid, 10ms to 1s "
                              "(default: the scenario's resolution, else 100ms)")
        cmd.set_defaults(func=_report)
    cmd = commands.add_parser("init", help="write a starter pipeline directory over a team's compose file")
    cmd.add_argument("compose_file")
    cmd.add_argument("--out", default=None, help="new or empty directory (default: chaos/ beside the file)")
    cmd.set_defaults(func=_init)
    cmd = commands.add_parser("proxy", help="the embedded Toxiproxy-API server")
    cmd.add_argument("action", choices=["serve"])
    cmd.add_argument("rest", nargs=argparse.REMAINDER, help="--host, --port, --seed, -config FILE")
    cmd.set_defaults(func=_proxy)
    cmd = commands.add_parser("images", help="build the Docker images locally (no registry)")
    cmd.add_argument("action", choices=["build"])
    cmd.add_argument("pipelines", nargs="*", metavar="PIPELINE_DIR",
                     help="pipelines whose docker.images to build too (default: fixtures/*/ here)")
    cmd.add_argument("--rebuild", action="store_true")
    cmd.set_defaults(func=_images)
    cmd = commands.add_parser("cleanup", help="remove whatever an interrupted or killed run left")
    cmd.add_argument("--reports-dir", default="reports")
    cmd.add_argument("--run-id", default=None)
    cmd.set_defaults(func=_cleanup)
    add_explore_parser(commands, backend_names())
    add_sweep_parser(commands, backend_names())
    return parser


def _seed(text: str) -> int:
    """``--seed``: an integer in the scenario's range, 0 to 2**63 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an integer (got {text!r})") from None
    if not 0 <= value <= _MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be between 0 and 2**63 - 1 (got {text})")
    return value


def _bound(text: str) -> float:
    """``--max-regression``: ``20%`` or ``0.2``."""
    from harness.regression import parse_bound

    try:
        return parse_bound(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _scenario_arguments(cmd: argparse.ArgumentParser) -> None:
    """The arguments every command that runs one scenario takes (``run``, ``gameday``)."""
    cmd.add_argument("scenario")
    cmd.add_argument("--backend", choices=backend_names(), default=None)
    cmd.add_argument("--reports-dir", default="reports")
    cmd.add_argument("--seed", type=_seed, default=None, help="override the scenario's seed")


def _duration_between(low: float, high: float, bounds: str):
    """An argparse type: a duration (``300ms``, ``2s``) from ``low`` to ``high`` seconds."""

    def parse(text: str) -> float:
        from harness.units import parse_duration

        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {bounds} (got {text})")
        return value

    return parse


_hold = _duration_between(1.0, 3600.0, "1s and 1h")
"""``--hold``: a duration from 1 s to 1 h, in seconds."""
_resolution = _duration_between(0.01, 1.0, "10ms and 1s")
"""``--resolution``: a duration from 10 ms to 1 s, in seconds."""


def _writable_dir(path: Path, option: str) -> None:
    """Make sure ``path`` is (or can become) a directory we can write in; else _BadArgument."""
    if path.exists() and not path.is_dir():
        raise _BadArgument(f"{option} {path}: not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise _BadArgument(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``chaos-harness`` console script; see the exit codes above."""
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except InvalidScenario as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INVALID
    except _BadArgument as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except HarnessError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except OSError as exc:  # a file or directory the environment would not give us
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INFRA
    except Exception as exc:  # a bug: never exit 1 ("SLO failed") for it
        print(f"error: internal error of chaos-harness ({type(exc).__name__}: {exc}); "
              f"please report it with the lines below", file=sys.stderr)
        traceback.print_exc(limit=-3)
        return EXIT_INFRA


if __name__ == "__main__":
    sys.exit(main())
