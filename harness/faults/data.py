"""Data faults on a declared store: corrupted rows and schema changes.

``store`` names one of the pipeline's ``stores`` (a SQL table or Redis hashes); without
it, the pipeline's only store. Columns are table columns or hash fields.

Each says only *what* changes (``change``); the run's ledger
(:class:`harness.ledger.TargetLedger`) snapshots the table before the first data fault,
restores it when the last one ends (verifying the checksum: a mismatch is a
FaultRevertError), and re-applies the faults still active when one ends earlier.
"""

from __future__ import annotations

import math
from typing import Any, Callable, ClassVar, Literal

from pydantic import Field, model_validator

from harness.faults.base import DataFault, FaultContext, Params
from harness.faults.registry import register
from harness.stores.base import CORRUPT_VALUES, FeatureStore, choose_rows
from harness.timeline.records import RowsCorrupted, SchemaChanged
from harness.units import Identifier


def _scaled(value: Any, factor: float) -> Any:
    """``value`` times ``factor`` when it is a finite number (or the text of one, as in a
    Redis hash: the product as text); anything else as it is."""
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return str(number * factor) if math.isfinite(number) else value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return value
    return value * factor


REWRITES: dict[str, Callable[[dict[str, Any], "CorruptParams"], dict[str, Any]]] = {
    "scale": lambda cells, p: {c: _scaled(v, 10.0 if p.factor is None else p.factor) for c, v in cells.items()},
    "swap": lambda cells, p: dict(zip(p.columns, reversed([cells[c] for c in p.columns]))),
}
"""Modes that rewrite a row from its own values (the rest write :data:`CORRUPT_VALUES`)."""


class StoreParams(Params):
    store: Identifier | None = None
    """The pipeline store to change (``stores.<name>``); None: its only store."""


class CorruptParams(StoreParams):
    fraction: float = Field(gt=0, le=1)
    """Share of rows to corrupt."""
    mode: Literal["nan", "out_of_range", "wrong_type", "null", "scale", "swap"] = "nan"
    columns: tuple[Identifier, ...] = ()
    """Feature columns to corrupt; empty = every feature column (as the table has them then).
    ``swap`` exchanges the values of exactly two named columns."""
    factor: float | None = None
    """``scale``: what each value is multiplied by (default 10)."""

    @model_validator(mode="after")
    def _mode_fits(self) -> "CorruptParams":
        if self.mode == "swap" and (len(self.columns) != 2 or self.columns[0] == self.columns[1]):
            raise ValueError("mode swap exchanges two columns: name exactly two different columns")
        if self.mode != "scale" and self.factor is not None:
            raise ValueError("factor is for mode scale only")
        return self


@register
class CorruptFeaturesFault(DataFault):
    """Corrupt a ``fraction`` of feature rows: NaN, NULL, out-of-range values, strings,
    values scaled by ``factor``, or two columns' values swapped."""

    kind, Params = "corrupt_features", CorruptParams

    def columns_named(self) -> frozenset[str]:
        return frozenset(self.params.columns)

    def change(self, store: FeatureStore, ctx: FaultContext) -> None:
        p = self.params
        columns = list(p.columns) or store.columns()
        if not columns:  # every feature column dropped: nothing to hit
            hit = 0
        elif p.mode in CORRUPT_VALUES:
            hit = store.corrupt(fraction=p.fraction, mode=p.mode, columns=columns, rng=ctx.rng)
        else:
            chosen = choose_rows(store.keys(), p.fraction, ctx.rng)
            rows = store.read_rows(chosen, columns)
            hit = store.write_rows({key: REWRITES[p.mode](cells, p) for key, cells in rows.items()})
        ctx.journal.emit(RowsCorrupted(fault=ctx.fault_name, fault_kind=self.kind, target=self.target(),
                                       rows=hit, columns=columns, mode=p.mode))


class SchemaChangeParams(StoreParams):
    column: Identifier | None = None
    """The column to rename, drop or retype."""
    rename_to: Identifier | None = None
    drop: bool = False
    retype: Literal["text"] | None = None
    """Change the column's type (its values kept, as text)."""
    add_column: Identifier | None = None
    """Add a column the pipeline does not expect (no ``column`` then)."""

    @model_validator(mode="after")
    def _one_change(self) -> "SchemaChangeParams":
        changes = [self.rename_to is not None, self.drop, self.retype is not None, self.add_column is not None]
        if sum(changes) != 1:
            raise ValueError("give exactly one of rename_to, drop: true, retype: text or add_column")
        if (self.add_column is None) == (self.column is None):
            raise ValueError("column names the column to change (not given with add_column)")
        return self


@register
class SchemaChangeFault(DataFault):
    """Rename (``rename_to``), drop (``drop: true``) or retype (``retype: text``) a feature
    column, or add an unexpected one (``add_column``)."""

    kind, Params = "schema_change", SchemaChangeParams
    changes_schema: ClassVar[bool] = True

    def columns_named(self) -> frozenset[str]:
        p = self.params
        return frozenset(c for c in (p.column, p.rename_to, p.add_column) if c)

    def change(self, store: FeatureStore, ctx: FaultContext) -> None:
        p = self.params
        if p.drop:
            store.drop_column(p.column)
            change, column, to = "drop", p.column, None
        elif p.retype:
            store.retype_column(p.column)
            change, column, to = "retype", p.column, p.retype
        elif p.add_column:
            store.add_column(p.add_column)
            change, column, to = "add", p.add_column, None
        else:
            store.rename_column(p.column, p.rename_to)
            change, column, to = "rename", p.column, p.rename_to
        ctx.journal.emit(SchemaChanged(fault=ctx.fault_name, fault_kind=self.kind, target=self.target(),
                                       change=change, column=column, to=to))
