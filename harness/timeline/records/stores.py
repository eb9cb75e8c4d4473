"""Journal records: data stores."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from harness.timeline.records.base import Record, kind


@kind("store_snapshotting")
class StoreSnapshotting(Record):
    """Before the first data fault on a store: where its snapshot goes, and its checksum."""

    fault: str
    store: dict[str, Any]
    snapshot: str
    checksum: str


@kind("store_replayed")
class StoreReplayed(Record):
    """A data fault ended while others stayed: the store was restored, they re-applied."""

    fault: str
    snapshot: str
    faults: list[str] = field(default_factory=list)


@kind("store_restored")
class StoreRestored(Record):
    """The store is back at its snapshot (``ok`` false: the checksum did not match)."""

    store: dict[str, Any]
    snapshot: str
    ok: bool = True
    fault: str | None = None
    checksum: str | None = None
    error: str | None = None


@kind("cleaned_up")
class CleanedUp(Record):
    """``chaos-harness cleanup`` acted on this (dead) run."""

    actions: list[str] = field(default_factory=list)
