"""Data faults on the feature table: corrupted rows and schema changes.

Each snapshots the table, changes it, and its undo restores the snapshot and checks
the table's checksum against the one taken before (a mismatch is a FaultRevertError).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from harness.errors import FaultRevertError
from harness.faults.base import Fault, FaultContext, Params, Undo
from harness.faults.registry import register
from harness.units import Identifier


def _restoring(store, change) -> Undo:
    """Snapshot ``store``, run ``change()``, return the undo that restores and verifies."""
    before, snapshot = store.checksum(), store.snapshot()
    try:
        change()
    except BaseException:
        store.restore(snapshot)
        raise

    def undo() -> None:
        store.restore(snapshot)
        after = store.checksum()
        if after != before:
            raise FaultRevertError(f"feature table checksum {after} != {before} after restore")

    return undo


class CorruptParams(Params):
    fraction: float = Field(gt=0, le=1)
    """Share of rows to corrupt."""
    mode: Literal["nan", "out_of_range", "wrong_type"] = "nan"
    columns: tuple[Identifier, ...] = ()
    """Feature columns to corrupt; empty = every feature column."""


@register
class CorruptFeaturesFault(Fault):
    """Set a ``fraction`` of feature rows to NaN, out-of-range values or strings."""

    kind, Params = "corrupt_features", CorruptParams

    def target(self) -> str:
        return "feature_store"

    def inject(self, ctx: FaultContext) -> Undo:
        store = ctx.backend.feature_store()
        columns = list(self.params.columns) or store.columns()

        def change() -> None:
            hit = store.corrupt(fraction=self.params.fraction, mode=self.params.mode,
                                columns=columns, rng=ctx.rng)
            ctx.journal.record("rows_corrupted", fault=ctx.fault_name, rows=hit, columns=columns)

        return _restoring(store, change)


class SchemaChangeParams(Params):
    column: Identifier
    rename_to: Identifier | None = None
    drop: bool = False

    @model_validator(mode="after")
    def _one_change(self) -> "SchemaChangeParams":
        if (self.rename_to is None) == (not self.drop):
            raise ValueError("give exactly one of rename_to or drop: true")
        return self


@register
class SchemaChangeFault(Fault):
    """Rename (``rename_to``) or drop (``drop: true``) a feature column."""

    kind, Params = "schema_change", SchemaChangeParams

    def target(self) -> str:
        return "feature_store"

    def inject(self, ctx: FaultContext) -> Undo:
        store, column = ctx.backend.feature_store(), self.params.column
        if self.params.drop:
            return _restoring(store, lambda: store.drop_column(column))
        return _restoring(store, lambda: store.rename_column(column, self.params.rename_to))
