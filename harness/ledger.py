"""The target ledger: how faults on one target stack, and who undoes what.

One ledger per run (the runner puts it in every :class:`~harness.faults.base.FaultContext`);
``FaultActivation`` injects every fault through :meth:`TargetLedger.inject`, which
dispatches on the fault's ``stacking`` (``docs/stacking.md``)::

    OWN     fault.inject(ctx) -> its own undo            (toxics by name, kill, noop)
    SHARED  (kind, target) reference-counted:            (down, pause, stop, partition)
              first holder  -> fault.inject(ctx), keep its undo
              later holders -> only counted (journal ``fault_stacked``)
              last to end   -> the first holder's undo   (earlier ends: ``fault_released``)
    DATA    one stack per store (see :class:`_StoreStack`)

Nothing here knows a fault kind by name: faults declare how they stack.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from harness.errors import FaultRevertError
from harness.faults.base import Fault, FaultContext, Stacking, Undo
from harness.timeline.records import (FaultReleased, FaultStacked, StoreReplayed, StoreRestored,
                                      StoreSnapshotting)

if TYPE_CHECKING:
    from harness.faults.base import DataFault
    from harness.stores.base import FeatureStore


@dataclass
class _Hold:
    undo: Undo
    holders: list[str] = field(default_factory=list)


class TargetLedger:
    """Stacks the faults of one run per target; see the module docstring."""

    def __init__(self) -> None:
        self._holds: dict[tuple[str, str], _Hold] = {}
        self._stores: dict[str, _StoreStack] = {}

    def prepare(self, fault: Fault, ctx: FaultContext) -> None:
        """Ahead of the planned time: a data fault that will be its store's first gets
        the store's snapshot now, so that its injection is only the change."""
        if fault.stacking is Stacking.DATA:
            self._store_stack(fault, ctx).take_snapshot(ctx)

    def abandon(self, fault: Fault, ctx: FaultContext) -> None:
        """``fault`` was prepared but will not be injected: drop a snapshot nobody uses."""
        if fault.stacking is Stacking.DATA:
            self._store_stack(fault, ctx).drop_unused(ctx)

    def inject(self, fault: Fault, ctx: FaultContext) -> Undo:
        """Apply ``fault`` as its ``stacking`` says; return the undo for this fault alone."""
        if fault.stacking is Stacking.SHARED:
            return self._hold(fault, ctx)
        if fault.stacking is Stacking.DATA:
            return self._store_stack(fault, ctx).push(fault, ctx)
        return fault.inject(ctx)

    def _store_stack(self, fault: Fault, ctx: FaultContext) -> "_StoreStack":
        store = ctx.backend.store(getattr(fault.params, "store", None))
        key = json.dumps(store.describe(), sort_keys=True)
        return self._stores.setdefault(key, _StoreStack(store))

    def _hold(self, fault: Fault, ctx: FaultContext) -> Undo:
        key = (fault.kind, fault.target())
        hold = self._holds.get(key)
        if hold is None:
            hold = self._holds[key] = _Hold(fault.inject(ctx))
        else:
            ctx.journal.emit(FaultStacked(fault=ctx.fault_name, fault_kind=fault.kind, target=key[1],
                                          held_by=list(hold.holders)))
        hold.holders.append(ctx.fault_name)

        def release() -> None:
            hold.holders.remove(ctx.fault_name)
            if hold.holders:
                ctx.journal.emit(FaultReleased(fault=ctx.fault_name, fault_kind=fault.kind, target=key[1],
                                               still_held_by=list(hold.holders)))
                return
            del self._holds[key]
            hold.undo()

        return release


@dataclass
class _Entry:
    name: str
    apply: Callable[[], None]


class _StoreStack:
    """The data faults active on one store, in injection order, over one snapshot.

    * the first push (or, ahead of it, ``take_snapshot``) journals ``store_snapshotting``
      (where the snapshot goes, and the table's checksum) *before* the snapshot is taken
      and anything changes, so ``chaos-harness cleanup`` can restore the store after a
      SIGKILL;
    * every push applies its fault's change on top of what is there;
    * a pop that leaves faults active restores the snapshot (keeping it) and applies the
      survivors again in injection order, each from its own saved rng state, so the store
      reflects exactly the faults still active, whatever order they end in;
    * the last pop restores the snapshot, deletes it, and verifies the checksum.
    """

    def __init__(self, store: "FeatureStore"):
        self.store = store
        self.entries: list[_Entry] = []
        self.snapshot: str | None = None
        self.checksum: str | None = None

    def push(self, fault: "DataFault", ctx: FaultContext) -> Undo:
        """Apply ``fault``'s change (snapshotting first if it is the store's first)."""
        rng_state = ctx.rng.getstate()

        def apply() -> None:
            ctx.rng.setstate(rng_state)
            fault.change(self.store, ctx)

        if self.entries:
            ctx.journal.emit(FaultStacked(fault=ctx.fault_name, fault_kind=fault.kind, target=fault.target(),
                                          held_by=[e.name for e in self.entries]))
        else:
            self.take_snapshot(ctx)
        try:
            apply()
        except BaseException:
            self._settle(ctx, because=ctx.fault_name)  # the half-applied change goes too
            raise
        self.entries.append(_Entry(ctx.fault_name, apply))
        return lambda: self.pop(ctx.fault_name, ctx)

    def pop(self, name: str, ctx: FaultContext) -> None:
        """End fault ``name``: the store then reflects the other active faults alone."""
        self.entries = [e for e in self.entries if e.name != name]
        self._settle(ctx, because=name)

    def drop_unused(self, ctx: FaultContext) -> None:
        """A snapshot taken ahead for a fault that never came: restore (verified) and drop it."""
        if not self.entries:
            self._settle(ctx, because=ctx.fault_name)

    def take_snapshot(self, ctx: FaultContext) -> None:
        """Snapshot the store (journaled first) unless a snapshot is already there."""
        if self.snapshot is not None:
            return
        self.checksum = self.store.checksum()
        name = self.store.new_snapshot_name()
        ctx.journal.emit(StoreSnapshotting(fault=ctx.fault_name, store=self.store.describe(),
                                           snapshot=name, checksum=self.checksum))
        self.store.snapshot(name)
        self.snapshot = name

    def _settle(self, ctx: FaultContext, *, because: str) -> None:
        """Put the store in the state of ``self.entries`` applied, in order, to the snapshot."""
        if self.snapshot is None:
            return
        if self.entries:
            self.store.restore(self.snapshot, keep=True)
            ctx.journal.emit(StoreReplayed(fault=because, snapshot=self.snapshot,
                                           faults=[e.name for e in self.entries]))
            for entry in self.entries:
                entry.apply()
            return
        snapshot, self.snapshot = self.snapshot, None
        self.store.restore(snapshot)
        after = self.store.checksum()
        ok = after == self.checksum
        ctx.journal.emit(StoreRestored(fault=because, store=self.store.describe(), snapshot=snapshot,
                                       checksum=after, ok=ok))
        if not ok:
            raise FaultRevertError(f"feature table checksum {after} != {self.checksum} after restore")

