"""Journal records: faults."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.timeline.records.base import Record, kind


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
    artifact: str | None = None
    """The declared artifact's name (``pipeline.yaml`` ``artifacts``)."""
    where: str = "local"
    """Where ``path`` is: ``local`` (this machine) or ``container NAME``."""


@kind("artifact_swapped")
class ArtifactSwapped(FaultRecord):
    """The file now holds the replacement (``checksum``; ``source``: the older version used)."""

    path: str
    checksum: str
    source: str | None = None


@kind("artifact_restored")
class ArtifactRestored(FaultRecord):
    """The file is back (``ok``: its checksum is the one before the swap), by the
    fault's undo or by ``cleanup`` (``error``: why it could not be)."""

    path: str
    checksum: str | None = None
    ok: bool = True
    backup: str | None = None
    """The copy it was restored from (the ``artifact_swapping`` record's)."""
    error: str | None = None
