"""Every record kind of a run's journal, declared once as a frozen, documented type.

A journal line is ``{"ts", "t", "kind", "phase", ...fields}``; :func:`parse_record`
turns it back into its type, :meth:`Record.to_json` writes it. Writers build records
(``FaultInjected(fault=..., ...)``) and hand them to ``Journal.emit``, which stamps
``ts``, ``t`` and ``phase``; readers test types (``isinstance(r, FaultInjected)``), never
strings. A kind this version does not know is read as :class:`UnknownRecord`, so
journals of newer or older harnesses stay readable; a known kind missing a required
field is a :class:`TimelineError` naming the kind and the field.

Times: ``ts`` fields are wall-clock epoch seconds, ``*_s`` fields are durations.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from harness.errors import HarnessError


class TimelineError(HarnessError):
    """A journal line that names a known kind but does not fit its type."""


class Phase(StrEnum):
    """Where a run is; every record carries the phase it was written in."""

    SETUP = "setup"
    BASELINE = "baseline"
    INJECT = "inject"
    RECOVER = "recover"
    TEARDOWN = "teardown"
    ANALYZE = "analyze"
    CLEANUP = "cleanup"


_KINDS: dict[str, type["Record"]] = {}


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every journal record: when (``ts``, ``t``) and in which phase."""

    kind: ClassVar[str] = ""
    ts: float = 0.0
    """Wall clock, epoch seconds, when the record was written."""
    t: float = 0.0
    """Monotonic seconds since the run's journal was opened."""
    phase: str = Phase.SETUP.value

    def to_json(self) -> dict[str, Any]:
        """The journal line's object: ``ts``, ``t``, ``kind``, ``phase``, then the fields."""
        out: dict[str, Any] = {"ts": self.ts, "t": self.t, "kind": self.kind, "phase": str(self.phase)}
        for f in fields(self):
            if f.name not in out:
                out[f.name] = getattr(self, f.name)
        return out


def kind(name: str):
    """Class decorator: make a frozen record type and register it under ``name``."""
    def register(cls: type) -> type:
        made = dataclass(frozen=True, kw_only=True)(cls)
        made.kind = name
        if _KINDS.setdefault(name, made) is not made:
            raise ValueError(f"record kind {name!r} is declared twice")
        return made
    return register


@dataclass(frozen=True, kw_only=True)
class UnknownRecord(Record):
    """A kind this harness does not declare (a newer or older journal): kept as read."""

    name: str = ""
    fields_: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "t": self.t, "kind": self.name, "phase": self.phase, **self.fields_}


def parse_record(data: dict[str, Any]) -> Record:
    """The typed record of one journal object; TimelineError when it does not fit."""
    name = data.get("kind")
    cls = _KINDS.get(name) if isinstance(name, str) else None
    base = {k: data[k] for k in ("ts", "t", "phase") if k in data}
    if cls is None:
        rest = {k: v for k, v in data.items() if k not in ("ts", "t", "phase", "kind")}
        return UnknownRecord(**base, name=str(name), fields_=rest)
    known = {f.name: f for f in fields(cls)}
    missing = [n for n, f in known.items()
               if n not in data and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise TimelineError(f"a {name} record lacks {', '.join(missing)}")
    return cls(**{k: v for k, v in data.items() if k in known})


def record_types() -> dict[str, type[Record]]:
    """Every declared record type, by kind."""
    return dict(_KINDS)


# ----------------------------------------------------------------- the run itself

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


# ----------------------------------------------------------------- the pipeline

@kind("pipeline_starting")
class PipelineStarting(Record):
    """A backend is about to bring the pipeline up (docker: the compose command)."""

    backend: str
    project: str | None = None
    command: list[str] = field(default_factory=list)
    compose_file: str | None = None


@kind("pipeline_up")
class PipelineUp(Record):
    """Every service healthy and every link proxied."""

    backend: str
    links: dict[str, str] = field(default_factory=dict)
    """Link name -> ``host:port`` of its proxy."""
    services: dict[str, Any] = field(default_factory=dict)
    project: str | None = None
    up_s: float | None = None


@kind("pipeline_down")
class PipelineDown(Record):
    """Everything the backend started is gone (``ok`` false: it could not be sure)."""

    backend: str
    project: str | None = None
    removed: list[str] = field(default_factory=list)
    down_s: float | None = None
    ok: bool = True
    error: str | None = None


@kind("setup_started")
class SetupStarted(Record):
    """One of the pipeline's setup commands is about to run."""

    command: list[str]


# ----------------------------------------------------------------- the fault proxy

@kind("proxy_server_started")
class ProxyServerStarted(Record):
    """The embedded Toxiproxy-API server was started (cleanup finds it by pid + command)."""

    url: str
    pid: int
    command: list[str]


@kind("proxy_server_found")
class ProxyServerFound(Record):
    """An existing Toxiproxy-API server is used (external, or the docker proxy container).

    ``prefix`` is prepended to every proxy name this run creates: cleanup deletes
    exactly those, on exactly this ``url``.
    """

    url: str
    version: str | None = None
    prefix: str = ""


@kind("proxy_server_stopped")
class ProxyServerStopped(Record):
    """The embedded proxy server was stopped by the run."""

    pid: int


@kind("proxy_server_died")
class ProxyServerDied(Record):
    """The fault proxy went away mid-run, not by the run's hand: the run ends at once."""

    reason: str
    url: str | None = None
    service: str | None = None
    container: str | None = None
    died_at: float | None = None
    pid: int | None = None
    returncode: int | None = None


@kind("proxy_created")
class ProxyCreated(Record):
    """A link's proxy exists: callers of ``link`` reach ``upstream`` through ``listen``."""

    link: str
    listen: str
    upstream: str
    published: str | None = None
    """Docker: the ``127.0.0.1:PORT`` published on the host for ``listen``."""


@kind("proxies_deleted")
class ProxiesDeleted(Record):
    """Cleanup deleted a dead run's proxies (and their toxics) on ``url``."""

    url: str
    prefix: str
    proxies: list[str]


# ----------------------------------------------------------------- services

@dataclass(frozen=True, kw_only=True)
class ServiceRecord(Record):
    """Base of the records about one service: process (``pid``) or container."""

    service: str
    pid: int | None = None
    container: str | None = None


@kind("service_started")
class ServiceStarted(ServiceRecord):
    """A service process or container was started."""

    command: list[str] | None = None


@kind("service_healthy")
class ServiceHealthy(ServiceRecord):
    """The service's health check passed at ``healthy_at`` (first start or a restart)."""

    healthy_at: float | None = None
    """Epoch seconds of the passing check (the engine's event time on docker); when
    absent (old journals) the record's own ``ts``."""
    after_s: float | None = None
    """Seconds from its (re)start, or from its death on docker, to health."""

    @property
    def at(self) -> float:
        """When the service was healthy, epoch seconds."""
        return self.healthy_at if self.healthy_at is not None else self.ts


@kind("service_killed")
class ServiceKilled(ServiceRecord):
    """A planned kill: the signal was sent (process) or the engine saw the death (docker)."""

    signal: str | None = None
    sent_at: float | None = None
    """Epoch seconds when the signal was sent (absent on docker: the engine's ``died_at``)."""
    died_at: float | None = None
    """Epoch seconds of the death as the engine reported it (docker)."""
    exit_code: int | None = None
    cause: str | None = None
    """What the plan did (docker: the signal, or ``restart``)."""


@kind("service_exited")
class ServiceExited(ServiceRecord):
    """A supervised process ended after the plan asked for it (``planned``)."""

    returncode: int | None = None
    planned: bool = True
    cause: str | None = None


@kind("service_died")
class ServiceDied(ServiceRecord):
    """A service died NOT by the plan's hand (a crash, the OOM killer, an operator)."""

    cause: str = "unplanned"
    reason: str = ""
    returncode: int | None = None
    exit_code: int | None = None
    died_at: float | None = None


@kind("service_restarting")
class ServiceRestarting(ServiceRecord):
    """``docker restart`` of the service began (a ``restart`` fault)."""


@kind("service_restarted")
class ServiceRestarted(ServiceRecord):
    """The restart policy (supervisor or engine) started the service again."""

    died_at: float | None = None
    started_at: float | None = None
    down_s: float | None = None


@kind("service_paused")
class ServicePaused(ServiceRecord):
    """The service was frozen (SIGSTOP or ``docker pause``)."""


@kind("service_resumed")
class ServiceResumed(ServiceRecord):
    """The service was thawed."""


@kind("service_stopped")
class ServiceStopped(ServiceRecord):
    """``docker stop``: a manual stop that the restart policy does not undo."""


@kind("service_partitioned")
class ServicePartitioned(ServiceRecord):
    """The service's container was taken off ``networks``."""

    networks: list[str] = field(default_factory=list)


@kind("service_reconnected")
class ServiceReconnected(ServiceRecord):
    """The service's container was put back on ``networks``."""

    networks: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- the load

@kind("load_launched")
class LoadLaunched(Record):
    """The Locust process was started (cleanup finds it by pid + command)."""

    pid: int
    command: list[str]


@kind("load_started")
class LoadStarted(Record):
    """Locust's ``test_start``: ``load_ts`` is the zero of every fault's ``at``."""

    load_ts: float
    users: int = 0
    duration_s: float = 0.0


@kind("load_stopped")
class LoadStopped(Record):
    """Locust ended (``returncode`` None if it had to be killed)."""

    returncode: int | None = None


@kind("golden_started")
class GoldenStarted(Record):
    """The golden probe began replaying ``cases`` golden cases at ``rate_per_s``,
    through ``url``, into ``file`` (``golden-answers.jsonl``)."""

    cases: int
    rate_per_s: float
    url: str
    file: str
    source: str = ""
    """Where the cases came from (the pipeline's golden set)."""


@kind("golden_stopped")
class GoldenStopped(Record):
    """The golden probe stopped after ``answers`` replays (``error``: why it stopped early)."""

    answers: int = 0
    error: str | None = None


# ----------------------------------------------------------------- faults

@dataclass(frozen=True, kw_only=True)
class FaultRecord(Record):
    """Base of the records about one fault of the scenario."""

    fault: str
    fault_kind: str = ""
    target: Any = None


@kind("fault_injecting")
class FaultInjecting(FaultRecord):
    """A fault is about to be applied: written (durably) before anything changes."""

    params: dict[str, Any] = field(default_factory=dict)
    instant: bool = False
    planned_ts: float | None = None
    """When the plan wants it to take effect (load start + ``at``), epoch seconds."""


@kind("fault_injected")
class FaultInjected(FaultRecord):
    """The fault took effect.

    ``effective_ts`` is the moment it took effect (the proxy applied the toxic before
    answering the call; a kill's signal was sent, or the engine saw the death); the
    analysis places the fault there. ``lag_ms`` = ``effective_ts`` − ``planned_ts``.
    """

    instant: bool = False
    planned_ts: float | None = None
    """When the plan wanted it to take effect (load start + ``at``), epoch seconds."""
    call_ts: float | None = None
    """When the call that applies it started."""
    effective_ts: float | None = None
    """When it took effect: the fault's own report (``FaultContext.took_effect``), else
    the moment its call returned."""
    lag_ms: float | None = None
    """``effective_ts`` − ``planned_ts``, milliseconds: how late the fault landed."""

    @property
    def at(self) -> float:
        """When it took effect (``effective_ts``, else the record's own ``ts``)."""
        return self.effective_ts if self.effective_ts is not None else self.ts


@kind("fault_reverted")
class FaultReverted(FaultRecord):
    """The fault's undo ran (``ok`` false: it failed, see ``error``; cleanup may help).

    Times as for :class:`FaultInjected`; ``planned_ts`` is the end of the fault's ``for``
    (None for an undo at the end of the run, on an error or an interrupt, or of an
    instant fault).
    """

    ok: bool = True
    interrupted: bool = False
    error: str | None = None
    planned_ts: float | None = None
    call_ts: float | None = None
    """When the call that undoes it started."""
    effective_ts: float | None = None
    lag_ms: float | None = None
    """``effective_ts`` − ``planned_ts``, milliseconds (None without a planned time)."""

    @property
    def at(self) -> float:
        """When the undo took effect (``effective_ts``, else the record's own ``ts``)."""
        return self.effective_ts if self.effective_ts is not None else self.ts


@kind("fault_stacked")
class FaultStacked(FaultRecord):
    """The fault joined others already holding its target (see docs/stacking.md)."""

    held_by: list[str] = field(default_factory=list)


@kind("fault_released")
class FaultReleased(FaultRecord):
    """The fault ended but others still hold its target, which stays faulted."""

    still_held_by: list[str] = field(default_factory=list)


@kind("rows_corrupted")
class RowsCorrupted(FaultRecord):
    """A data fault changed ``rows`` rows in ``columns`` (``mode``: how)."""

    rows: int = 0
    columns: list[str] = field(default_factory=list)
    mode: str = ""


@kind("schema_changed")
class SchemaChanged(FaultRecord):
    """A data fault changed the table's schema: ``change`` (``rename``, ``drop``,
    ``retype``, ``add``) of ``column`` (``to``: the new name or type)."""

    change: str
    column: str
    to: str | None = None


@kind("artifact_swapping")
class ArtifactSwapping(FaultRecord):
    """Before a file a service serves (a model) is replaced: where, its checksum, and
    the copy it will be restored from (``cleanup`` puts ``backup`` back after a crash)."""

    path: str
    backup: str
    checksum: str
    replace_with: str
    """``corrupt`` (random bytes) or ``older`` (another version of it)."""


@kind("artifact_swapped")
class ArtifactSwapped(FaultRecord):
    """The file now holds the replacement (``checksum``; ``source``: the older version used)."""

    path: str
    checksum: str
    source: str | None = None


@kind("artifact_restored")
class ArtifactRestored(FaultRecord):
    """The file is back (``ok``: its checksum is the one before the swap)."""

    path: str
    checksum: str
    ok: bool = True


# ----------------------------------------------------------------- data stores

@kind("store_snapshotting")
class StoreSnapshotting(Record):
    """Before the first data fault on a store: where its snapshot goes, and its checksum."""

    fault: str
    store: dict[str, Any]
    snapshot: str
    checksum: str


@kind("store_replayed")
class StoreReplayed(Record):
    """A data fault ended while others stayed: the store was restored, they re-applied."""

    fault: str
    snapshot: str
    faults: list[str] = field(default_factory=list)


@kind("store_restored")
class StoreRestored(Record):
    """The store is back at its snapshot (``ok`` false: the checksum did not match)."""

    store: dict[str, Any]
    snapshot: str
    ok: bool = True
    fault: str | None = None
    checksum: str | None = None
    error: str | None = None


@kind("cleaned_up")
class CleanedUp(Record):
    """``chaos-harness cleanup`` acted on this (dead) run."""

    actions: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- live conditions and runbooks

@kind("condition_held")
class ConditionHeld(Record):
    """A condition on the live request feed first held (``harness.conditions``).

    ``role``: ``abort`` (an ``abort_if``: the run stops and heals at once), ``detect``
    (the runbook's alert) or ``trigger`` (a runbook step's ``when``).
    """

    condition: str
    role: str
    held_at: float
    """Epoch seconds: the answer time of the request that made it hold."""
    value: float | None = None
    step: int | None = None


@kind("runbook_step_triggered")
class RunbookStepTriggered(Record):
    """A runbook step's trigger fired (``at``, ``when``, ``after``)."""

    step: int
    title: str
    trigger: str
    command: str | None = None


@kind("runbook_step_done")
class RunbookStepDone(Record):
    """A runbook step ended: its command's exit (``ok``), or the operator's answer.

    ``by``: ``command`` (run by the harness), ``operator`` (game-day mode) or ``none``
    (a step without a command, in automated mode: done when triggered).
    """

    step: int
    ok: bool
    by: str = "command"
    exit_code: int | None = None
    timed_out: bool = False
    started_at: float | None = None
    duration_s: float | None = None
    output: str | None = None
    """The file holding the command's output, relative to the run directory."""
    answer: str | None = None


@kind("operator_note")
class OperatorNote(Record):
    """A note the operator typed during a game day (timestamped by the record)."""

    text: str
    step: int | None = None
