"""The request record: one line of ``requests.jsonl`` per request the load was due to make.

Written by the locustfile wrapper (``harness/_locust_entry.py``), in Locust's own
process, and read back column-wise by the analysis. Each request carries its
**intended** start (when its user's pacing schedule said it was due) as well as its
actual one, so a stalled pipeline cannot hide its stall by blocking the load
(coordinated omission, see ``docs/measurement.md``)::

    intended_ts      ts (sent)                 ts + service_ms
        |----- queued ----|------- service --------|
        |<------------- latency_ms ---------------->|

A request that was due while its user was still blocked on an earlier one is written
with ``sent: false``: it was never sent; ``ts`` is when its user was free again, and
it takes the outcome of the request that blocked it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

REQUEST_LOG_FILE = "requests.jsonl"


@dataclass(frozen=True, kw_only=True)
class Request:
    """One request of the load."""

    intended_ts: float
    """When it was due on its user's pacing schedule, epoch seconds."""
    ts: float
    """When it was sent (for one never sent: when its user was free again), epoch seconds."""
    service_ms: float
    """From sending to the complete answer (0 when never sent)."""
    name: str = ""
    ok: bool = True
    status: int = 0
    error: str | None = None
    flags: tuple[str, ...] = ()
    """The flags set in the answer (the pipeline's ``answers.flags`` that were ``true``)."""
    sent: bool = True
    """False: due while its user was blocked, never sent (see the module docstring)."""
    user: int | None = None

    @property
    def latency_ms(self) -> float:
        """From when it was due to the answer: what a caller on the schedule waited."""
        return (self.ts - self.intended_ts) * 1000.0 + self.service_ms

    @property
    def end_ts(self) -> float:
        """When the answer was complete, epoch seconds."""
        return self.ts + self.service_ms / 1000.0

    def to_json(self) -> dict[str, Any]:
        """The line's object; optional fields at their default are left out (a shorter
        line is a faster one to read back: ``parse_request`` restores them)."""
        out = asdict(self)
        out["flags"] = list(self.flags)
        return {k: v for k, v in out.items() if k in _REQUIRED or v != _DEFAULTS[k]}


REQUEST_FIELDS = tuple(f.name for f in fields(Request))
"""The columns of ``requests.jsonl``, in order."""
_REQUIRED = ("intended_ts", "ts", "service_ms", "ok")
_DEFAULTS = {"name": "", "status": 0, "error": None, "flags": [], "sent": True, "user": None}


def parse_request(data: dict[str, Any]) -> Request:
    """A Request from one line's object, including the version-1 shape.

    Version 1 (before intended starts) had ``latency_ms`` (service time) and each flag
    as a top-level boolean: it reads as sent on schedule with its ``true`` ones as flags.
    """
    if "intended_ts" not in data and "ts" in data:
        data = {**data, "intended_ts": data["ts"], "service_ms": data.get("latency_ms", 0.0),
                "flags": [k for k, v in data.items() if v is True and k != "ok"]}
    known = {f.name for f in fields(Request)}
    values = {k: v for k, v in data.items() if k in known}
    values["flags"] = tuple(values.get("flags") or ())
    return Request(**values)
