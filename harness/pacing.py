"""A load user's own pacing schedule, kept by the harness (not by Locust's wait_time).

Slot ``k`` of a user is due at ``t0 + k / rate``. The request a task makes first
carries its slot's due time as its *intended* start; a request that ends after later
slots came due means those slots were never sent: they are written as ``sent: false``
records with the blocking request's outcome, and the schedule moves on to the first
slot not yet due (no catch-up burst). This is what lets the analysis count what was
due in a window and measure latency from when it was due, so a stalled pipeline cannot
hide its stall by blocking the load (coordinated omission, ``docs/measurement.md``)::

    schedule = Schedule(t0=time.time(), rate=10.0)
    intended = schedule.claim()          # the first request of a task: its slot's due time
    ...                                  # the task's requests run
    omitted, wait = schedule.finish(time.time())

Pure and clock-free: the locustfile wrapper drives it with ``time.time()``, the tests
with synthetic times.
"""

from __future__ import annotations

from dataclasses import replace

from harness.timeline.requests import Request


class Schedule:
    """One user's slots, due every ``1 / rate`` seconds from ``t0`` (epoch seconds)."""

    def __init__(self, *, t0: float, rate: float):
        self.t0, self.rate = t0, rate
        self.slot = 0
        """The slot the current (or next) task belongs to."""
        self._claimed = False

    def due(self, slot: int) -> float:
        """When ``slot`` is due, epoch seconds."""
        return self.t0 + slot / self.rate

    def claim(self) -> float | None:
        """The current slot's due time for the first request of a task; None for the
        task's later requests (they carry their own start)."""
        if self._claimed:
            return None
        self._claimed = True
        return self.due(self.slot)

    def finish(self, now: float) -> tuple[list[float], float]:
        """A task ended at ``now``: the due times of the slots that came due meanwhile
        (never sent), and how long to wait for the next slot (which it now is)."""
        slot, omitted = self.slot + 1, []
        while self.due(slot) <= now:
            omitted.append(self.due(slot))
            slot += 1
        self.slot, self._claimed = slot, False
        return omitted, max(0.0, self.due(slot) - now)


def omitted_requests(blocking: Request, due: list[float], now: float) -> list[Request]:
    """The records of slots due while ``blocking`` held their user, who was free at
    ``now``: never sent, service 0, the blocking request's outcome."""
    return [replace(blocking, intended_ts=at, ts=now, service_ms=0.0, sent=False) for at in due]
