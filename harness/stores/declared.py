"""A store as the pipeline declares it (``stores.<name>``), opened at a concrete address."""

from __future__ import annotations

from pathlib import Path

from harness.pipeline import StoreSpec
from harness.stores.base import FeatureStore


def open_declared(spec: StoreSpec, *, address: str, snapshot_dir: Path, kind: str | None = None) -> FeatureStore:
    """The store of ``spec`` at ``address`` (a SQLite path, a PostgreSQL DSN or a Redis URL,
    placeholders already filled); ``kind`` overrides the declared kind (the docker
    backend's PostgreSQL in place of a SQLite file)."""
    kind = kind or spec.kind
    if kind == "sqlite":
        from harness.stores.sqlite import SqliteFeatureStore

        return SqliteFeatureStore(address, table=spec.table, key=spec.key)
    if kind == "postgres":
        from harness.stores.postgres import PostgresFeatureStore

        return PostgresFeatureStore(address, table=spec.table, key=spec.key)
    from harness.stores.redis import RedisHashStore

    return RedisHashStore(address, key_pattern=spec.key_pattern or "", key=spec.key,
                          snapshot_dir=snapshot_dir, freshness_field=spec.freshness_field)
