"""The feature store as data faults see it: a table keyed by entity id.

Data faults change the table and must restore it *exactly*: each store offers a
``checksum()`` over schema and rows, and ``snapshot()``/``restore()`` of the whole
table, so an undo is "restore the snapshot, then check the checksum". A store also
``describe()``s itself as JSON, so ``chaos-harness cleanup`` can reopen it with
:func:`harness.stores.open_store` after the run that changed it was killed.
"""

from __future__ import annotations

import random
from typing import Any, Callable, Protocol, Sequence, runtime_checkable

CORRUPT_VALUES: dict[str, Callable[[random.Random], Any]] = {
    "nan": lambda rng: float("nan"),
    "out_of_range": lambda rng: rng.choice([-1e9, 1e12]),
    "wrong_type": lambda rng: "corrupted",
    "null": lambda rng: None,
}
"""``corrupt`` modes -> the value written into each chosen cell."""


def choose_rows(keys: Sequence[Any], fraction: float, rng: random.Random) -> list[Any]:
    """The keys of the rows ``corrupt`` hits: ``fraction`` of ``keys`` (at least one), at random."""
    return rng.sample(keys, max(1, round(len(keys) * fraction))) if keys else []


def group_by_columns(rows: dict[Any, dict[str, Any]]) -> dict[tuple[str, ...], list[list[Any]]]:
    """``write_rows``' cells as ``{columns: [[*values, key], ...]}``: one statement per set of columns."""
    groups: dict[tuple[str, ...], list[list[Any]]] = {}
    for key, cells in rows.items():
        groups.setdefault(tuple(cells), []).append([*cells.values(), key])
    return groups


@runtime_checkable
class FeatureStore(Protocol):
    """A feature table that data faults may corrupt and restore."""

    def columns(self) -> list[str]:
        """Feature column names (the key and ``updated_at`` excluded)."""

    def checksum(self) -> str:
        """A digest of the table's schema and every row, order-independent of storage."""

    def describe(self) -> dict[str, Any]:
        """``{"kind": ..., <where it is>, "table": ..., "key": ...}``: enough to reopen it."""

    def new_snapshot_name(self) -> str:
        """A fresh name for :meth:`snapshot` (nothing is created yet)."""

    def snapshot(self, name: str | None = None) -> str:
        """Save the table (schema and rows) as ``name`` (default: a fresh one); return it."""

    def restore(self, snapshot: str, *, keep: bool = False) -> None:
        """Put the table back exactly as it was at ``snapshot``; delete it unless ``keep``.

        Raises if the snapshot does not exist (never restores from nothing)."""

    def discard(self, snapshot: str) -> None:
        """Delete ``snapshot`` and anything it left beside it; a missing one is no error."""

    def corrupt(self, *, fraction: float, mode: str, columns: list[str],
                rng: random.Random) -> int:
        """Corrupt ``fraction`` of rows (a mode of :data:`CORRUPT_VALUES`); return rows hit."""

    def rename_column(self, old: str, new: str) -> None:
        """Rename a feature column."""

    def drop_column(self, column: str) -> None:
        """Drop a feature column."""

    def keys(self) -> list[Any]:
        """Every row's key, in key order."""

    def read_rows(self, keys: Sequence[Any], columns: Sequence[str]) -> dict[Any, dict[str, Any]]:
        """``{key: {column: value}}`` for ``keys`` (any column, ``updated_at`` included)."""

    def write_rows(self, rows: dict[Any, dict[str, Any]]) -> int:
        """Overwrite the given cells of the given rows in one atomic commit; return rows written."""

    def retype_column(self, column: str) -> None:
        """Change a feature column's declared type to text (its values kept, as text)."""

    def add_column(self, column: str) -> None:
        """Add a feature column the pipeline does not expect (NULL in every row)."""
