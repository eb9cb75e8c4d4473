"""``requests.jsonl`` read column-wise: a million lines into numpy arrays, fast.

The request log is the largest file of a run (one line per request the load was due
to make, see :mod:`harness.timeline.requests`). It is read in chunks of a few MB: each
chunk is parsed by orjson in one call (its lines joined into one JSON array) and its
columns are copied into compact arrays at once, so no list of a million dicts ever
exists. The garbage collector is paused meanwhile: the parsed dicts are short-lived
and a collection pass over them would cost more than the parse.

A chunk that does not parse whole (a line torn by a crash or a full disk, a line that
is not a request) is read again line by line: a line that is not a JSON object, or an
object without finite ``intended_ts``/``ts``/``service_ms``, counts as torn and is left
out. Version-1 lines (before intended starts) read as sent on schedule
(``parse_request``'s rule). Each answer flag found in the log (``flags``) becomes one
boolean column, whatever the pipeline names it.

>>> log = read_request_log(Path("reports/latest/requests.jsonl"))  # doctest: +SKIP
>>> len(log), log.torn
(120000, 0)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import orjson

from harness.gcpause import gc_paused

CHUNK_BYTES = 4 << 20
"""How many bytes of lines are parsed in one orjson call."""

_COLUMNS = ("intended_ts", "ts", "service_ms", "ok", "sent")
Columns = tuple[tuple[np.ndarray, ...], dict[str, np.ndarray]]
"""The five fixed columns and one boolean column per flag."""


@dataclass(frozen=True, eq=False)
class RequestLog:
    """The request log as columns (one element per line, in file order)."""

    intended_ts: np.ndarray
    """float64, epoch seconds: when each request was due on its user's schedule."""
    ts: np.ndarray
    """float64, epoch seconds: when it was sent (never sent: when its user was free)."""
    service_ms: np.ndarray
    """float64: from sending to the answer (0 when never sent)."""
    ok: np.ndarray
    """bool: answered without failure."""
    sent: np.ndarray
    """bool: False for a slot that came due while its user was blocked."""
    flags: dict[str, np.ndarray]
    """Flag name -> bool per line: the answer carried that flag."""
    torn: int = 0
    """Lines that could not be read as a request (left out)."""

    def __len__(self) -> int:
        return len(self.ts)

    def flag(self, name: str) -> np.ndarray:
        """The column of flag ``name`` (all False when no answer carried it)."""
        column = self.flags.get(name)
        return column if column is not None else np.zeros(len(self), dtype=bool)

    @property
    def sent_lines(self) -> int:
        """Lines of requests that were sent (what Locust counted)."""
        return int(self.sent.sum())


def read_request_log(path: Path) -> RequestLog:
    """Read ``path`` (see the module docstring); an absent file is an empty log."""
    parts: list[Columns] = []
    torn = 0
    if Path(path).exists():
        with gc_paused(), open(path, "rb") as handle:
            while lines := handle.readlines(CHUNK_BYTES):
                columns, bad = _parse_chunk(lines)
                parts.append(columns)
                torn += bad
    return _join(parts, torn)


def request_log(records: Iterable[dict[str, Any]], *, torn: int = 0) -> RequestLog:
    """A RequestLog from line objects already parsed (tests, synthetic runs)."""
    good = [n for r in records if (n := _normalized(r)) is not None]
    return _join([_columns(good)], torn)


def _parse_chunk(lines: list[bytes]) -> tuple[Columns, int]:
    """The columns of one chunk and how many of its (non-blank) lines were torn."""
    try:
        records = orjson.loads(b"[" + b",".join(lines) + b"]")
        if len(records) != len(lines):  # two torn halves made one value
            raise ValueError("line count")
        bad = 0
    except (orjson.JSONDecodeError, ValueError):
        records = _line_by_line(lines)
        bad = sum(1 for line in lines if line.strip()) - len(records)
    for extract in (_columns, _columns_v1):
        try:
            columns = extract(records)
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
        if all(np.isfinite(columns[0][i]).all() for i in range(3)):
            return columns, bad
        break
    good = [n for r in records if (n := _normalized(r)) is not None]
    return _columns(good), bad + len(records) - len(good)


def _line_by_line(lines: list[bytes]) -> list[Any]:
    out = []
    for line in lines:
        if not line.strip():
            continue
        try:
            out.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            pass
    return out


def _flag_columns(flag_lists: list[Any]) -> dict[str, np.ndarray]:
    """One bool column per flag name found in ``flag_lists`` (one list per line)."""
    names = sorted({f for flags in flag_lists if flags for f in flags if isinstance(f, str)})
    return {name: np.array([bool(flags) and name in flags for flags in flag_lists], dtype=bool)
            for name in names}


def _columns(records: list[dict[str, Any]]) -> Columns:
    """The columns of version-2 line objects (KeyError etc. if one is not)."""
    n = len(records)
    return ((*(np.fromiter(map(itemgetter(key), records), dtype=np.float64, count=n)
               for key in ("intended_ts", "ts", "service_ms")),
             np.array([r["ok"] is True for r in records], dtype=bool),
             np.array([r.get("sent", True) is not False for r in records], dtype=bool)),
            _flag_columns([r.get("flags") for r in records]))


def _columns_v1(records: list[dict[str, Any]]) -> Columns:
    """The columns of version-1 line objects (``ts``, ``latency_ms``, a boolean per flag)."""
    n = len(records)
    sent_at = np.fromiter(map(itemgetter("ts"), records), dtype=np.float64, count=n)
    return ((sent_at, sent_at.copy(),
             np.fromiter(map(itemgetter("latency_ms"), records), dtype=np.float64, count=n),
             np.array([r["ok"] is True for r in records], dtype=bool), np.ones(n, dtype=bool)),
            _flag_columns([_v1_flags(r) for r in records]))


def _v1_flags(record: dict[str, Any]) -> list[str]:
    """A version-1 line's flags: its top-level ``true`` fields but ``ok``."""
    return [k for k, v in record.items() if v is True and k != "ok"]


def _normalized(record: Any) -> dict[str, Any] | None:
    """A version-2 object with finite times, or None when ``record`` is not a request."""
    if not isinstance(record, dict):
        return None
    if "intended_ts" not in record and "ts" in record:  # version 1: latency_ms, flag booleans
        record = {**record, "intended_ts": record["ts"],
                  "service_ms": record.get("latency_ms"), "flags": _v1_flags(record)}
    times = [record.get(k) for k in ("intended_ts", "ts", "service_ms")]
    if not all(_finite(v) for v in times):
        return None
    flags = record.get("flags")
    return {"intended_ts": times[0], "ts": times[1], "service_ms": times[2],
            "ok": record.get("ok") is True, "sent": record.get("sent", True) is not False,
            "flags": flags if isinstance(flags, list) else []}


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _join(parts: list[Columns], torn: int) -> RequestLog:
    if not parts:
        parts = [_columns([])]
    joined = [np.concatenate([p[0][i] for p in parts]) for i in range(len(_COLUMNS))]
    names = sorted({name for _, flags in parts for name in flags})
    flags = {name: np.concatenate([flags.get(name, np.zeros(len(columns[0]), dtype=bool))
                                   for columns, flags in parts]) for name in names}
    return RequestLog(**dict(zip(_COLUMNS, joined)), flags=flags, torn=torn)

