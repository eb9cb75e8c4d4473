"""One fault's activation as a context manager: journaled, reverted exactly once.

::

    with FaultActivation(spec, ctx):   # journal fault_injecting, inject, fault_injected
        ...                            # revert() may be called early (end of ``for``)
    # on exit, even on Ctrl-C: revert() if not done, journal fault_reverted

Injection goes through the context's :class:`~harness.ledger.TargetLedger`, which
stacks faults on one target (reference-counted shared states, one snapshot per store).
If ``inject`` raises, whatever it half-applied is its own to undo (each fault's
inject is written that way) and the activation journals ``fault_reverted`` with
``ok: false`` before raising FaultApplyError.
"""

from __future__ import annotations

from harness.errors import FaultApplyError, FaultRevertError, HarnessError
from harness.faults.base import FaultContext, Undo
from harness.faults.registry import get_fault
from harness.model import FaultSpec


class FaultActivation:
    """Injects ``spec`` on enter and reverts it once, on ``revert()`` or on exit."""

    def __init__(self, spec: FaultSpec, ctx: FaultContext):
        self.spec, self.ctx = spec, ctx
        self.fault = get_fault(spec.kind)(spec.params)
        self._undo: Undo | None = None

    def _fields(self) -> dict:
        return {"fault": self.spec.name, "fault_kind": self.spec.kind, "target": self.fault.target()}

    def __enter__(self) -> "FaultActivation":
        journal = self.ctx.journal
        journal.record("fault_injecting", **self._fields(),
                       params=self.spec.params.model_dump(mode="json"), instant=self.fault.instant)
        try:
            self._undo = self.ctx.ledger.inject(self.fault, self.ctx)
        except Exception as exc:
            journal.record("fault_reverted", **self._fields(), ok=False, interrupted=False,
                           error=f"inject failed: {exc}")
            if isinstance(exc, HarnessError):
                raise
            raise FaultApplyError(f"fault {self.spec.name!r} ({self.spec.kind}) could not be injected: {exc}") from exc
        journal.record("fault_injected", **self._fields(), instant=self.fault.instant)
        return self

    def revert(self, *, interrupted: bool = False) -> None:
        """Revert now (idempotent) and journal ``fault_reverted``."""
        undo, self._undo = self._undo, None
        if undo is None:
            return
        try:
            undo()
        except Exception as exc:
            self.ctx.journal.record("fault_reverted", **self._fields(), ok=False,
                                    interrupted=interrupted, error=str(exc))
            raise FaultRevertError(f"fault {self.spec.name!r} could not be reverted: {exc}; "
                                   f"run `chaos-harness cleanup`") from exc
        self.ctx.journal.record("fault_reverted", **self._fields(), ok=True, interrupted=interrupted)

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.revert(interrupted=exc_type is not None)
        except FaultRevertError:
            if exc_type is None:
                raise
