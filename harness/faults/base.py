"""What a fault is: a small class whose ``inject`` returns the undo.

Copying Toxiproxy's ``toxics/``: the class's ``Params`` model *is* the YAML schema of
the fault (``latency: {link: features, latency_ms: 300}``), registration is one line
(``@register``), and nothing else is shared but this file.

The runner, not the fault, owns the order (``harness.activation``)::

    journal "fault_injecting" (with the planned time)    <- before anything changes,
    fault.prepare(ctx)           # look up ahead            ahead of the planned time
    ...                          # wait precisely for the planned time
    undo = fault.inject(ctx)     # ONE call; must leave nothing applied if it raises
    journal "fault_injected"     # planned, call and effective times, lag
    ...
    undo()                       # always: end of ``for``, end of run, error, Ctrl-C
    journal "fault_reverted"

The effective moment of a change is when its call returned, unless the fault reports
a better one with ``ctx.took_effect(at)`` (a kill: when the signal was sent).

A fault without ``for`` stays until the load stops, except ``instant`` faults (kill)
whose undo only makes sure the target is back.

Faults on one target **stack** (``docs/stacking.md``): ``stacking`` says how a fault
combines with others on its target, ``excludes`` which kinds may not overlap it there
(the loader rejects those, exit code 2). The bookkeeping lives in one place,
:class:`harness.ledger.TargetLedger`, never in a fault.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar

from pydantic import BaseModel, ConfigDict

from harness.clock import Clock, SystemClock

if TYPE_CHECKING:
    from harness.backends.base import Backend
    from harness.journal import Journal
    from harness.ledger import TargetLedger
    from harness.stores.base import FeatureStore

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
    ledger: "TargetLedger" = field(default_factory=lambda: _new_ledger())
    """Who holds what on each target; the runner shares one across a run's faults."""
    clock: Clock = field(default_factory=SystemClock)
    """The run's clock (a fake one in tests and dry runs)."""
    effective_ts: float | None = None
    """When the latest change took effect, as the fault reported it (see ``took_effect``)."""

    def took_effect(self, at: float | None = None) -> None:
        """Report when the change being made took effect (default: now); the activation
        journals it as ``effective_ts`` instead of the moment the call returned."""
        self.effective_ts = self.clock.time() if at is None else at


def _new_ledger() -> "TargetLedger":
    from harness.ledger import TargetLedger

    return TargetLedger()


class Stacking(enum.Enum):
    """How a fault combines with other faults on the same target (``docs/stacking.md``)."""

    OWN = "own"
    """Each fault applies and undoes its own change (a named toxic, a kill); undone LIFO."""
    SHARED = "shared"
    """One state held by every fault of this kind on the target (``down``, ``pause``):
    the first applies it, the last one to end undoes it (reference-counted)."""
    DATA = "data"
    """A change to a feature store (``change()`` instead of ``inject()``): the store's first
    data fault snapshots it, the last one to end restores it; when one ends earlier, the
    store is restored and the faults still active are applied again, in injection order."""


class Fault:
    """Base class: subclasses set ``kind`` and ``Params`` and implement ``inject``."""

    kind: ClassVar[str]
    Params: ClassVar[type[Params]]
    instant: ClassVar[bool] = False
    """True for faults that happen at one instant (kill): recovery counts from injection."""
    stacking: ClassVar[Stacking] = Stacking.OWN
    """How overlapping faults on this fault's target combine (see :class:`Stacking`)."""
    excludes: ClassVar[frozenset[str]] = frozenset()
    """Kinds that may not overlap this one on the same target (checked before the run)."""

    def __init__(self, params: Params):
        self.params = params

    def target(self) -> str:
        """The link or service the fault acts on, for the journal and report."""
        return getattr(self.params, "link", None) or getattr(self.params, "service", None) or ""

    def prepare(self, ctx: FaultContext) -> None:
        """Look up, ahead of the planned time, what ``inject`` will touch (a proxy, a
        service's process), so that ``inject`` is one call; raise if it is not there.
        The default does nothing."""

    def inject(self, ctx: FaultContext) -> Undo:
        """Apply the fault and return the action that reverts it."""
        raise NotImplementedError


class DataFault(Fault):
    """Base of faults that change a declared store: they say *what* changes, the ledger
    snapshots, restores and re-applies (``Stacking.DATA``). Their params may name the
    ``store`` (one of the pipeline's ``stores``); the target is that name, or
    ``feature_store`` for the pipeline's only store."""

    stacking: ClassVar[Stacking] = Stacking.DATA
    changes_schema: ClassVar[bool] = False
    """True when ``change`` renames or drops columns (then no overlapping data fault may
    name the same columns)."""

    def target(self) -> str:
        return getattr(self.params, "store", None) or "feature_store"

    def columns_named(self) -> frozenset[str]:
        """Column names this fault's parameters name (empty: whatever columns exist)."""
        return frozenset()

    def change(self, store: "FeatureStore", ctx: FaultContext) -> None:
        """Change ``store``; must be repeatable: the same rng state gives the same change."""
        raise NotImplementedError

    def inject(self, ctx: FaultContext) -> Undo:
        """Through the context's ledger, which owns the snapshot (see ``Stacking.DATA``)."""
        return ctx.ledger.inject(self, ctx)
