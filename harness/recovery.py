"""Recovery time, measured on the request timeline itself (``docs/recovery-time.md``).

* **R** is the fault's revert instant (an instant fault such as a kill: its inject
  instant); **the horizon** is the first other fault injected at or after R, or the
  end of the load;
* the candidates are the grid ``R + k·resolution``; a steady-state window ``[j, j+W)``
  (``W`` = ``steady_state.window``) *holds* when it has requests and every SLO of
  ``steady_state.slo`` is met over it;
* **S** is the earliest grid point from which every window ``[j, j+W)`` with ``j`` on
  the grid and ``j + W <= horizon`` holds, with at least one such window;
* **recovery time = S − R**: within one resolution step of the moment the requests
  (placed by attribution, see ``harness.analysis``) show the steady state again.

Every window on the grid is judged at once (:class:`WindowBatch`): counts come from
running sums, and a latency percentile is compared with its bound by counting the
requests under the bound, so no window is ever sorted.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from harness.analysis import FaultWindow, Requests, Run


@dataclass(frozen=True)
class Recovery:
    """How long the system took to hold its steady state again after one fault."""

    fault: str
    start: float | None
    """R, seconds from load start; None when the fault was never reverted."""
    horizon: float
    """The next fault's injection or the end of the load, whichever is first."""
    recovered_at: float | None
    """S, the grid point from which the steady state keeps holding."""
    measurable: bool
    reason: str
    """Why ``time_s`` is None; empty when recovered."""
    resolution_s: float = 0.1

    @property
    def time_s(self) -> float | None:
        """S − R; None if not recovered or not measurable."""
        if self.recovered_at is None or self.start is None:
            return None
        return round(max(0.0, self.recovered_at - self.start), 6)


@dataclass(frozen=True, eq=False)
class WindowBatch:
    """Many windows ``[start, start + length)`` over one run's requests, judged at once."""

    requests: Requests
    start: np.ndarray
    length: float
    lo: np.ndarray
    """Index of each window's first request in ``requests``; ``hi`` one past its last."""
    hi: np.ndarray
    run: Any = None
    """The run the windows are over (checks that need more than the requests: golden answers)."""

    def count(self, column: np.ndarray) -> np.ndarray:
        """How many requests of each window have ``column`` (a bool column) true."""
        window = slice(int(self.lo.min()), int(self.hi.max()))
        prefix = np.concatenate(([0], np.cumsum(column[window], dtype=np.int64)))
        return prefix[self.hi - window.start] - prefix[self.lo - window.start]

    @property
    def duration(self) -> np.ndarray:
        """Each window's length, computed as ``(start + length) - start`` exactly as a
        single window's is, so that rates per second agree to the last bit."""
        return (self.start + self.length) - self.start

    @property
    def requests_due(self) -> np.ndarray:
        """Requests counted in each window."""
        return self.hi - self.lo

    def latency_under(self, bound_ms: float, *, inclusive: bool) -> np.ndarray:
        """How many requests of each window have a latency < ``bound_ms`` (<= if inclusive)."""
        below = (self.requests.latency_ms <= bound_ms if inclusive
                 else self.requests.latency_ms < bound_ms)
        return self.count(below)


def window_batch(run: Run, starts: np.ndarray, length: float) -> WindowBatch:
    """The windows ``[s, s + length)`` for each ``s`` of ``starts``."""
    at = run.requests.at
    return WindowBatch(requests=run.requests, start=starts, length=length, run=run,
                       lo=np.searchsorted(at, starts, side="left"),
                       hi=np.searchsorted(at, starts + length, side="left"))


def grid(start: float, stop: float, step: float) -> np.ndarray:
    """``start + k·step`` for k = 0, 1, ... while it is <= ``stop`` (within 1 ns)."""
    if stop < start - 1e-9:
        return np.empty(0)
    return start + step * np.arange(math.floor((stop - start) / step + 1e-9) + 1)


def measure_recovery(run: Run, fault: FaultWindow, *, window_s: float, resolution: float,
                     holds: Callable[[WindowBatch], np.ndarray]) -> Recovery:
    """Recovery of ``fault`` as defined in this module's docstring.

    ``holds(batch)`` says, for each window of the batch, whether the steady state holds.

    >>> measure_recovery(run, run.faults[0], window_s=5, resolution=0.1,  # doctest: +SKIP
    ...                  holds=SteadyState(slo).holds_batch).time_s
    """
    start = fault.recovery_start
    later = [f.start for f in run.faults if f.name != fault.name and start is not None
             and f.start >= start]
    horizon = min([run.duration_s, *later])
    ends = "the next fault" if later and min(later) < run.duration_s else "the end of load"
    where = f"{ends} (t={horizon:.2f} s)"

    def outcome(recovered_at: float | None, measurable: bool, reason: str) -> Recovery:
        return Recovery(fault=fault.name, start=start, horizon=horizon,
                        recovered_at=recovered_at, measurable=measurable, reason=reason,
                        resolution_s=resolution)

    if start is None:
        return outcome(None, False, "the fault was never reverted")
    starts = grid(start, horizon - window_s, resolution)
    if len(starts) == 0:
        return outcome(None, False, f"no full {window_s:g} s window between its end "
                       f"(t={start:.2f} s) and {where}")
    held = np.asarray(holds(window_batch(run, starts, window_s)), dtype=bool)
    if not held[-1]:
        last = float(starts[-1])
        return outcome(None, True, f"the steady state did not hold over [{last:.2f}, "
                       f"{last + window_s:.2f}) s, the last window before {where}")
    failing = np.flatnonzero(~held)
    recovered_at = float(starts[failing[-1] + 1] if len(failing) else starts[0])
    return outcome(recovered_at, True, "")
