"""One fault's activation as a context manager: journaled, on time, reverted exactly once.

::

    with FaultActivation(spec, ctx, planned_ts=due):   # entered a little BEFORE ``due``:
        #   journal fault_injecting (planned_ts)        durable before anything changes
        #   fault.prepare + ledger.prepare              proxy / PID looked up, snapshot taken
        #   ctx.clock.wait_until(due)                   sleep, then spin the last 2 ms (real-time from here)
        #   undo = inject                               ONE call
        #   journal fault_injected                      planned, call, effective times; lag
        ...                                            # revert(planned_ts=end) at the end of ``for``
    # on exit, even on Ctrl-C: revert() if not done, journal fault_reverted

Without ``planned_ts`` the fault is injected at once (tests, tools). The garbage
collector is held off from the wait to the end of the call (``gc_paused``): a full
collection in a process that has loaded pandas takes tens of milliseconds. The wait and
the call run real-time where the harness may (``harness.priority.time_critical``): on a
busy machine a thread that wakes up otherwise waits for a core. Injection goes
through the context's :class:`~harness.ledger.TargetLedger`, which stacks faults on one
target. If anything fails before the change is made, the activation undoes what it
prepared; if ``inject`` raises, whatever it half-applied is its own to undo (each
fault's inject is written that way). Either way it journals ``fault_reverted`` with
``ok: false`` before raising FaultApplyError.
"""

from __future__ import annotations

import contextlib
from typing import Any

from harness.errors import FaultApplyError, FaultRevertError, HarnessError
from harness.faults.base import FaultContext, Undo
from harness.faults.registry import get_fault
from harness.gcpause import gc_paused
from harness.priority import time_critical
from harness.model import FaultSpec
from harness.timeline.records import FaultInjected, FaultInjecting, FaultReverted


class FaultActivation:
    """Injects ``spec`` on enter (at ``planned_ts``) and reverts it once, on ``revert()`` or on exit."""

    def __init__(self, spec: FaultSpec, ctx: FaultContext, *, planned_ts: float | None = None):
        self.spec, self.ctx, self.planned_ts = spec, ctx, planned_ts
        self.fault = get_fault(spec.kind)(spec.params)
        self._undo: Undo | None = None

    def _fields(self) -> dict[str, Any]:
        return {"fault": self.spec.name, "fault_kind": self.spec.kind, "target": self.fault.target()}

    def __enter__(self) -> "FaultActivation":
        ctx = self.ctx
        ctx.journal.emit(FaultInjecting(**self._fields(), params=self.spec.params.model_dump(mode="json"),
                                        instant=self.fault.instant, planned_ts=self.planned_ts))
        with gc_paused():
            try:
                self.fault.prepare(ctx)
                ctx.ledger.prepare(self.fault, ctx)
            except BaseException as exc:
                self._not_injected(exc)
            with time_critical():
                try:
                    self._wait()
                except BaseException as exc:
                    self._not_injected(exc)
                call_ts, ctx.effective_ts = ctx.clock.time(), None
                try:
                    self._undo = ctx.ledger.inject(self.fault, ctx)
                except BaseException as exc:
                    ctx.journal.emit(FaultReverted(**self._fields(), ok=False, error=f"inject failed: {_text(exc)}",
                                                   interrupted=not isinstance(exc, Exception)))
                    self._raise(exc)
            times = _times(self.planned_ts, call_ts, ctx)
        ctx.journal.emit(FaultInjected(**self._fields(), instant=self.fault.instant, **times))
        return self

    def _wait(self) -> None:
        """Wait for the planned time; undo the preparation if cut short."""
        try:
            if self.planned_ts is not None:
                self.ctx.clock.wait_until(self.planned_ts)
        except BaseException:
            self.ctx.ledger.abandon(self.fault, self.ctx)
            raise

    def _not_injected(self, exc: BaseException) -> None:
        """Journal that the fault was never injected (``fault_reverted``, not ok), then raise."""
        self.ctx.journal.emit(FaultReverted(**self._fields(), ok=False, error=f"not injected: {_text(exc)}",
                                            interrupted=not isinstance(exc, Exception)))
        self._raise(exc)

    def _raise(self, exc: BaseException) -> None:
        if isinstance(exc, HarnessError) or not isinstance(exc, Exception):
            raise exc
        raise FaultApplyError(f"fault {self.spec.name!r} ({self.spec.kind}) could not be injected: "
                              f"{exc}") from exc

    def revert(self, *, interrupted: bool = False, planned_ts: float | None = None) -> None:
        """Revert (at ``planned_ts``, else now; idempotent) and journal ``fault_reverted``."""
        undo, self._undo = self._undo, None
        if undo is None:
            return
        ctx = self.ctx
        if planned_ts is not None:
            with contextlib.suppress(Exception):  # the undo itself will say what is wrong
                self.fault.prepare(ctx)  # the look-up again: the connection is warm at the due time
        with gc_paused(), time_critical():
            if planned_ts is not None:
                ctx.clock.wait_until(planned_ts)
            call_ts, ctx.effective_ts = ctx.clock.time(), None
            try:
                undo()
            except Exception as exc:
                error = exc
            else:
                error = None
            times = _times(planned_ts, call_ts, ctx)
        ctx.journal.emit(FaultReverted(**self._fields(), ok=error is None, interrupted=interrupted,
                                       error=None if error is None else str(error), **times))
        if error is not None:
            raise FaultRevertError(f"fault {self.spec.name!r} could not be reverted: {error}; "
                                   f"run `chaos-harness cleanup`") from error

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.revert(interrupted=exc_type is not None)
        except FaultRevertError:
            if exc_type is None:
                raise



def _times(planned_ts: float | None, call_ts: float, ctx: FaultContext) -> dict[str, float | None]:
    """``planned_ts``, ``call_ts``, ``effective_ts`` and ``lag_ms`` of the change just made."""
    effective = ctx.effective_ts if ctx.effective_ts is not None else ctx.clock.time()
    lag = None if planned_ts is None else round((effective - planned_ts) * 1000.0, 3)
    return {"planned_ts": planned_ts, "call_ts": call_ts, "effective_ts": effective, "lag_ms": lag}


def _text(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
