"""The timeline: the spine of a run. Every record a run writes is declared once, as a
type, here; writers emit typed records, readers parse typed records, and listeners
subscribe to one event bus.

* :mod:`harness.timeline.records` — the journal's record kinds (``journal.jsonl``);
* :mod:`harness.timeline.requests` — the request record (``requests.jsonl``);
* :mod:`harness.timeline.events` — :class:`Events`, the one bus, and its hooks.
"""

from harness.timeline.events import EventHook, Events
from harness.timeline.records import Phase, Record, TimelineError, parse_record, record_types
from harness.timeline.requests import REQUEST_FIELDS, REQUEST_LOG_FILE, Request, parse_request

__all__ = ["EventHook", "Events", "Phase", "REQUEST_FIELDS", "REQUEST_LOG_FILE", "Record",
           "Request", "TimelineError", "parse_record", "parse_request", "record_types"]
