"""The run's append-only journal: one JSON object per line, written as it happens.

Every record has ``ts`` (wall clock, epoch seconds), ``t`` (monotonic seconds since the
run started), ``kind`` (a past-tense fact such as ``fault_injected``) and ``phase``
(``setup``, ``baseline``, ``inject``, ``recover``, ``teardown``, ``analyze``), plus the
kind's own fields. Each line is written with one ``write(2)`` and fsynced before the
action it announces is taken, so a crash leaves a journal that ``chaos-harness
cleanup`` and ``report`` can read.

The journal keeps ``RESERVE_BYTES`` of disk allocated past its end (``fallocate``,
the file's size unchanged), renewed as it grows: a disk that fills up mid-run still
takes the records of the healing that follows (``fault_reverted``, ``pipeline_down``,
``run_finished``). A write that fails anyway raises :class:`JournalWriteError` and
stops the journal for good: later records raise too and are never appended after a
torn line.
The run then has no ``run_finished`` record, which its report calls incomplete. A
journal opened again after a torn line (by ``cleanup``) ends that line first.

Writers build a typed record (``harness.timeline.records``) and hand it to
:meth:`Journal.emit`; whoever reacts during the run (the console, the pytest plugin, the
stop on a dead proxy) listens on ``journal.events.record``, fired once the line is on
disk::

    >>> with Journal(Path("/tmp/j.jsonl")) as journal:  # doctest: +SKIP
    ...     journal.events.record.add_listener(lambda record, **_: print(record.kind))
    ...     journal.emit(SetupStarted(command=["make"]))
    setup_started

``Journal(None)`` keeps nothing on disk: its records only reach the listeners (the
dry run).
"""

from __future__ import annotations

import ctypes
import dataclasses
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, TypeVar

from harness.errors import JournalWriteError
from harness.timeline.events import Events
from harness.timeline.records import PhaseStarted, Record

if TYPE_CHECKING:
    from harness.clock import Clock

R = TypeVar("R", bound=Record)

RESERVE_BYTES = 64 * 1024
"""Disk space kept allocated past the journal's end for the records of a run's healing."""
_FALLOC_FL_KEEP_SIZE = 0x01

JOURNAL_FILE = "journal.jsonl"
REQUEST_LOG_FILE = "requests.jsonl"
LOAD_EVENTS_FILE = "load-events.jsonl"
"""Locust's own events (``test_start``, ``totals``), written by the locustfile wrapper."""


class Journal:
    """Appends records to ``path``; safe to call from several threads and from a
    signal handler (the lock is re-entrant and each line is one ``write``)."""

    def __init__(self, path: Path | None, *, events: Events | None = None, clock: "Clock | None" = None):
        self.path = None if path is None else Path(path)
        self._fd: int | None = None
        self._torn = False
        self._size = self._reserved = 0  # bytes written; end of the disk space reserved
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            self._torn = _ends_torn(self._fd)  # a line cut short before: end it before appending
            self._size = os.fstat(self._fd).st_size
            self._reserved = _reserve(self._fd, self._size)
        self._lock = threading.RLock()
        self._time = clock.time if clock is not None else time.time
        self._monotonic = clock.monotonic if clock is not None else time.monotonic
        self._t0 = self._monotonic()
        self._open = True
        self.phase = "setup"
        """The phase stamped on every record until changed (see ``enter_phase``)."""
        self.events = events if events is not None else Events()
        """The run's event bus: ``events.record`` fires with every record once it is durable."""
        self.failure: str | None = None
        """Why the journal stopped: the first write error, or None while it works."""

    def emit(self, record: R) -> R:
        """Stamp ``record`` (``ts``, ``t``, ``phase``), write it durably, tell the
        listeners, and return the stamped record; JournalWriteError if it cannot be written."""
        stamped = dataclasses.replace(record, ts=self._time(), t=round(self._monotonic() - self._t0, 6),
                                      phase=self.phase)
        with self._lock:
            if not self._open:
                return stamped
            if self.failure is not None:
                raise JournalWriteError(self.explain_failure())
            if self._fd is not None:
                self._write(stamped)
        self.events.record.fire(record=stamped)
        return stamped

    def _write(self, record: Record) -> None:
        data = (json.dumps(record.to_json(), default=str) + "\n").encode()
        if self._torn:
            data = b"\n" + data
        try:
            written = os.write(self._fd, data)
            self._size += written
            if written != len(data):
                self._torn = True
                raise OSError(f"short write of {len(data)} bytes (is the disk full?)")
            os.fsync(self._fd)
            self._torn = False
            if self._reserved - self._size < RESERVE_BYTES // 2:
                self._reserved = max(self._reserved, _reserve(self._fd, self._size))
        except OSError as exc:
            self.failure = f"{self.path}: {exc}"
            raise JournalWriteError(self.explain_failure()) from exc

    def explain_failure(self) -> str:
        """Why the journal stopped, as the run's error says it."""
        return f"the journal could not be written ({self.failure}): this run's record is incomplete"

    def enter_phase(self, phase: str) -> None:
        """Stamp later records with ``phase``; emit ``phase_started`` when it changes."""
        if phase != self.phase:
            self.phase = str(phase)
            self.emit(PhaseStarted())

    def close(self) -> None:
        """Close the file; later records are dropped (and reach no listener)."""
        with self._lock:
            self._open = False
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reserve(fd: int, size: int) -> int:
    """Allocate ``RESERVE_BYTES`` past ``size`` (the size stays); return the end of the
    reserve, or ``size`` where the filesystem or the disk would not (no error: it is a margin)."""
    try:
        fallocate = ctypes.CDLL(None, use_errno=True).fallocate
    except (OSError, AttributeError):
        return size
    done = fallocate(fd, _FALLOC_FL_KEEP_SIZE, ctypes.c_longlong(size), ctypes.c_longlong(RESERVE_BYTES))
    return size + RESERVE_BYTES if done == 0 else size


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


def read_records(run_dir: Path) -> list[Record]:
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
