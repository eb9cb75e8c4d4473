"""What the data faults of a run did to its stores, read from the journal.

``report.json``'s ``data`` section: for each data fault, the rows it touched and the
columns and mode (its first application: a replay after another fault ended touches
the same rows again; a schema change: ``mode`` is the change, ``rows`` null), and for each store snapshot, the checksum before the first
fault and after the restore, and whether they match::

    {"faults": [{"fault": "nan-rows", "kind": "corrupt_features", "rows": 3000,
                 "columns": ["txn_count_24h"], "mode": "nan"}],
     "stores": [{"store": {"kind": "sqlite", ...}, "snapshot": "...", "checksum_before": "ab..",
                 "checksum_after": "ab..", "restored": true, "restored_by": "nan-rows"}]}

``artifacts``: each ``model_swap``'s file, its checksum before, swapped and after, and
whether it was restored (``restored``: the checksum after equals the one before).

A store snapshotted but never restored (a crash) has ``restored: false`` and
``checksum_after: null``; ``chaos-harness cleanup`` restores it.
"""

from __future__ import annotations

from typing import Any, Iterable

from harness.timeline.records import (ArtifactRestored, ArtifactSwapped, ArtifactSwapping, Record, RowsCorrupted,
                                      SchemaChanged, StoreRestored, StoreSnapshotting)


def data_effects(records: Iterable[Record]) -> dict[str, list[dict[str, Any]]]:
    """The ``data`` section of ``report.json`` (see the module docstring)."""
    faults: dict[str, dict[str, Any]] = {}
    stores: dict[str, dict[str, Any]] = {}
    artifacts: dict[str, dict[str, Any]] = {}
    for r in records:
        if isinstance(r, ArtifactSwapping):
            artifacts[r.fault] = {"fault": r.fault, "path": r.path, "replace_with": r.replace_with,
                                  "checksum_before": r.checksum, "checksum_swapped": None, "source": None,
                                  "checksum_after": None, "restored": False}
        elif isinstance(r, ArtifactSwapped) and r.fault in artifacts:
            artifacts[r.fault].update(checksum_swapped=r.checksum, source=r.source)
        elif isinstance(r, ArtifactRestored) and r.fault in artifacts:
            entry = artifacts[r.fault]
            entry.update(checksum_after=r.checksum, restored=bool(r.ok and r.checksum == entry["checksum_before"]))
        if isinstance(r, RowsCorrupted) and r.fault not in faults:
            faults[r.fault] = {"fault": r.fault, "kind": r.fault_kind, "rows": r.rows,
                               "columns": list(r.columns), "mode": r.mode or None}
        elif isinstance(r, SchemaChanged) and r.fault not in faults:
            faults[r.fault] = {"fault": r.fault, "kind": r.fault_kind, "rows": None, "columns": [r.column],
                               "mode": r.change, "to": r.to}
        elif isinstance(r, StoreSnapshotting):
            stores[r.snapshot] = {"store": r.store, "snapshot": r.snapshot, "checksum_before": r.checksum,
                                  "checksum_after": None, "restored": False, "restored_by": None}
        elif isinstance(r, StoreRestored) and r.snapshot in stores:
            entry = stores[r.snapshot]
            entry.update(checksum_after=r.checksum, restored_by=r.fault,
                         restored=bool(r.ok and r.checksum == entry["checksum_before"]))
    return {"faults": list(faults.values()), "stores": list(stores.values()),
            "artifacts": list(artifacts.values())}
