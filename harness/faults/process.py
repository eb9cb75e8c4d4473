"""Service faults that every backend supports: ``kill`` and ``pause``.

On the process backend kill is SIGKILL and the supervisor restarts the service after
its ``restart_delay``; on Docker the container's restart policy does. Pause is
SIGSTOP/SIGCONT or ``docker pause``.

Overlapping pauses of one service share the pause (``Stacking.SHARED``): it resumes
when the last ends. A kill during a pause of the same service is rejected before the
run (the restarted service would no longer be paused): ``excludes``.
"""

from __future__ import annotations

from typing import Literal

from harness.faults.base import Fault, FaultContext, Params, Stacking, Undo
from harness.faults.registry import register


class KillParams(Params):
    service: str
    signal: Literal["SIGKILL", "SIGTERM", "SIGINT"] = "SIGKILL"


@register
class KillFault(Fault):
    """Kill a service; recovery is measured from this instant."""

    kind, Params, instant = "kill", KillParams, True
    excludes = frozenset({"pause", "stop"})

    def prepare(self, ctx: FaultContext) -> None:
        ctx.backend.resolve(self.params.service)

    def inject(self, ctx: FaultContext) -> Undo:
        ctx.took_effect(ctx.backend.kill(self.params.service, self.params.signal))
        return lambda: None  # the restart policy brings it back; nothing to undo


class PauseParams(Params):
    service: str


@register
class PauseFault(Fault):
    """Freeze a service (it keeps its sockets but answers nothing) until reverted."""

    kind, Params, stacking = "pause", PauseParams, Stacking.SHARED
    excludes = frozenset({"kill", "restart", "stop", "partition"})

    def prepare(self, ctx: FaultContext) -> None:
        ctx.backend.resolve(self.params.service)

    def inject(self, ctx: FaultContext) -> Undo:
        service = self.params.service
        ctx.took_effect(ctx.backend.pause(service))
        return lambda: ctx.took_effect(ctx.backend.resume(service))
