"""The run's append-only journal: one JSON object per line, written as it happens.

Every record has ``ts`` (wall clock, epoch seconds), ``t`` (monotonic seconds since the
run started), ``kind`` (a past-tense fact such as ``fault_injected``) and ``phase``
(``setup``, ``baseline``, ``inject``, ``recover``, ``teardown``, ``analyze``), plus the
kind's own fields. Each line is written with one ``write(2)`` and fsynced before the
action it announces is taken, so a crash leaves a journal that ``chaos-harness
cleanup`` and ``report`` can read.

A write that fails (a full disk) raises :class:`JournalWriteError` and stops the
journal for good: later records raise too and are never appended after a torn line.
The run then has no ``run_finished`` record, which its report calls incomplete. A
journal opened again after a torn line (by ``cleanup``) ends that line first.

>>> with Journal(Path("/tmp/j.jsonl")) as journal:  # doctest: +SKIP
...     journal.record("run_started", run_id="r1")
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

from harness.errors import JournalWriteError

if TYPE_CHECKING:
    from harness.timeline.records import Record

JOURNAL_FILE = "journal.jsonl"
REQUEST_LOG_FILE = "requests.jsonl"
LOAD_EVENTS_FILE = "load-events.jsonl"
"""Locust's own events (``test_start``, ``totals``), written by the locustfile wrapper."""


class Journal:
    """Appends records to ``path``; safe to call from several threads and from a
    signal handler (the lock is re-entrant and each line is one ``write``)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        self._torn = _ends_torn(self._fd)  # a line cut short before: end it before appending
        self._lock = threading.RLock()
        self._t0 = time.monotonic()
        self.phase = "setup"
        """The phase stamped on every record until changed (see ``enter_phase``)."""
        self.listeners: list = []
        """Callables ``(record: dict) -> None`` told of every record after it is on disk."""
        self.failure: str | None = None
        """Why the journal stopped: the first write error, or None while it works."""

    def record(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Write one record durably and return it; JournalWriteError if it cannot."""
        entry = {"ts": time.time(), "t": round(time.monotonic() - self._t0, 6),
                 "kind": kind, "phase": self.phase, **fields}
        data = (json.dumps(entry, default=str) + "\n").encode()
        if self._torn:
            data = b"\n" + data
        with self._lock:
            if self._fd is None:
                return entry
            if self.failure is not None:
                raise JournalWriteError(self.explain_failure())
            try:
                if os.write(self._fd, data) != len(data):
                    self._torn = True
                    raise OSError(f"short write of {len(data)} bytes (is the disk full?)")
                os.fsync(self._fd)
                self._torn = False
            except OSError as exc:
                self.failure = f"{self.path}: {exc}"
                raise JournalWriteError(self.explain_failure()) from exc
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:  # a listener bug must not stop the run
                pass
        return entry

    def explain_failure(self) -> str:
        """Why the journal stopped, as the run's error says it."""
        return f"the journal could not be written ({self.failure}): this run's record is incomplete"

    def enter_phase(self, phase: str) -> None:
        """Stamp later records with ``phase``; record ``phase_started`` when it changes."""
        if phase != self.phase:
            self.phase = phase
            self.record("phase_started")

    def close(self) -> None:
        """Close the file; later records are dropped."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ends_torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def scan_jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    """The records of a JSONL file and the number of torn lines (not a JSON object)."""
    records, torn = [], 0
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                record = None
            if isinstance(record, dict):
                records.append(record)
            else:
                torn += 1
    return records, torn


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records (JSON objects) of a JSONL file, skipping a torn line left by a
    crash and any line that is not an object (a file that is not ours yields nothing)."""
    yield from scan_jsonl(path)[0]


def read_journal(run_dir: Path) -> list[dict[str, Any]]:
    """All records of a run's journal, in order."""
    return list(read_jsonl(Path(run_dir) / JOURNAL_FILE))


def read_records(run_dir: Path) -> list["Record"]:
    """A run's journal as typed records (``harness.timeline.records``), in order.

    Raises TimelineError naming the line when a known kind does not fit its type.
    """
    from harness.timeline.records import TimelineError, parse_record

    out = []
    for number, raw in enumerate(read_jsonl(Path(run_dir) / JOURNAL_FILE), start=1):
        try:
            out.append(parse_record(raw))
        except (TimelineError, TypeError) as exc:
            raise TimelineError(f"{Path(run_dir) / JOURNAL_FILE}: record {number}: {exc}") from exc
    return out
