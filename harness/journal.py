"""The run's append-only journal: one JSON object per line, written as it happens.

Every record has ``ts`` (wall clock, epoch seconds), ``t`` (monotonic seconds since the
run started), ``kind`` (a past-tense fact such as ``fault_injected``) and ``phase``
(``setup``, ``baseline``, ``inject``, ``recover``, ``teardown``), plus the kind's own
fields. Each line is flushed and fsynced before the action it announces is taken, so a
crash leaves a journal that ``chaos-harness cleanup`` and ``report`` can read.

>>> with Journal(Path("/tmp/j.jsonl")) as journal:  # doctest: +SKIP
...     journal.record("run_started", run_id="r1")
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

JOURNAL_FILE = "journal.jsonl"
REQUEST_LOG_FILE = "requests.jsonl"


class Journal:
    """Appends records to ``path``; safe to call from several threads."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a", encoding="utf-8")
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        self.phase = "setup"
        """The phase stamped on every record until changed."""
        self.listeners: list = []
        """Callables ``(record: dict) -> None`` told of every record after it is on disk."""

    def record(self, kind: str, **fields: Any) -> dict[str, Any]:
        """Write one record durably and return it."""
        entry = {"ts": time.time(), "t": round(time.monotonic() - self._t0, 6),
                 "kind": kind, "phase": self.phase, **fields}
        line = json.dumps(entry, default=str)
        with self._lock:
            if self._file.closed:
                return entry
            self._file.write(line + "\n")
            self._file.flush()
            os.fsync(self._file.fileno())
        for listener in list(self.listeners):
            try:
                listener(entry)
            except Exception:  # a listener bug must not stop the run
                pass
        return entry

    def close(self) -> None:
        """Close the file; later records are dropped."""
        with self._lock:
            self._file.close()

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the records (JSON objects) of a JSONL file, skipping a torn last line left by a
    crash and any line that is not an object (a file that is not ours yields nothing)."""
    with open(path, encoding="utf-8", errors="replace") as handle:
        for line in handle:
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                continue
            if isinstance(record, dict):
                yield record


def read_journal(run_dir: Path) -> list[dict[str, Any]]:
    """All records of a run's journal, in order."""
    return list(read_jsonl(Path(run_dir) / JOURNAL_FILE))
