"""Network faults on a named link, through the Toxiproxy API (one toxic each).

Each adds one toxic named ``chaos-<fault name>`` to the link's proxy and its undo
removes it, so toxics on one link compose (Toxiproxy chains them). ``down`` disables
the proxy; overlapping ``down`` faults on one link share that state
(``Stacking.SHARED``): the link comes up again when the last of them ends.

>>> LatencyFault(LatencyParams(link="features", latency_ms=300)).target()
'features'
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from harness.faults.base import Fault, FaultContext, Params, Stacking, Undo
from harness.faults.registry import register

Stream = Literal["upstream", "downstream"]


class LinkParams(Params):
    """Fields every toxic fault shares: the link, the direction, the toxicity."""

    link: str
    stream: Stream = "downstream"
    """``downstream`` acts on responses (server to caller), ``upstream`` on requests."""
    toxicity: float = Field(1.0, ge=0, le=1)
    """Probability that a given connection is affected."""


class _ToxicFault(Fault):
    toxic_type: str

    def attributes(self) -> dict[str, int]:
        raise NotImplementedError

    def prepare(self, ctx: FaultContext) -> None:
        ctx.backend.proxies.resolve(self.params.link)

    def inject(self, ctx: FaultContext) -> Undo:
        proxies, link, name = ctx.backend.proxies, self.params.link, f"chaos-{ctx.fault_name}"
        proxies.add_toxic(link, name=name, type=self.toxic_type, stream=self.params.stream,
                          toxicity=self.params.toxicity, attributes=self.attributes())
        return lambda: proxies.remove_toxic(link, name)


class LatencyParams(LinkParams):
    latency_ms: int = Field(ge=0, le=3_600_000)
    jitter_ms: int = Field(0, ge=0, le=3_600_000)


@register
class LatencyFault(_ToxicFault):
    """Delay every chunk on the link by ``latency_ms`` ± ``jitter_ms``."""

    kind, toxic_type, Params = "latency", "latency", LatencyParams

    def attributes(self) -> dict[str, int]:
        return {"latency": self.params.latency_ms, "jitter": self.params.jitter_ms}


class TimeoutParams(LinkParams):
    timeout_ms: int = Field(0, ge=0, le=3_600_000)
    """Close connections after this long; 0 = hold them open, data dropped."""


@register
class TimeoutFault(_ToxicFault):
    """Black-hole the link: data is dropped, connections close after ``timeout_ms``."""

    kind, toxic_type, Params = "timeout", "timeout", TimeoutParams

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.params.timeout_ms}


@register
class ResetPeerFault(_ToxicFault):
    """Reset connections (TCP RST) on the first data, after ``timeout_ms``."""

    kind, toxic_type, Params = "reset_peer", "reset_peer", TimeoutParams

    def attributes(self) -> dict[str, int]:
        return {"timeout": self.params.timeout_ms}


class BandwidthParams(LinkParams):
    rate_kbps: int = Field(gt=0, le=10_000_000)
    """Kilobytes (1000 B) per second."""


@register
class BandwidthFault(_ToxicFault):
    """Cap the link's throughput at ``rate_kbps`` KB/s."""

    kind, toxic_type, Params = "bandwidth", "bandwidth", BandwidthParams

    def attributes(self) -> dict[str, int]:
        return {"rate": self.params.rate_kbps}


class DownParams(Params):
    link: str


@register
class DownFault(Fault):
    """Take the link down: new connections refused, open ones closed."""

    kind, Params, stacking = "down", DownParams, Stacking.SHARED

    def prepare(self, ctx: FaultContext) -> None:
        ctx.backend.proxies.resolve(self.params.link)

    def inject(self, ctx: FaultContext) -> Undo:
        proxies, link = ctx.backend.proxies, self.params.link
        proxies.set_enabled(link, False)
        return lambda: proxies.set_enabled(link, True)
