"""The feature table in SQLite (the process backend's feature store).

Snapshots are whole-database copies made with SQLite's online backup API into a file
beside the database, so a crashed run can still be restored by ``cleanup``.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from contextlib import closing
from pathlib import Path

from harness.stores.base import CORRUPT_VALUES, choose_rows


class SqliteFeatureStore:
    """A feature table in a SQLite file: ``table`` keyed by ``key``."""

    def __init__(self, path: str | Path, *, table: str = "features", key: str = "entity_id"):
        self.path, self.table, self.key = Path(path), table, key

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level=None)

    def columns(self) -> list[str]:
        """Feature columns: every column but the key and ``updated_at``."""
        with closing(self._connect()) as db:
            names = [row[1] for row in db.execute(f'PRAGMA table_info("{self.table}")')]
        return [n for n in names if n not in (self.key, "updated_at")]

    def checksum(self) -> str:
        """SHA-256 over the table's CREATE statement and its rows in key order."""
        digest = hashlib.sha256()
        with closing(self._connect()) as db:
            schema = db.execute("SELECT sql FROM sqlite_master WHERE name = ?", (self.table,))
            digest.update(repr(schema.fetchone()).encode())
            for row in db.execute(f'SELECT * FROM "{self.table}" ORDER BY "{self.key}"'):
                digest.update(repr(row).encode())
        return digest.hexdigest()

    def snapshot(self) -> str:
        """Copy the database to a file beside it; return that file's path."""
        target = self.path.with_name(f"{self.path.name}.snapshot-{random.getrandbits(32):08x}")
        with closing(self._connect()) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return str(target)

    def restore(self, snapshot: object) -> None:
        """Copy the snapshot file back over the live database, then delete it."""
        path = Path(str(snapshot))
        with closing(sqlite3.connect(path)) as source, closing(self._connect()) as live:
            source.backup(live)
        path.unlink(missing_ok=True)

    def corrupt(self, *, fraction: float, mode: str, columns: list[str],
                rng: random.Random) -> int:
        """Overwrite ``columns`` of a random ``fraction`` of rows; return how many rows."""
        make = CORRUPT_VALUES[mode]
        with closing(self._connect()) as db:
            keys = [r[0] for r in db.execute(f'SELECT "{self.key}" FROM "{self.table}" ORDER BY 1')]
            chosen = choose_rows(keys, fraction, rng)
            sets = ", ".join(f'"{c}" = ?' for c in columns)
            params = [[make(rng) for _ in columns] + [key] for key in chosen]
            db.execute("BEGIN IMMEDIATE")
            db.executemany(f'UPDATE "{self.table}" SET {sets} WHERE "{self.key}" = ?', params)
            db.execute("COMMIT")
        return len(chosen)

    def rename_column(self, old: str, new: str) -> None:
        """``ALTER TABLE ... RENAME COLUMN``."""
        with closing(self._connect()) as db:
            db.execute(f'ALTER TABLE "{self.table}" RENAME COLUMN "{old}" TO "{new}"')

    def drop_column(self, column: str) -> None:
        """``ALTER TABLE ... DROP COLUMN``."""
        with closing(self._connect()) as db:
            db.execute(f'ALTER TABLE "{self.table}" DROP COLUMN "{column}"')
