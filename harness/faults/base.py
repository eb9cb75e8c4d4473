"""What a fault is: a small class whose ``inject`` returns the undo.

Copying Toxiproxy's ``toxics/``: the class's ``Params`` model *is* the YAML schema of
the fault (``latency: {link: features, latency_ms: 300}``), registration is one line
(``@register``), and nothing else is shared but this file.

The runner, not the fault, owns the order (``harness.activation``)::

    journal "fault_injecting" (with the undo described)   <- before anything changes
    undo = fault.inject(ctx)     # must leave nothing applied if it raises
    journal "fault_injected"
    ...
    undo()                       # always: end of ``for``, end of run, error, Ctrl-C
    journal "fault_reverted"

A fault without ``for`` stays until the load stops, except ``instant`` faults (kill)
whose undo only makes sure the target is back.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, ClassVar

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from harness.backends.base import Backend
    from harness.journal import Journal

Undo = Callable[[], None]


class Params(BaseModel):
    """Base of every fault's parameters: frozen, unknown keys rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


@dataclass
class FaultContext:
    """What a fault may touch: the backend (proxies, services, store), journal, rng."""

    backend: "Backend"
    journal: "Journal"
    rng: random.Random
    fault_name: str


class Fault:
    """Base class: subclasses set ``kind`` and ``Params`` and implement ``inject``."""

    kind: ClassVar[str]
    Params: ClassVar[type[Params]]
    instant: ClassVar[bool] = False
    """True for faults that happen at one instant (kill): recovery counts from injection."""

    def __init__(self, params: Params):
        self.params = params

    def target(self) -> str:
        """The link or service the fault acts on, for the journal and report."""
        return getattr(self.params, "link", None) or getattr(self.params, "service", None) or ""

    def inject(self, ctx: FaultContext) -> Undo:
        """Apply the fault and return the action that reverts it."""
        raise NotImplementedError
