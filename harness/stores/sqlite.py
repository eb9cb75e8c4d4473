"""The feature table in SQLite (the process backend's feature store).

Snapshots are whole-database copies made with SQLite's online backup API into a file
beside the database (``<db>.snapshot-<hex>``), so a crashed run can still be restored
by ``cleanup``.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from contextlib import closing
from pathlib import Path

from harness.stores.base import CORRUPT_VALUES, choose_rows, group_by_columns


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

    def describe(self) -> dict[str, str]:
        """Kind, absolute path, table and key."""
        return {"kind": "sqlite", "path": str(self.path.resolve()), "table": self.table, "key": self.key}

    def new_snapshot_name(self) -> str:
        """The path of a file beside the database that does not exist yet."""
        return str(self.path.with_name(f"{self.path.name}.snapshot-{random.getrandbits(32):08x}"))

    def snapshot(self, name: str | None = None) -> str:
        """Copy the database to the file ``name`` (default: a fresh one beside it); return it."""
        target = name or self.new_snapshot_name()
        with closing(self._connect()) as source, closing(sqlite3.connect(target)) as copy:
            source.backup(copy)
        return target

    def restore(self, snapshot: str, *, keep: bool = False) -> None:
        """Copy the snapshot file back over the live database; delete it unless ``keep``."""
        path = Path(str(snapshot))
        if not path.is_file():  # sqlite3.connect would create an empty one
            raise FileNotFoundError(f"snapshot {path} does not exist")
        with closing(sqlite3.connect(path)) as source, closing(self._connect()) as live:
            source.backup(live)
        if not keep:
            self.discard(snapshot)

    def discard(self, snapshot: str) -> None:
        """Delete the snapshot file and its rollback journal or WAL files, if any."""
        for suffix in ("", "-journal", "-wal", "-shm"):
            Path(f"{snapshot}{suffix}").unlink(missing_ok=True)

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

    def keys(self) -> list:
        """Every key, ascending."""
        with closing(self._connect()) as db:
            return [r[0] for r in db.execute(f'SELECT "{self.key}" FROM "{self.table}" ORDER BY 1')]

    def read_rows(self, keys, columns) -> dict:
        """``{key: {column: value}}`` of ``keys``."""
        names = ", ".join(f'"{c}"' for c in columns)
        query = f'SELECT "{self.key}", {names} FROM "{self.table}" WHERE "{self.key}" = ?'
        out = {}
        with closing(self._connect()) as db:
            for key in keys:
                row = db.execute(query, (key,)).fetchone()
                if row is not None:
                    out[row[0]] = dict(zip(columns, row[1:]))
        return out

    def write_rows(self, rows: dict) -> int:
        """All in one atomic commit, one ``executemany`` per set of columns; return how many rows."""
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            for columns, params in group_by_columns(rows).items():
                sets = ", ".join(f'"{c}" = ?' for c in columns)
                db.executemany(f'UPDATE "{self.table}" SET {sets} WHERE "{self.key}" = ?', params)
            db.execute("COMMIT")
        return len(rows)

    def retype_column(self, column: str) -> None:
        """SQLite cannot alter a type: a TEXT column takes the values (as text) and the name."""
        spare = f"{column}__retyped"
        with closing(self._connect()) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute(f'ALTER TABLE "{self.table}" ADD COLUMN "{spare}" TEXT')
            db.execute(f'UPDATE "{self.table}" SET "{spare}" = CAST("{column}" AS TEXT)')
            db.execute(f'ALTER TABLE "{self.table}" DROP COLUMN "{column}"')
            db.execute(f'ALTER TABLE "{self.table}" RENAME COLUMN "{spare}" TO "{column}"')
            db.execute("COMMIT")

    def add_column(self, column: str) -> None:
        """``ALTER TABLE ... ADD COLUMN`` (REAL, NULL in every row)."""
        with closing(self._connect()) as db:
            db.execute(f'ALTER TABLE "{self.table}" ADD COLUMN "{column}" REAL')
