"""A store of Redis hashes (one hash per entity, e.g. ``user:<id>``): the data faults'
view of a Redis feature store.

The "table" is every key matching ``key_pattern`` (``{key}`` replaced by ``*``); its
"columns" are the hash fields (the freshness field, ``updated_at``, excluded); every
value is a string. So ``corrupt`` writes ``nan``, an out-of-range number or
``corrupted`` into the chosen hashes' fields, and a schema change renames or deletes a
field in every hash.

A snapshot is a JSON file in ``snapshot_dir`` (the run directory) holding every hash,
not a key inside Redis: a Redis restarted from its own snapshot (a kill) would lose
it, and ``cleanup`` must still find it after a crashed run. Restoring deletes the
matching keys and writes the saved hashes back in one ``MULTI``/``EXEC``.

>>> store = RedisHashStore("redis://127.0.0.1:6379/0", key_pattern="item:{key}", snapshot_dir=run_dir)  # doctest: +SKIP
>>> saved = store.snapshot(); store.rename_column("quality", "quality_v2"); store.restore(saved)
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
from pathlib import Path
from typing import Any

from harness.stores._resp import RespClient
from harness.stores.base import CORRUPT_VALUES, choose_rows

SCAN_COUNT = 1000


class RedisHashStore:
    """The hashes under ``key_pattern`` in the Redis at ``url``."""

    def __init__(self, url: str, *, key_pattern: str, key: str = "entity_id",
                 snapshot_dir: str | Path = ".", freshness_field: str = "updated_at"):
        self.url, self.key_pattern, self.key = url, key_pattern, key
        self.snapshot_dir, self.freshness_field = Path(snapshot_dir), freshness_field
        self.table = key_pattern
        self._match = key_pattern.replace("{key}", "*")

    def _connect(self) -> RespClient:
        return RespClient.from_url(self.url)

    def _keys(self, db: RespClient) -> list[str]:
        cursor, keys = "0", set()
        while True:
            cursor, batch = db.call("SCAN", cursor, "MATCH", self._match, "COUNT", SCAN_COUNT)
            keys.update(batch)
            if cursor == "0":
                return sorted(keys, key=lambda k: (len(k), k))

    def _hashes(self, db: RespClient) -> dict[str, dict[str, str]]:
        keys = self._keys(db)
        replies = db.pipeline([("HGETALL", k) for k in keys]) if keys else []
        return {k: dict(zip(r[::2], r[1::2])) for k, r in zip(keys, replies)}

    def columns(self) -> list[str]:
        """Every field any hash has (the freshness field excluded), in first-seen order."""
        with self._connect() as db:
            seen: dict[str, None] = {}
            for fields in self._hashes(db).values():
                seen.update(dict.fromkeys(fields))
        return [f for f in seen if f != self.freshness_field]

    def checksum(self) -> str:
        """SHA-256 over every key and its fields and values, in key order."""
        with self._connect() as db:
            hashes = self._hashes(db)
        digest = hashlib.sha256()
        for key in sorted(hashes):
            digest.update(json.dumps([key, sorted(hashes[key].items())]).encode() + b"\n")
        return digest.hexdigest()

    def describe(self) -> dict[str, Any]:
        """Kind, URL, key pattern, key name and where snapshots go."""
        return {"kind": "redis", "url": self.url, "key_pattern": self.key_pattern, "key": self.key,
                "table": self.table, "snapshot_dir": str(self.snapshot_dir.resolve()),
                "freshness_field": self.freshness_field}

    def new_snapshot_name(self) -> str:
        """A file in ``snapshot_dir`` that does not exist yet."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", self._match)
        return str(self.snapshot_dir.resolve() / f"redis-{stem}.snapshot-{random.getrandbits(32):08x}.json")

    def snapshot(self, name: str | None = None) -> str:
        """Write every hash to the file ``name`` (atomically); return it."""
        target = Path(name or self.new_snapshot_name())
        with self._connect() as db:
            hashes = self._hashes(db)
        partial = target.with_name(target.name + ".partial")
        partial.write_text(json.dumps(hashes), encoding="utf-8")
        os.replace(partial, target)
        return str(target)

    def restore(self, snapshot: str, *, keep: bool = False) -> None:
        """Replace the matching keys by the hashes saved in ``snapshot``; delete it unless ``keep``."""
        path = Path(str(snapshot))
        if not path.is_file():
            raise FileNotFoundError(f"snapshot {path} does not exist")
        saved: dict[str, dict[str, str]] = json.loads(path.read_text(encoding="utf-8"))
        with self._connect() as db:
            keys = sorted(set(self._keys(db)) | set(saved))
            commands: list[tuple[Any, ...]] = [("MULTI",), *(("DEL", k) for k in keys)]
            commands += [("HSET", k, *(x for item in fields.items() for x in item))
                         for k, fields in saved.items() if fields]
            db.pipeline(commands + [("EXEC",)])
        if not keep:
            self.discard(snapshot)

    def discard(self, snapshot: str) -> None:
        """Delete the snapshot file (a missing one is no error)."""
        Path(str(snapshot)).unlink(missing_ok=True)

    def snapshots(self) -> list[str]:
        """Snapshot files of this store left in ``snapshot_dir`` (a crashed run's)."""
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", self._match)
        return sorted(str(p) for p in self.snapshot_dir.glob(f"redis-{stem}.snapshot-*.json"))

    def corrupt(self, *, fraction: float, mode: str, columns: list[str], rng: random.Random) -> int:
        """Write ``mode``'s value (as text) into ``columns`` of a random ``fraction`` of the hashes."""
        make = CORRUPT_VALUES[mode]
        with self._connect() as db:
            chosen = choose_rows(self._keys(db), fraction, rng)
            writes = [("HSET", k, *(x for c in columns for x in (c, _text(make(rng))))) for k in chosen]
            if writes:
                db.pipeline([("MULTI",), *writes, ("EXEC",)])
        return len(chosen)

    def rename_column(self, old: str, new: str) -> None:
        """Rename field ``old`` to ``new`` in every hash that has it."""
        with self._connect() as db:
            keys = self._keys(db)
            values = db.pipeline([("HGET", k, old) for k in keys]) if keys else []
            moves = [(k, v) for k, v in zip(keys, values) if v is not None]
            commands = [c for k, v in moves for c in (("HSET", k, new, v), ("HDEL", k, old))]
            if commands:
                db.pipeline([("MULTI",), *commands, ("EXEC",)])

    def drop_column(self, column: str) -> None:
        """Delete field ``column`` from every hash."""
        with self._connect() as db:
            keys = self._keys(db)
            if keys:
                db.pipeline([("MULTI",), *(("HDEL", k, column) for k in keys), ("EXEC",)])


    def keys(self) -> list[str]:
        """Every matching key (the "rows"), in the order of :meth:`_keys`."""
        with self._connect() as db:
            return self._keys(db)

    def read_rows(self, keys, columns) -> dict[str, dict[str, str | None]]:
        """``{key: {field: value or None}}`` of the keys that exist."""
        keys = list(keys)
        with self._connect() as db:
            replies = db.pipeline([("HMGET", k, *columns) for k in keys]) if keys else []
            exists = db.pipeline([("EXISTS", k) for k in keys]) if keys else []
        return {k: dict(zip(columns, r)) for k, r, e in zip(keys, replies, exists) if e}

    def write_rows(self, rows: dict) -> int:
        """Set the given fields (None deletes the field) in one ``MULTI``/``EXEC``; return rows."""
        commands: list[tuple[Any, ...]] = []
        for key, cells in rows.items():
            sets = [x for c, v in cells.items() if v is not None for x in (c, _text(v))]
            commands += [("HSET", key, *sets)] if sets else []
            commands += [("HDEL", key, c) for c, v in cells.items() if v is None]
        if commands:
            with self._connect() as db:
                db.pipeline([("MULTI",), *commands, ("EXEC",)])
        return len(rows)

    def retype_column(self, column: str) -> None:
        """Refused: every value of a hash is text already, so there is no type to change."""
        raise ValueError(f"{self.table}: Redis hash fields have no type to change (every value is text)")

    def add_column(self, column: str) -> None:
        """Set field ``column`` to the empty string in every hash."""
        with self._connect() as db:
            keys = self._keys(db)
            if keys:
                db.pipeline([("MULTI",), *(("HSET", k, column, "") for k in keys), ("EXEC",)])


def _text(value: Any) -> str:
    """A corrupt value as Redis stores it: ``nan``, a plain number, or the string."""
    return "nan" if isinstance(value, float) and value != value else str(value)
