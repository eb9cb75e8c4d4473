"""A feature table in memory: the :class:`~harness.stores.base.FeatureStore` protocol for
the fake backend (runner unit tests, ``run --dry-run``), with a log of every change.

Snapshots, restores and checksums behave as the real stores' do, so the target ledger's
snapshot / replay / verified-restore logic runs unchanged against it.

>>> store = MemoryFeatureStore(columns=("amount",), rows=10)
>>> before = store.checksum(); snapshot = store.snapshot()
>>> store.corrupt(fraction=0.5, mode="nan", columns=["amount"], rng=random.Random(1))
5
>>> store.restore(snapshot); store.checksum() == before
True
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import random
from dataclasses import dataclass, field
from typing import Any

from harness.stores.base import CORRUPT_VALUES, choose_rows


@dataclass(frozen=True)
class StoreCall:
    """One change the store was asked to make."""

    action: str
    details: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """What was asked, in words (``run --dry-run`` prints it)."""
        d = self.details
        if self.action == "corrupt":
            return (f"corrupt {d['fraction']:.0%} of the rows in columns {', '.join(d['columns'])} "
                    f"with {d['mode']} values")
        if self.action == "rename_column":
            return f"rename column {d['column']} to {d['to']}"
        if self.action == "drop_column":
            return f"drop column {d['column']}"
        if self.action == "write_rows":
            return f"rewrite {', '.join(d['columns'])} in {d['rows']} rows"
        if self.action in ("retype_column", "add_column"):
            return f"{self.action.split('_')[0]} column {d['column']}"
        return f"{self.action} the feature table ({d['snapshot']})"


class MemoryFeatureStore:
    """``rows`` rows of ``columns`` (all 0.0) keyed 0..rows-1; every change logged in ``calls``."""

    def __init__(self, *, columns: tuple[str, ...] = ("feature",), rows: int = 1000,
                 table: str = "features", key: str = "entity_id", calls: list | None = None):
        self.table, self.key = table, key
        self._columns = list(columns)
        self._rows: dict[int, dict[str, Any]] = {k: {c: 0.0 for c in columns} for k in range(rows)}
        self._snapshots: dict[str, tuple[list[str], dict[int, dict[str, Any]]]] = {}
        self._names = itertools.count(1)
        self.calls: list = calls if calls is not None else []
        """Every snapshot, restore and change, in order (a log it may share)."""

    def columns(self) -> list[str]:
        """The feature columns, as the table has them now."""
        return list(self._columns)

    def checksum(self) -> str:
        """A digest of the columns and every row."""
        data = json.dumps([self._columns, sorted(self._rows.items())], default=str)
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def describe(self) -> dict[str, Any]:
        """``{"kind": "memory", "table", "key"}`` (nothing to reopen after the process ends)."""
        return {"kind": "memory", "table": self.table, "key": self.key}

    def new_snapshot_name(self) -> str:
        """``snapshot-N``."""
        return f"snapshot-{next(self._names)}"

    def snapshot(self, name: str | None = None) -> str:
        """Copy the table as ``name``."""
        name = name or self.new_snapshot_name()
        self._snapshots[name] = (list(self._columns), copy.deepcopy(self._rows))
        self.calls.append(StoreCall("snapshot", {"snapshot": name}))
        return name

    def restore(self, snapshot: str, *, keep: bool = False) -> None:
        """Put the table back as it was at ``snapshot`` (KeyError if there is none)."""
        columns, rows = self._snapshots[snapshot] if keep else self._snapshots.pop(snapshot)
        self._columns, self._rows = list(columns), copy.deepcopy(rows)
        self.calls.append(StoreCall("restore", {"snapshot": snapshot}))

    def discard(self, snapshot: str) -> None:
        """Forget ``snapshot``."""
        self._snapshots.pop(snapshot, None)

    def snapshots(self) -> list[str]:
        """The snapshots kept."""
        return sorted(self._snapshots)

    def corrupt(self, *, fraction: float, mode: str, columns: list[str], rng: random.Random) -> int:
        """Write ``mode``'s value into ``columns`` of ``fraction`` of the rows; return rows hit."""
        missing = [c for c in columns if c not in self._columns]
        if missing:
            raise ValueError(f"table {self.table} has no column(s) {', '.join(missing)}")
        hit = choose_rows(sorted(self._rows), fraction, rng)
        for row in hit:
            for column in columns:
                self._rows[row][column] = CORRUPT_VALUES[mode](rng)
        self.calls.append(StoreCall("corrupt", {"fraction": fraction, "mode": mode, "columns": list(columns),
                                                "rows": len(hit)}))
        return len(hit)

    def rename_column(self, old: str, new: str) -> None:
        """Rename a column (ValueError if there is none, or ``new`` exists)."""
        if old not in self._columns or new in self._columns:
            raise ValueError(f"table {self.table}: cannot rename column {old} to {new}")
        self._columns[self._columns.index(old)] = new
        for row in self._rows.values():
            row[new] = row.pop(old)
        self.calls.append(StoreCall("rename_column", {"column": old, "to": new}))

    def drop_column(self, column: str) -> None:
        """Drop a column (ValueError if there is none)."""
        if column not in self._columns:
            raise ValueError(f"table {self.table} has no column {column}")
        self._columns.remove(column)
        for row in self._rows.values():
            row.pop(column)
        self.calls.append(StoreCall("drop_column", {"column": column}))

    def keys(self) -> list[int]:
        """Every key, ascending."""
        return sorted(self._rows)

    def read_rows(self, keys, columns) -> dict[int, dict[str, Any]]:
        """``{key: {column: value}}`` of ``keys`` (a column the row lacks reads as None)."""
        return {k: {c: self._rows[k].get(c) for c in columns} for k in keys if k in self._rows}

    def write_rows(self, rows: dict) -> int:
        """Overwrite the given cells; return how many rows."""
        columns = sorted({c for cells in rows.values() for c in cells})
        for key, cells in rows.items():
            self._rows[key].update(cells)
        self.calls.append(StoreCall("write_rows", {"columns": columns, "rows": len(rows)}))
        return len(rows)

    def retype_column(self, column: str) -> None:
        """Every value of ``column`` becomes its text (ValueError if there is no such column)."""
        if column not in self._columns:
            raise ValueError(f"table {self.table} has no column {column}")
        for row in self._rows.values():
            row[column] = None if row[column] is None else str(row[column])
        self.calls.append(StoreCall("retype_column", {"column": column}))

    def add_column(self, column: str) -> None:
        """Add ``column`` (None in every row; ValueError if it exists)."""
        if column in self._columns:
            raise ValueError(f"table {self.table} already has column {column}")
        self._columns.append(column)
        for row in self._rows.values():
            row[column] = None
        self.calls.append(StoreCall("add_column", {"column": column}))
