"""The runner: the one module that owns the order of a run.

Phases, in order (each journaled before it acts)::

    setup     run directory, journal header, backend.up() (proxies, services, health)
    baseline  Locust load starts; a prediction probe through the ingress must pass
    inject    faults injected and reverted on the plan's clock (``at`` / ``for``)
    recover   load runs to its end with no fault active
    teardown  remaining faults reverted, load stopped, pipeline down  <- ALWAYS:
              success, SLO failure, exception, Ctrl-C or SIGTERM (one ExitStack, LIFO)
    analyze   reports built from journal.jsonl + requests.jsonl alone

The result separates "the harness worked" (``status``) from "the system passed"
(``verdict``), like chaostoolkit's status vs deviated.
"""

from __future__ import annotations

import contextlib
import os
import platform
import random
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from harness import __version__
from harness.activation import FaultActivation
from harness.backends import get_backend
from harness.errors import DriverError, HarnessError
from harness.faults.base import FaultContext
from harness.journal import JOURNAL_FILE, Journal
from harness.ledger import TargetLedger
from harness.load import LoadDriver
from harness.loader import resolve_pipeline_dir
from harness.model import FaultSpec, Scenario
from harness.pipeline import load_pipeline
from harness.probes import HttpProbe
from harness.procgroup import cmdline_of
from harness.runlock import RunLock

_PROBE_BODY = {"transaction_id": "probe", "entity_id": 1, "amount": 42.0, "hour": 12,
               "merchant_category": "grocery"}


@dataclass
class RunResult:
    """What a run left: where, whether the harness completed, and the report."""

    run_dir: Path
    status: str
    """``completed``, ``interrupted`` or ``error`` (the harness's own outcome)."""
    report: dict[str, Any] | None
    error: str | None = None

    @property
    def verdict(self) -> str | None:
        """``passed`` or ``failed`` (the system's outcome), None without a report."""
        return self.report.get("verdict") if self.report else None


def run_scenario(scenario: Scenario, *, scenario_file: Path, reports_dir: Path = Path("reports"),
                 backend: str | None = None, log=print) -> RunResult:
    """Run one scenario end to end and return its result; never leaves anything running."""
    run_dir = _new_run_dir(Path(reports_dir).resolve(), scenario.name)
    lock = RunLock.acquire(run_dir)  # held until the reports are written: cleanup leaves us alone
    try:
        return _run_and_report(scenario, scenario_file, backend, run_dir, log)
    finally:
        lock.release()


def _run_and_report(scenario: Scenario, scenario_file: Path, backend: str | None, run_dir: Path,
                    log) -> RunResult:
    journal = Journal(run_dir / JOURNAL_FILE)
    backend_name = backend or scenario.backend
    journal.record("run_started", **_header(scenario, scenario_file, backend_name, run_dir))
    log(f"run {run_dir.name}: scenario {scenario.name!r} on the {backend_name} backend")
    status, error = "error", None
    try:
        with _signals_as_interrupt():
            _run(scenario, scenario_file, backend_name, run_dir, journal, log)
        status = "completed"
    except KeyboardInterrupt:
        status, error = "interrupted", "interrupted by signal"
    except HarnessError as exc:
        error = str(exc)
    except Exception as exc:  # a harness bug: still heal, journal and report
        error = f"{type(exc).__name__}: {exc}"
    finally:
        journal.phase = "analyze"
        journal.record("run_finished", status=status, error=error)
        journal.close()
    return RunResult(run_dir, status, _reports(run_dir, log), error)


def _run(scenario: Scenario, scenario_file: Path, backend_name: str, run_dir: Path,
         journal: Journal, log) -> None:
    pipeline = load_pipeline(resolve_pipeline_dir(scenario.pipeline, scenario_file))
    with contextlib.ExitStack() as stack:
        try:
            backend = get_backend(backend_name)(pipeline=pipeline, run_dir=run_dir,
                                                journal=journal, seed=scenario.seed)
            stack.callback(backend.down)
            backend.up()
            ingress = backend.link_url(pipeline.load.link)
            log(f"pipeline up; ingress {ingress}")
            journal.phase = "baseline"
            HttpProbe(f"{ingress}/predict", method="POST", body=_PROBE_BODY).with_timeout(20).wait()
            load = LoadDriver(load=scenario.load, host=ingress, locustfile=pipeline.dir / pipeline.load.locustfile,
                              run_dir=run_dir, journal=journal, seed=scenario.seed)
            stack.callback(load.stop)
            started = load.start()
            log(f"load started: {scenario.load.users} users for {scenario.load.duration:g}s")
            _play_faults(scenario, started, load, backend, journal, stack, log)
            journal.phase = "recover"
            if load.wait(max(0.0, started + scenario.load.duration - time.time()) + 20) is None:
                raise DriverError("Locust did not stop within 20 s of the load's end")
        finally:
            journal.phase = "teardown"
            _ignore_interrupts()  # a second Ctrl-C must not cut the clean-up short
    log("pipeline down; every fault reverted")


def _play_faults(scenario: Scenario, started: float, load: LoadDriver, backend, journal: Journal,
                 stack: contextlib.ExitStack, log) -> None:
    """Inject and revert faults at their times on the load's clock."""
    plan: list[tuple[float, int, str, FaultSpec]] = []
    for spec in scenario.faults:
        plan.append((spec.at, 1, "inject", spec))
        if spec.ends_at is not None:
            plan.append((spec.ends_at, 0, "revert", spec))
    active: dict[str, FaultActivation] = {}
    rng, ledger = random.Random(scenario.seed), TargetLedger()
    for at, _, action, spec in sorted(plan, key=lambda item: item[:2]):
        _sleep_until(started + at, load)
        if action == "revert":
            active.pop(spec.name).revert()
            log(f"  {time.time() - started:6.1f}s reverted {spec.name}")
        else:
            journal.phase = "inject"
            ctx = FaultContext(backend=backend, journal=journal, rng=random.Random(rng.random()),
                               fault_name=spec.name, ledger=ledger)
            activation = stack.enter_context(FaultActivation(spec, ctx))
            log(f"  {time.time() - started:6.1f}s injected {spec.name} ({spec.kind} on {activation.fault.target()})")
            if activation.fault.instant:
                activation.revert()
            elif spec.for_ is not None:
                active[spec.name] = activation
        if not active:
            journal.phase = "recover"


def _sleep_until(deadline: float, load: LoadDriver) -> None:
    while (remaining := deadline - time.time()) > 0:
        if not load.running():
            raise DriverError("Locust stopped before the fault plan finished; see logs/locust.log")
        time.sleep(min(remaining, 0.05))


@contextlib.contextmanager
def _signals_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt so it takes the same clean-up path as Ctrl-C."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _ignore_interrupts() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


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
            "scenario": scenario.model_dump(mode="json", by_alias=True)}


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def _reports(run_dir: Path, log) -> dict[str, Any] | None:
    from harness.reporting import build_reports

    try:
        return build_reports(run_dir)
    except Exception as exc:
        log(f"could not build the reports: {type(exc).__name__}: {exc}")
        return None
