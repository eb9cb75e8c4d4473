"""Stores data faults change: SQLite tables, PostgreSQL tables, Redis hashes."""

from __future__ import annotations

from typing import Any

from harness.stores.base import FeatureStore


def open_store(described: dict[str, Any]) -> FeatureStore:
    """Reopen the store a ``describe()`` came from (``chaos-harness cleanup`` does).

    >>> open_store({"kind": "sqlite", "path": "/tmp/f.db", "table": "features", "key": "entity_id"})  # doctest: +SKIP
    """
    if described["kind"] == "redis":
        from harness.stores.redis import RedisHashStore

        return RedisHashStore(described["url"], key_pattern=described["key_pattern"], key=described["key"],
                              snapshot_dir=described["snapshot_dir"],
                              freshness_field=described.get("freshness_field", "updated_at"))
    where = {"table": described["table"], "key": described["key"]}
    if described["kind"] == "sqlite":
        from harness.stores.sqlite import SqliteFeatureStore

        return SqliteFeatureStore(described["path"], **where)
    if described["kind"] == "postgres":
        from harness.stores.postgres import PostgresFeatureStore

        return PostgresFeatureStore(described["dsn"], **where)
    raise ValueError(f"unknown feature store kind {described['kind']!r}")
