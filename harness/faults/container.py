"""Container-only faults: ``stop``, ``restart`` and ``partition`` (docker backend).

They need a backend with container controls (:class:`ContainerControl`, which
``harness.backends.docker.DockerBackend`` implements). Their base says so in
``backends = ("docker",)`` for validation; on any other backend ``inject`` raises a
FaultApplyError that names the fault and the fix, before anything is changed.

``stop`` and ``partition`` are held states (``Stacking.SHARED``): overlapping ones on
one service share it, undone when the last ends. Different held states (pause, stop,
partition) on one service, or a kill/restart while it is paused or stopped, are
rejected before the run (``excludes``).

>>> PartitionFault(ServiceParams(service="recommender")).target()
'recommender'
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

from pydantic import Field

from harness.errors import FaultApplyError
from harness.faults.base import Fault, FaultContext, Params, Stacking, Undo
from harness.faults.registry import register


@runtime_checkable
class ContainerControl(Protocol):
    """What a backend offers beyond kill/pause for these faults."""

    def stop_service(self, service: str, timeout: float = 10) -> None: ...
    def start_service(self, service: str) -> None: ...
    def restart_service(self, service: str, timeout: float = 10) -> None: ...
    def disconnect(self, service: str) -> list[str]: ...
    def reconnect(self, service: str, networks: list[str]) -> None: ...


class _ContainerFault(Fault):
    """What the three faults share: the docker backend, reached through ``controls``."""

    backends: ClassVar[tuple[str, ...]] = ("docker",)

    def prepare(self, ctx: FaultContext) -> None:
        self.controls(ctx)
        ctx.backend.resolve(self.params.service)

    def controls(self, ctx: FaultContext) -> ContainerControl:
        """The backend's container controls; FaultApplyError naming the fix without them."""
        if not isinstance(ctx.backend, ContainerControl):
            used = getattr(ctx.backend, "name", type(ctx.backend).__name__)
            raise FaultApplyError(
                f"fault {ctx.fault_name!r} ({self.kind}) needs the docker backend; this run uses {used!r}. "
                "Hint: set `backend: docker` in the scenario, or use kill/pause, which every backend has.")
        return ctx.backend


class ServiceParams(Params):
    service: str


class StopParams(ServiceParams):
    timeout_s: int = Field(10, ge=0, le=600)
    """Grace between SIGTERM and SIGKILL, as in ``docker stop -t``."""


@register
class StopFault(_ContainerFault):
    """``docker stop`` the service; start it again when the fault ends (``for``)."""

    kind, Params, stacking = "stop", StopParams, Stacking.SHARED
    excludes = frozenset({"kill", "restart", "pause", "partition"})

    def inject(self, ctx: FaultContext) -> Undo:
        backend, service = self.controls(ctx), self.params.service
        backend.stop_service(service, timeout=self.params.timeout_s)
        return lambda: backend.start_service(service)


@register
class RestartFault(_ContainerFault):
    """``docker restart`` the service (graceful stop, then start); recovery counts from here."""

    kind, Params, instant = "restart", StopParams, True
    excludes = frozenset({"pause", "stop"})

    def inject(self, ctx: FaultContext) -> Undo:
        self.controls(ctx).restart_service(self.params.service, timeout=self.params.timeout_s)
        return lambda: None  # it restarts by itself; nothing to undo


@register
class PartitionFault(_ContainerFault):
    """Disconnect the service's container from its networks; reconnect when the fault ends."""

    kind, Params, stacking = "partition", ServiceParams, Stacking.SHARED
    excludes = frozenset({"pause", "stop"})

    def inject(self, ctx: FaultContext) -> Undo:
        backend, service = self.controls(ctx), self.params.service
        networks = backend.disconnect(service)
        return lambda: backend.reconnect(service, networks)
