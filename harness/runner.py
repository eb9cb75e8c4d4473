"""The runner: the one module that owns the order of a run.

Phases, in order (each journaled before it acts)::

    setup     run directory, journal header, backend.up() (proxies, services, health)
    baseline  the pipeline's declared probe through the ingress must pass; the live
              watchers (``abort_if``, the runbook) subscribe; Locust load starts
    inject    faults injected and reverted on the plan's clock (``harness.plan``: each
              prepared ahead, then ONE call at its planned time)
    recover   load runs to its end with no fault active
    teardown  remaining faults reverted, load stopped, pipeline down  <- ALWAYS:
              success, SLO failure, exception, Ctrl-C or SIGTERM (one ExitStack, LIFO)
    analyze   reports built from journal.jsonl + requests.jsonl alone (written atomically)

SIGINT and SIGTERM behave alike at every phase (``harness.interrupts``): before
teardown they stop the run at once; from teardown on they are noted and the healing
and the reports finish; either way the status is ``interrupted``. The fault proxy's
death aborts the run at once (``RunAborted``); a journal that cannot be written (a
full disk) ends it at the next step.

Everything the run acts through is in :class:`Parts` (clock, backend, load, probe):
the real ones by default, fakes in the runner's unit tests and in ``run --dry-run``
(``harness.dryrun``), which play the same phases in milliseconds. What the run says
on the console is a listener on the journal's events (``harness.console``).

The result separates "the harness worked" (``status``) from "the system passed"
(``verdict``), like chaostoolkit's status vs deviated.
"""

from __future__ import annotations

import contextlib
import os
import platform
import secrets
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from harness import __version__
from harness.backends import get_backend
from harness.clock import Clock, SystemClock
from harness.errors import DriverError, HarnessError, JournalWriteError
from harness.interrupts import RunGuard
from harness.journal import JOURNAL_FILE, Journal
from harness.load import LoadDriver
from harness.golden import start_golden
from harness.loader import resolve_pipeline_dir
from harness.metrics_scrape import start_scraper
from harness.model import Scenario
from harness.pipeline import ProbeSpec, load_pipeline
from harness.plan import FaultPlayer
from harness.probes import HttpProbe
from harness.procgroup import cmdline_of
from harness.runbook import parse_runbook
from harness.runbook_runner import RunbookRunner
from harness.runlock import RunLock
from harness.timeline.events import Events
from harness.timeline.records import (BaselineChosen, Phase, ProxyServerDied, Record, RunFinished,
                                      RunStarted)
from harness.watch import stop_conditions

LOAD_END_GRACE_S = 20.0
"""How long after the load's duration Locust may take to stop by itself."""
POLL_S = 0.05
"""How often the runner's waits look at the guard, the journal and the load."""


def probe_ingress(ingress: str, spec: ProbeSpec | None = None) -> None:
    """Wait until the pipeline's declared probe passes through the ingress (``spec.timeout_s``);
    without a probe, the services' health checks were all the readiness there is."""
    if spec is None:
        return
    keys = spec.expect.json_has
    check = (lambda answer: isinstance(answer, dict) and all(k in answer for k in keys)) if keys else None
    HttpProbe(f"{ingress}{spec.path}", method=spec.method, body=spec.body, status=spec.expect.status,
              check=check).with_timeout(spec.timeout_s).wait()


@dataclass(frozen=True, kw_only=True)
class Parts:
    """What a run acts through: the real parts by default, fakes in tests and dry runs."""

    clock: Clock = field(default_factory=SystemClock)
    backend: Callable[..., Any] | None = None
    """Makes the backend (``pipeline=, run_dir=, journal=, seed=``); None: the named backend."""
    load: Callable[..., Any] = LoadDriver
    """Makes the load driver (``load=, host=, locustfile=, user_class=, flags=, run_dir=, journal=, seed=``)."""
    probe: Callable[..., None] = probe_ingress
    """Waits until the pipeline answers through its ingress URL (``ingress, probe spec``)."""
    live: bool = True
    """Subscribe the live watchers (``abort_if``, the runbook and its commands); the dry
    run has no live feed and runs no runbook command."""
    operator: Any = None
    """Game-day mode: the operator at the terminal (``harness.gameday.OperatorConsole``):
    answers runbook steps (``ask``), injects the next fault early (``ready``), ends a
    hold (``done``)."""


@dataclass
class RunResult:
    """What a run left: where, whether the harness completed, and the report."""

    run_dir: Path
    status: str
    """``completed``, ``interrupted`` or ``error`` (the harness's own outcome)."""
    report: dict[str, Any] | None
    error: str | None = None
    reports_error: str | None = None
    """Why the report files could not be written (``report`` may still hold the verdict)."""
    signals: tuple[str, ...] = ()
    """The signals that interrupted the run, in order."""

    @property
    def verdict(self) -> str | None:
        """``passed``, ``failed`` or ``unknown`` (the system's outcome), None without a report."""
        return self.report.get("verdict") if self.report else None


def run_scenario(scenario: Scenario, *, scenario_file: Path, reports_dir: Path = Path("reports"),
                 backend: str | None = None, log: Callable[[str], None] | None = print,
                 events: Events | None = None, parts: Parts | None = None,
                 baseline: BaselineChosen | None = None) -> RunResult:
    """Run one scenario end to end and return its result; never leaves anything running.

    ``log`` prints the console lines (None: quiet); ``events`` lets a caller subscribe to
    the run's records before it starts (the pytest plugin, a live view); ``baseline``
    (``run --baseline``) is journaled after the header, and the run judged against it.
    """
    from harness import reporting  # noqa: F401  loaded before the run, so an interrupted run reports fast
    from harness.console import Console

    parts = parts or Parts()
    events = events if events is not None else Events()
    if log is not None:
        Console(log).listen(events)
    run_dir = _new_run_dir(Path(reports_dir).resolve(), scenario.name)
    lock = RunLock.acquire(run_dir)  # held until the reports are written: cleanup leaves us alone
    try:
        journal = Journal(run_dir / JOURNAL_FILE, events=events, clock=parts.clock)
        backend_name = backend or scenario.backend
        with RunGuard(journal) as guard:
            error = execute(scenario, scenario_file=scenario_file, backend_name=backend_name,
                            run_dir=run_dir, journal=journal, guard=guard, parts=parts,
                            header=_header(scenario, scenario_file, backend_name, run_dir),
                            baseline=baseline)
            report, reports_error = _reports(run_dir, guard, log or (lambda _: None))
            journal.close()
        return RunResult(run_dir, run_status(guard, error), report, error, reports_error,
                         tuple(guard.signals))
    finally:
        lock.release()


def execute(scenario: Scenario, *, scenario_file: Path, backend_name: str, run_dir: Path,
            journal: Journal, guard: RunGuard, parts: Parts, header: dict[str, Any],
            baseline: BaselineChosen | None = None) -> str | None:
    """Every phase up to ``run_finished`` (not the reports); returns the run's error or None.

    Never raises: an error, an abort or a signal ends the run in order (see the module
    docstring); ``run_status(guard, error)`` says how it ended.
    """
    journal.events.record.add_listener(_abort_when_the_proxy_dies(guard))
    error = None
    try:
        try:
            journal.emit(RunStarted(**header))
            if baseline is not None:
                journal.emit(baseline)
            _run(scenario, scenario_file, backend_name, run_dir, journal, guard, parts)
        finally:
            guard.hold()  # nothing raises from here on: the run ends in order
    except KeyboardInterrupt:
        if not guard.interrupted:  # raised by someone else's handler: still an interrupt
            guard.signals.append("KeyboardInterrupt")
    except HarnessError as exc:
        error = str(exc)
    except Exception as exc:  # a harness bug: still heal, journal and report
        error = f"{type(exc).__name__}: {exc}"
    error = _first_cause(error, guard, journal)
    with contextlib.suppress(JournalWriteError):
        journal.enter_phase(Phase.ANALYZE)
        journal.emit(RunFinished(status=run_status(guard, error), error=error, signals=list(guard.signals)))
    return error


def _first_cause(error: str | None, guard: RunGuard, journal: Journal) -> str | None:
    """The error to report: what ended the run first (an abort, a full journal), then
    whatever went wrong after it (the teardown's own trouble, say)."""
    first = guard.abort_reason or (journal.failure and journal.explain_failure())
    if first and error and first not in error:
        return f"{first}; then: {error}"
    return first or error


def run_status(guard: RunGuard, error: str | None) -> str:
    """``interrupted`` after any signal (even one during the reports), ``aborted`` after a
    stop condition (``abort_if``), else ``error`` or ``completed``."""
    if guard.interrupted:
        return "interrupted"
    return "aborted" if guard.stopped else "error" if error else "completed"


def _abort_when_the_proxy_dies(guard: RunGuard):
    """A journal listener: every link passes through the fault proxy, so its death ends the run."""
    def listener(record: Record, **_: Any) -> None:
        if isinstance(record, ProxyServerDied):
            guard.abort(f"the fault proxy server died mid-run ({record.reason}); every "
                        f"link passes through it, so the run cannot go on")
    return listener


def _run(scenario: Scenario, scenario_file: Path, backend_name: str, run_dir: Path,
         journal: Journal, guard: RunGuard, parts: Parts) -> None:
    pipeline = load_pipeline(resolve_pipeline_dir(scenario.pipeline, scenario_file))
    clock = parts.clock
    with contextlib.ExitStack() as stack:
        try:
            make_backend = parts.backend or get_backend(backend_name)
            backend = make_backend(pipeline=pipeline, run_dir=run_dir, journal=journal, seed=scenario.seed,
                                   env=scenario.env)
            stack.callback(backend.down)
            backend.up()
            ingress = backend.link_url(pipeline.load.link)
            journal.enter_phase(Phase.BASELINE)
            parts.probe(ingress, pipeline.probe)
            _watch_live(scenario, pipeline, backend, run_dir, journal, guard, stack, parts)
            load = parts.load(load=scenario.load, host=ingress, locustfile=pipeline.path(pipeline.load.locustfile),
                              user_class=pipeline.load.user_class, flags=pipeline.answers.flags,
                              run_dir=run_dir, journal=journal, seed=scenario.seed)
            stack.callback(load.stop)
            started = load.start()
            start_golden(scenario, pipeline, backend, ingress, run_dir, journal, stack)
            start_scraper(scenario, backend, run_dir, journal, stack)

            def wait(deadline: float) -> None:
                _wait_until(deadline, load, journal, guard, clock)

            operator = parts.operator
            FaultPlayer(scenario, started=started, backend=backend, journal=journal, stack=stack,
                        guard=guard, clock=clock, wait=wait, ready=operator.ready if operator else None).play()
            journal.enter_phase(Phase.RECOVER)
            _wait_for_load_end(started + scenario.load.duration + LOAD_END_GRACE_S, load, journal, guard, clock,
                               until=operator.done if operator else None)
        finally:
            guard.hold()  # from here on a signal must not cut the healing short
            with contextlib.suppress(JournalWriteError):
                journal.enter_phase(Phase.TEARDOWN)


def _watch_live(scenario: Scenario, pipeline, backend, run_dir: Path, journal: Journal, guard: RunGuard,
                stack: contextlib.ExitStack, parts: Parts) -> None:
    """Subscribe what reacts to the live feed: the stop conditions and the runbook."""
    if not parts.live:
        return
    stop_conditions(scenario, journal, guard).listen(journal.events)
    if parts.operator is not None:
        parts.operator.attach(journal)
    if scenario.runbook is None:
        return
    runbook = parse_runbook(pipeline.path(scenario.runbook.file))
    links = {name: backend.link_url(name) for name in backend.links}
    runner = RunbookRunner(scenario.runbook, runbook, fault=scenario.runbook_fault, journal=journal,
                           run_dir=run_dir, links=links, operator=parts.operator.ask if parts.operator else None)
    stack.callback(runner.stop)
    runner.listen(journal.events)


def _wait_until(deadline: float, load, journal: Journal, guard: RunGuard, clock: Clock) -> None:
    """Wait until ``deadline`` (epoch s), looking every ``POLL_S`` whether the run can go on."""
    while (remaining := deadline - clock.time()) > 0:
        _check_going(journal, guard)
        if not load.running():
            raise DriverError("Locust stopped before the fault plan finished; see logs/locust.log")
        clock.sleep(min(remaining, POLL_S))
    _check_going(journal, guard)


def _wait_for_load_end(deadline: float, load, journal: Journal, guard: RunGuard, clock: Clock,
                       until: threading.Event | None = None) -> None:
    """Wait until Locust ends on its own (the load's duration), at most until ``deadline``
    (or until ``until`` is set: the operator ended a game-day hold)."""
    while load.running() and not (until is not None and until.is_set()):
        _check_going(journal, guard)
        if clock.time() > deadline:
            raise DriverError(f"Locust did not stop within {LOAD_END_GRACE_S:g} s of the load's end")
        clock.sleep(POLL_S)


def _check_going(journal: Journal, guard: RunGuard) -> None:
    """Raise if the run cannot go on: the journal stopped (a full disk), or an abort."""
    guard.check()
    if journal.failure:
        raise JournalWriteError(journal.explain_failure())


def _new_run_dir(reports_dir: Path, name: str) -> Path:
    run_id = f"{time.strftime('%Y%m%d-%H%M%S')}-{name}-{secrets.token_hex(3)}"
    run_dir = reports_dir / run_id
    (run_dir / "logs").mkdir(parents=True)
    latest = reports_dir / "latest"
    with contextlib.suppress(OSError):
        tmp = reports_dir / f".latest-{run_id}"
        tmp.symlink_to(run_id)
        os.replace(tmp, latest)
    return run_dir


def _header(scenario: Scenario, scenario_file: Path, backend: str, run_dir: Path) -> dict[str, Any]:
    return {"run_id": run_dir.name, "harness_version": __version__, "python": sys.version.split()[0],
            "platform": platform.platform(), "git_commit": _git_commit(), "seed": scenario.seed,
            "backend": backend, "scenario_file": str(scenario_file), "argv": sys.argv,
            "pid": os.getpid(), "cmdline": cmdline_of(os.getpid()),
            "scenario": scenario.model_dump(mode="json", by_alias=True),
            "flags": list(_declared_flags(scenario, scenario_file))}


def _declared_flags(scenario: Scenario, scenario_file: Path) -> tuple[str, ...]:
    """The pipeline's ``answers.flags`` (none when it does not load: ``_run`` says why)."""
    try:
        return load_pipeline(resolve_pipeline_dir(scenario.pipeline, scenario_file)).answers.flags
    except (HarnessError, OSError):
        return ()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _reports(run_dir: Path, guard: RunGuard, log: Callable[[str], None]) -> tuple[dict[str, Any] | None, str | None]:
    """Judge the run and write its reports; again if a signal came meanwhile, so that
    their status says ``interrupted``. Returns the report and why the files were not
    written (None when they were)."""
    from harness.reporting import ReportsNotWritten, build_reports

    for attempt in range(2):
        signals = len(guard.signals)
        try:
            report = build_reports(run_dir)
        except ReportsNotWritten as exc:
            report, problem = exc.report, str(exc)
        except Exception as exc:
            report, problem = None, f"{type(exc).__name__}: {exc}"
        else:
            problem = None
        if attempt or signals or not guard.signals:
            break
    if problem:
        log(f"could not write the reports: {problem}")
    return report, problem
