"""Signals and aborts during a run: SIGINT, SIGTERM and SIGHUP (its terminal closed) mean
the same at every phase.

::

    setup, baseline,   the first signal raises KeyboardInterrupt in the main thread at
    inject, recover    once (a blocked call is cut short): the runner goes to teardown
    teardown, analyze  signals are noted, never raised: healing and the reports finish
                       (each step is bounded by its own timeout)

Either way the signal is journaled as ``signal_received`` (with the phase it arrived
in) the moment it arrives, the run's status becomes ``interrupted`` and the CLI exits
130 after the reports are written. Injecting or reverting one fault is never cut in
half: inside ``deferred()`` a signal waits until the step is done (and journaled).

Another thread can end the run too: ``abort(reason)`` (the fault proxy died) raises
:class:`~harness.errors.RunAborted` in the main thread at its next instruction, by
``_thread.interrupt_main`` (exit code 3, not 130: nobody asked for it). ``stop(reason)``
does the same for a stop condition the scenario asked for (``abort_if``): the run's
status is then ``aborted`` (exit code 5).

>>> with RunGuard(journal) as guard:  # doctest: +SKIP
...     try:
...         run_phases()
...     finally:
...         guard.hold()   # teardown: signals are noted from here on
...         teardown()
"""

from __future__ import annotations

import _thread
import contextlib
import os
import signal
import threading
from typing import Iterator

from harness.errors import HarnessError, RunAborted
from harness.journal import Journal
from harness.timeline.records import SignalReceived

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""SIGHUP too: the terminal of a run (a game day) closed; heal as for Ctrl-C."""
_NEXT = {"teardown": "the teardown (healing) goes on, then the reports",
         "analyze": "the reports are finished"}


class RunGuard:
    """Owns SIGINT/SIGTERM for one run (see the module docstring)."""

    def __init__(self, journal: Journal):
        self.journal = journal
        self.signals: list[str] = []
        """Names of the signals received, in order (``SIGINT``, ``SIGTERM``)."""
        self.abort_reason: str | None = None
        """Why another thread ended the run, if one did."""
        self.stopped = False
        """True when a stop condition (``abort_if``) ended the run: its status is ``aborted``."""
        self._armed = True  # the next signal (or abort) raises; only ever once
        self._deferring = False
        self._pending: BaseException | None = None
        self._abort_requested = False
        self._installed = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> "RunGuard":
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in SIGNALS}
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous, self._installed = {}, False

    @property
    def interrupted(self) -> bool:
        """True once any SIGINT or SIGTERM arrived."""
        return bool(self.signals)

    def hold(self) -> None:
        """From now on (teardown, analyze) signals and aborts are noted, never raised."""
        self._armed, self._pending = False, None

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Run a step that must not be cut in half; a signal meanwhile raises after it."""
        self._deferring = True
        try:
            yield
        finally:  # if the step raised, its error goes on; the signal is noted all the same
            self._deferring = False
            pending, self._pending = self._pending, None
        if pending is not None and self._armed:
            self._armed = False
            raise pending

    def abort(self, reason: str) -> None:
        """From any thread: end the run with RunAborted(reason) in the main thread."""
        if self.abort_reason is not None:
            return
        self.abort_reason = reason
        if self._installed:
            self._abort_requested = True
            _thread.interrupt_main(signal.SIGINT)

    def stop(self, reason: str) -> None:
        """From any thread: a stop condition held; end the run like :meth:`abort`, as ``aborted``."""
        if self.abort_reason is None and self._armed:
            self.stopped = True
            self.abort(reason)

    def check(self) -> None:
        """Raise RunAborted if another thread aborted the run. For the runner's polling
        loops, when the guard runs outside the main thread and has no handlers to use."""
        if self.abort_reason is not None and self._armed and not self._installed:
            self._armed = False
            raise RunAborted(self.abort_reason)

    def _handle(self, signum: int, frame: object) -> None:
        if self._abort_requested:  # not a signal: abort() simulated one
            self._abort_requested = False
            exc: BaseException = RunAborted(self.abort_reason)
        else:
            name = signal.Signals(signum).name
            self.signals.append(name)
            self._note(name)
            exc = KeyboardInterrupt(name)
        if not self._armed:
            return
        if self._deferring:
            self._pending = self._pending or exc
            return
        self._armed = False
        raise exc

    def _note(self, name: str) -> None:
        phase = self.journal.phase
        try:
            self.journal.emit(SignalReceived(signal=name))
        except HarnessError:  # a full disk: the status still says interrupted
            pass
        then = _NEXT.get(phase, "stopping: healing and tearing down")
        with contextlib.suppress(OSError):  # a closed terminal (SIGHUP) must not cut the healing short
            os.write(2, f"chaos-harness: {name} during {phase}: {then}, then exiting 130\n".encode())
