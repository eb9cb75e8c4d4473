"""``stale_features``: rows whose freshness stamp says they are older than the pipeline allows.

The fault rewrites the freshness field (``updated_at`` by default: ISO-8601 UTC text,
``YYYY-MM-DDTHH:MM:SSZ``) of a ``fraction`` of the rows to ``age`` before the moment
the fault was first applied; choose ``age`` past the pipeline's freshness limit. The
feature values stay as they were: only how old they look changes, which is what a
feature pipeline that stopped writing looks like to its reader. The ledger restores
the table (checksum verified) when the fault ends.
"""

from __future__ import annotations

import time

from pydantic import Field

from harness.faults.base import DataFault, FaultContext
from harness.faults.data import StoreParams
from harness.faults.registry import register
from harness.stores.base import FeatureStore, choose_rows
from harness.timeline.records import RowsCorrupted
from harness.units import Duration, Identifier

STAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class StaleParams(StoreParams):
    age: Duration = Field(gt=0)
    """How old the chosen rows look (their stamp = first application - ``age``)."""
    fraction: float = Field(1.0, gt=0, le=1)
    """Share of rows made stale."""
    field: Identifier | None = None
    """The freshness field of a row; None: the store's own (``updated_at`` for a table)."""


@register
class StaleFeaturesFault(DataFault):
    """Push the freshness stamp of a ``fraction`` of rows ``age`` into the past."""

    kind, Params = "stale_features", StaleParams

    def __init__(self, params: StaleParams):
        super().__init__(params)
        self._stamp: str | None = None  # fixed at the first application: a replay writes the same

    def change(self, store: FeatureStore, ctx: FaultContext) -> None:
        if self._stamp is None:
            self._stamp = time.strftime(STAMP_FORMAT, time.gmtime(ctx.clock.time() - self.params.age))
        chosen = choose_rows(store.keys(), self.params.fraction, ctx.rng)
        field = self.params.field or getattr(store, "freshness_field", "updated_at")
        hit = store.write_rows({key: {field: self._stamp} for key in chosen})
        ctx.journal.emit(RowsCorrupted(fault=ctx.fault_name, fault_kind=self.kind, target=self.target(),
                                       rows=hit, columns=[field], mode="stale"))
