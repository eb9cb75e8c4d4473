"""``noop``: a fault that changes nothing, for dry runs and tests (Toxiproxy ``noop.go``)."""

from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import register


class NoopParams(Params):
    """No parameters."""


@register
class NoopFault(Fault):
    """Injects nothing; its undo does nothing. ``noop: {}``"""

    kind = "noop"
    Params = NoopParams

    def inject(self, ctx: FaultContext) -> Undo:
        return lambda: None
