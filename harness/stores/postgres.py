"""The feature table in PostgreSQL (the docker backend's feature store).

A snapshot is a copy of the table *inside the same database*
(``<table>__snap_<hex>``, made with ``CREATE TABLE ... (LIKE ... INCLUDING ALL)``), so a
crashed run can still be restored by ``cleanup``. Restoring rewrites, in one atomic
commit (readers see the old rows or the new, never a mix), only the rows that differ
from the copy (a fault that touched 5% of the rows costs 5% of a refill, and the
readers under load feel it that much less) and, when the schema was changed (column
renamed, dropped or retyped), recreates the table from the copy.

``wrong_type`` corruption retypes the chosen columns to ``TEXT`` before writing the
string: PostgreSQL will not store ``'corrupted'`` in a ``DOUBLE PRECISION`` column, and
a producer that starts writing strings is exactly what the fault models.

>>> store = PostgresFeatureStore("postgresql://chaos:chaos@127.0.0.1:5432/features")  # doctest: +SKIP
>>> undo_to = store.snapshot(); store.drop_column("chargeback_rate"); store.restore(undo_to)
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

from harness.stores.base import CORRUPT_VALUES, choose_rows, group_by_columns


class PostgresFeatureStore:
    """A feature table ``table`` keyed by ``key`` in the database at ``dsn``."""

    def __init__(self, dsn: str, *, table: str = "features", key: str = "entity_id"):
        self.dsn, self.table, self.key = dsn, table, key

    def _connect(self):
        import psycopg

        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=10)

    def _atomic(self):
        """A connection whose ``with`` block commits once at its end (rolls back on error)."""
        import psycopg

        return psycopg.connect(self.dsn, autocommit=False, connect_timeout=10)

    def _schema(self, db, table: str) -> list[tuple[str, str]]:
        rows = db.execute("SELECT column_name, data_type FROM information_schema.columns "
                          "WHERE table_schema = current_schema() AND table_name = %s "
                          "ORDER BY ordinal_position", (table,)).fetchall()
        return [(name, kind) for name, kind in rows]

    def columns(self) -> list[str]:
        """Feature columns: every column but the key and ``updated_at``."""
        with self._connect() as db:
            return [n for n, _ in self._schema(db, self.table) if n not in (self.key, "updated_at")]

    def checksum(self) -> str:
        """SHA-256 over the column names and types and every row (as text) in key order."""
        from psycopg import sql

        digest = hashlib.sha256()
        with self._connect() as db:
            digest.update(repr(self._schema(db, self.table)).encode())
            query = sql.SQL("SELECT coalesce(md5(string_agg(t::text, E'\\n' ORDER BY t.{key})), '') "
                            "FROM {table} t").format(key=sql.Identifier(self.key),
                                                     table=sql.Identifier(self.table))
            digest.update(db.execute(query).fetchone()[0].encode())
        return digest.hexdigest()

    def describe(self) -> dict[str, str]:
        """Kind, DSN, table and key."""
        return {"kind": "postgres", "dsn": self.dsn, "table": self.table, "key": self.key}

    def new_snapshot_name(self) -> str:
        """``<table>__snap_<hex>``, a table name not taken yet (nothing is created)."""
        return f"{self.table}__snap_{random.getrandbits(32):08x}"

    def snapshot(self, name: str | None = None) -> str:
        """Copy the table (schema, indexes, rows) to table ``name``; return that name."""
        from psycopg import sql

        name = name or self.new_snapshot_name()
        ids = {"snap": sql.Identifier(name), "table": sql.Identifier(self.table)}
        with self._atomic() as db:
            db.execute(sql.SQL("CREATE TABLE {snap} (LIKE {table} INCLUDING ALL)").format(**ids))
            db.execute(sql.SQL("INSERT INTO {snap} SELECT * FROM {table}").format(**ids))
        return name

    def restore(self, snapshot: str, *, keep: bool = False) -> None:
        """Put the table back as it was at ``snapshot``; drop the copy unless ``keep``."""
        from psycopg import sql

        ids = {"snap": sql.Identifier(str(snapshot)), "table": sql.Identifier(self.table)}
        with self._atomic() as db:
            saved = self._schema(db, str(snapshot))
            if not saved:
                raise LookupError(f"snapshot table {snapshot!r} does not exist")
            if self._schema(db, self.table) == saved:
                ids["key"] = sql.Identifier(self.key)
                db.execute(sql.SQL("DELETE FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM {snap} s "
                                   "WHERE s.{key} = t.{key} AND ROW(s.*) IS NOT DISTINCT FROM ROW(t.*))")
                           .format(**ids))
                db.execute(sql.SQL("INSERT INTO {table} SELECT * FROM {snap} s WHERE NOT EXISTS "
                                   "(SELECT 1 FROM {table} t WHERE t.{key} = s.{key})").format(**ids))
            else:
                db.execute(sql.SQL("DROP TABLE IF EXISTS {table}").format(**ids))
                db.execute(sql.SQL("CREATE TABLE {table} (LIKE {snap} INCLUDING ALL)").format(**ids))
                db.execute(sql.SQL("INSERT INTO {table} SELECT * FROM {snap}").format(**ids))
            if not keep:
                db.execute(sql.SQL("DROP TABLE {snap}").format(**ids))

    def discard(self, snapshot: str) -> None:
        """``DROP TABLE IF EXISTS`` the snapshot copy."""
        from psycopg import sql

        with self._connect() as db:
            db.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(snapshot)))

    def corrupt(self, *, fraction: float, mode: str, columns: list[str],
                rng: random.Random) -> int:
        """Overwrite ``columns`` of a random ``fraction`` of rows; return how many rows."""
        from psycopg import sql

        make = CORRUPT_VALUES[mode]
        table, key = sql.Identifier(self.table), sql.Identifier(self.key)
        with self._atomic() as db:
            keys = [r[0] for r in db.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(key, table))]
            chosen = choose_rows(keys, fraction, rng)
            if mode == "wrong_type":
                for column in columns:
                    col = sql.Identifier(column)
                    db.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE TEXT USING {}::text")
                               .format(table, col, col))
            sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
            update = sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(table, sets, key)
            params: list[list[Any]] = [[make(rng) for _ in columns] + [k] for k in chosen]
            with db.cursor() as cur:
                cur.executemany(update, params)
        return len(chosen)

    def rename_column(self, old: str, new: str) -> None:
        """``ALTER TABLE ... RENAME COLUMN``."""
        from psycopg import sql

        with self._connect() as db:
            db.execute(sql.SQL("ALTER TABLE {} RENAME COLUMN {} TO {}").format(
                sql.Identifier(self.table), sql.Identifier(old), sql.Identifier(new)))

    def drop_column(self, column: str) -> None:
        """``ALTER TABLE ... DROP COLUMN``."""
        from psycopg import sql

        with self._connect() as db:
            db.execute(sql.SQL("ALTER TABLE {} DROP COLUMN {}").format(
                sql.Identifier(self.table), sql.Identifier(column)))

    def snapshots(self) -> list[str]:
        """Snapshot tables left in the database (a crashed run's, for ``cleanup``)."""
        with self._connect() as db:
            rows = db.execute("SELECT table_name FROM information_schema.tables "
                              "WHERE table_schema = current_schema() AND table_name LIKE %s "
                              "ORDER BY 1", (f"{self.table}\\_\\_snap\\_%",)).fetchall()
        return [r[0] for r in rows]

    def keys(self) -> list:
        """Every key, ascending."""
        from psycopg import sql

        with self._connect() as db:
            return [r[0] for r in db.execute(sql.SQL("SELECT {} FROM {} ORDER BY 1").format(
                sql.Identifier(self.key), sql.Identifier(self.table)))]

    def read_rows(self, keys, columns) -> dict:
        """``{key: {column: value}}`` of ``keys``, in one query."""
        from psycopg import sql

        query = sql.SQL("SELECT {}, {} FROM {} WHERE {} = ANY(%s)").format(
            sql.Identifier(self.key), sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.Identifier(self.table), sql.Identifier(self.key))
        with self._connect() as db:
            return {row[0]: dict(zip(columns, row[1:])) for row in db.execute(query, (list(keys),))}

    def write_rows(self, rows: dict) -> int:
        """All in one atomic commit, one pipelined ``executemany`` per set of columns; return how many rows."""
        from psycopg import sql

        with self._atomic() as db, db.cursor() as cur:
            for columns, params in group_by_columns(rows).items():
                sets = sql.SQL(", ").join(sql.SQL("{} = %s").format(sql.Identifier(c)) for c in columns)
                cur.executemany(sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
                    sql.Identifier(self.table), sets, sql.Identifier(self.key)), params)
        return len(rows)

    def retype_column(self, column: str) -> None:
        """``ALTER COLUMN ... TYPE TEXT``: the values kept, as text."""
        from psycopg import sql

        col = sql.Identifier(column)
        with self._connect() as db:
            db.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} TYPE TEXT USING {}::text").format(
                sql.Identifier(self.table), col, col))

    def add_column(self, column: str) -> None:
        """``ALTER TABLE ... ADD COLUMN`` (DOUBLE PRECISION, NULL in every row)."""
        from psycopg import sql

        with self._connect() as db:
            db.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} DOUBLE PRECISION").format(
                sql.Identifier(self.table), sql.Identifier(column)))
