"""Journal records: services."""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.timeline.records.base import Record, kind


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
