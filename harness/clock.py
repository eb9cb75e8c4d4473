"""The clock a run keeps time by: the system's, or a fake one that advances instantly.

The runner, the journal and the faults read time only through a :class:`Clock`, so the
runner's ordering and its fault timing are tested on :class:`FakeClock` in
milliseconds, and ``run --dry-run`` plays a whole scenario without waiting.

Faults land on time because :meth:`SystemClock.wait_until` sleeps coarsely until
``SPIN_S`` before the deadline and then spins on the clock: a sleep on a busy machine
can overshoot by milliseconds, a spin cannot::

    ---- sleep ---------------------|-- spin --|
                          deadline - SPIN_S    deadline -> the change is made

>>> clock = FakeClock(start=100.0)
>>> clock.sleep(2.5); clock.time()
102.5
"""

from __future__ import annotations

import heapq
import itertools
import time
from typing import Callable, Protocol, runtime_checkable

SPIN_S = 0.002
"""How long before a deadline :meth:`SystemClock.wait_until` stops sleeping and spins."""


@runtime_checkable
class Clock(Protocol):
    """Wall-clock and monotonic time, and ways to wait for it."""

    def time(self) -> float:
        """Now, epoch seconds (what every record's ``ts`` holds)."""

    def monotonic(self) -> float:
        """A clock that never goes back, seconds (only differences mean something)."""

    def sleep(self, seconds: float) -> None:
        """Wait about ``seconds`` (a poll interval: may overshoot)."""

    def wait_until(self, deadline: float) -> None:
        """Return at ``deadline`` (epoch seconds), as precisely as this clock can; at once if past."""


class SystemClock:
    """The real clock; :meth:`wait_until` sleeps, then spins the last ``SPIN_S``."""

    def time(self) -> float:
        """``time.time()``."""
        return time.time()

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` (nothing for a negative time)."""
        if seconds > 0:
            time.sleep(seconds)

    def wait_until(self, deadline: float) -> None:
        """Sleep until ``SPIN_S`` before ``deadline``, then spin until it."""
        while (remaining := deadline - time.time()) > SPIN_S:
            time.sleep(remaining - SPIN_S)
        while time.time() < deadline:
            pass


class FakeClock:
    """A clock that only moves when someone waits on it, and then at once.

    ``at(when, action)`` runs ``action()`` when the clock passes ``when`` (for a test: a
    signal at a chosen moment of a run). Not thread-safe: one thread waits on it.
    """

    def __init__(self, start: float = 1_700_000_000.0):
        self.now = start
        """The current time, epoch seconds."""
        self._alarms: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()

    def time(self) -> float:
        """The current fake time."""
        return self.now

    def monotonic(self) -> float:
        """The same as :meth:`time`: a fake clock never goes back."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds``, running the alarms passed on the way."""
        self._advance(self.now + max(0.0, seconds))

    def wait_until(self, deadline: float) -> None:
        """Advance exactly to ``deadline`` (not back, if it is past)."""
        self._advance(max(self.now, deadline))

    def at(self, when: float, action: Callable[[], None]) -> None:
        """Run ``action()`` once the clock reaches ``when``."""
        heapq.heappush(self._alarms, (when, next(self._order), action))

    def _advance(self, to: float) -> None:
        while self._alarms and self._alarms[0][0] <= to:
            when, _, action = heapq.heappop(self._alarms)
            self.now = max(self.now, when)
            action()
        self.now = to
