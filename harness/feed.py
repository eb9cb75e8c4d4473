"""The live request feed: every request of the load, as it happens, into the run's events.

Locust's process writes each request line to ``requests.jsonl`` (the record) and also,
without blocking, to a pipe whose read end the harness holds (``CHAOS_REQUEST_FEED_FD``).
A reader thread parses each line into a :class:`~harness.timeline.requests.Request` and
fires ``events.request``: the live view, ``abort_if`` and the runbook's ``when``
triggers listen there. The feed is for reacting; the file stays the record judged
afterwards. A full pipe (the harness not reading for a while) drops lines from the feed
only, never from the file; Locust counts them in ``totals.feed_dropped``.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import threading

import orjson

from harness.timeline.events import Events
from harness.timeline.requests import parse_request

FEED_ENV = "CHAOS_REQUEST_FEED_FD"
PIPE_BYTES = 1 << 20
"""The pipe's capacity asked for (Linux ``F_SETPIPE_SZ``): seconds of requests."""
_F_SETPIPE_SZ = 1031
log = logging.getLogger("harness.timeline")


class RequestFeed:
    """A pipe from Locust to ``events.request`` (see the module docstring)."""

    def __init__(self, events: Events):
        self.events = events
        self.read_fd, self.write_fd = os.pipe()
        with contextlib.suppress(OSError):
            fcntl.fcntl(self.write_fd, _F_SETPIPE_SZ, PIPE_BYTES)
        self.received = 0
        """Request lines fired so far."""
        self._thread = threading.Thread(target=self._read, name="request-feed", daemon=True)

    def start(self) -> None:
        """Start reading; call once the writer (Locust) has been started with ``write_fd``."""
        os.close(self.write_fd)
        self.write_fd = -1
        self._thread.start()

    def _read(self) -> None:
        pending = b""
        with open(self.read_fd, "rb", buffering=0, closefd=True) as pipe:
            while chunk := pipe.read(PIPE_BYTES):
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    self._fire(line)

    def _fire(self, line: bytes) -> None:
        try:
            request = parse_request(orjson.loads(line))
        except (orjson.JSONDecodeError, TypeError, ValueError):
            log.warning("request feed: a line that is not a request: %.80r", line)
            return
        self.received += 1
        self.events.request.fire(request=request)

    def close(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the reader to reach the end of the feed; idempotent."""
        if self.write_fd >= 0:  # never started: nobody else holds the write end
            os.close(self.write_fd)
            self.write_fd = -1
            with contextlib.suppress(OSError):
                os.close(self.read_fd)
            return
        self._thread.join(timeout)
