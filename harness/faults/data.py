"""Data faults on a declared store: corrupted rows and schema changes.

``store`` names one of the pipeline's ``stores`` (a SQL table or Redis hashes); without
it, the pipeline's only store. Columns are table columns or hash fields.

Each says only *what* changes (``change``); the run's ledger
(:class:`harness.ledger.TargetLedger`) snapshots the table before the first data fault,
restores it when the last one ends (verifying the checksum: a mismatch is a
FaultRevertError), and re-applies the faults still active when one ends earlier.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from harness.faults.base import DataFault, FaultContext, Params
from harness.faults.registry import register
from harness.stores.base import FeatureStore
from harness.timeline.records import RowsCorrupted
from harness.units import Identifier


class StoreParams(Params):
    store: Identifier | None = None
    """The pipeline store to change (``stores.<name>``); None: its only store."""


class CorruptParams(StoreParams):
    fraction: float = Field(gt=0, le=1)
    """Share of rows to corrupt."""
    mode: Literal["nan", "out_of_range", "wrong_type"] = "nan"
    columns: tuple[Identifier, ...] = ()
    """Feature columns to corrupt; empty = every feature column (as the table has them then)."""


@register
class CorruptFeaturesFault(DataFault):
    """Set a ``fraction`` of feature rows to NaN, out-of-range values or strings."""

    kind, Params = "corrupt_features", CorruptParams

    def columns_named(self) -> frozenset[str]:
        return frozenset(self.params.columns)

    def change(self, store: FeatureStore, ctx: FaultContext) -> None:
        columns = list(self.params.columns) or store.columns()
        hit = store.corrupt(fraction=self.params.fraction, mode=self.params.mode, columns=columns,
                            rng=ctx.rng) if columns else 0  # every feature column dropped: nothing to hit
        ctx.journal.emit(RowsCorrupted(fault=ctx.fault_name, fault_kind=self.kind, target=self.target(),
                                       rows=hit, columns=columns))


class SchemaChangeParams(StoreParams):
    column: Identifier
    rename_to: Identifier | None = None
    drop: bool = False

    @model_validator(mode="after")
    def _one_change(self) -> "SchemaChangeParams":
        if (self.rename_to is None) == (not self.drop):
            raise ValueError("give exactly one of rename_to or drop: true")
        return self


@register
class SchemaChangeFault(DataFault):
    """Rename (``rename_to``) or drop (``drop: true``) a feature column."""

    kind, Params = "schema_change", SchemaChangeParams
    changes_schema: ClassVar[bool] = True

    def columns_named(self) -> frozenset[str]:
        return frozenset(c for c in (self.params.column, self.params.rename_to) if c)

    def change(self, store: FeatureStore, ctx: FaultContext) -> None:
        if self.params.drop:
            store.drop_column(self.params.column)
        else:
            store.rename_column(self.params.column, self.params.rename_to)
