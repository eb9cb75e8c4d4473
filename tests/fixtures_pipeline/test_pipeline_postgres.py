"""feature_server.py's PostgreSQL path (FEATURE_DSN), against a throwaway local cluster.

Skipped unless psycopg 3 is importable and PostgreSQL's ``initdb``/``pg_ctl`` are on
PATH (as root, the cluster runs as the ``postgres`` user through ``runuser``).
"""

from __future__ import annotations

import asyncio
import os
import pwd
import time
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

from .conftest import SEED, BlackHole, Service, free_port, txn

import feature_server  # noqa: E402

psycopg = pytest.importorskip("psycopg")

INITDB, PG_CTL = shutil.which("initdb"), shutil.which("pg_ctl")


def _as_postgres() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no postgres user")
    runuser = shutil.which("runuser")
    if not runuser:
        pytest.skip("running as root without runuser")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="module")
def postgres_dsn(prepared: dict) -> Iterator[str]:
    if not (INITDB and PG_CTL):
        pytest.skip("PostgreSQL server binaries not installed")
    prefix = _as_postgres()
    # Not under pytest's tmp dir: its parents are private to root, and the cluster
    # may run as the postgres user.
    root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
    if prefix:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=60)
    run(INITDB, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    run(PG_CTL, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start", "-o",
        f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off")
    dsn = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        src = sqlite3.connect(prepared["db"])
        rows = src.execute("SELECT * FROM features WHERE entity_id < 200").fetchall()
        src.close()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE features (entity_id BIGINT PRIMARY KEY, txn_count_24h DOUBLE PRECISION,"
                         " avg_amount_30d DOUBLE PRECISION, account_age_days DOUBLE PRECISION,"
                         " chargeback_rate DOUBLE PRECISION, distinct_merchants_7d DOUBLE PRECISION,"
                         " updated_at TEXT)")
            with conn.cursor() as cur:
                cur.executemany("INSERT INTO features VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
        yield dsn
    finally:
        subprocess.run([*prefix, PG_CTL, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def pg_feature_server(postgres_dsn: str, prepared: dict) -> Iterator[Service]:
    svc = Service("feature_server", {"FEATURE_DSN": postgres_dsn, "FEATURE_DB": ""}, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


def test_postgres_matches_sqlite(pg_feature_server: Service, feature_server: Service) -> None:
    with pg_feature_server.http() as pg, feature_server.http() as lite:
        assert pg.get("/health").json()["backend"] == "postgres"
        for entity in (0, 17, 199):
            assert pg.get(f"/features/{entity}").json() == lite.get(f"/features/{entity}").json()
        assert pg.get("/features/5000").status_code == 404


def test_postgres_schema_changes_and_corruption(pg_feature_server: Service, postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn, autocommit=True) as conn, pg_feature_server.http() as http:
        for _ in range(6):  # past psycopg's auto-prepare threshold, had it been on
            http.get("/features/3")
        conn.execute("ALTER TABLE features RENAME COLUMN chargeback_rate TO cb_rate")
        try:
            feats = http.get("/features/3").json()["features"]
            assert "cb_rate" in feats and "chargeback_rate" not in feats
        finally:
            conn.execute("ALTER TABLE features RENAME COLUMN cb_rate TO chargeback_rate")
        conn.execute("UPDATE features SET txn_count_24h = 'NaN', account_age_days = '-Infinity' WHERE entity_id = 4")
        feats = http.get("/features/4").json()["features"]
        assert feats["txn_count_24h"] is None and feats["account_age_days"] == "-Infinity"
        conn.execute("ALTER TABLE features RENAME COLUMN entity_id TO eid")
        try:
            assert http.get("/features/3").status_code == 503
        finally:
            conn.execute("ALTER TABLE features RENAME COLUMN eid TO entity_id")
        assert http.get("/features/3").status_code == 200


@pytest.fixture(scope="module")
def pg_model_server(pg_feature_server: Service, prepared: dict) -> Iterator[Service]:
    env = {"FEATURE_URL": pg_feature_server.url, "MODEL_DIR": str(prepared["model_dir"]), "MODEL_SEED": str(SEED)}
    svc = Service("model_server", env, prepared["root"]).wait_healthy()
    yield svc
    svc.stop()


def test_postgres_staleness_and_drift_like_sqlite(pg_model_server: Service, model_server: Service,
                                                  postgres_dsn: str) -> None:
    """The model server's freshness and schema checks see a PostgreSQL store as they see SQLite."""
    clean = pg_model_server.predict(txn(3))
    assert clean == model_server.predict(txn(3))  # same row, same answer, nothing flagged
    with psycopg.connect(postgres_dsn, autocommit=True) as conn:
        stamp = conn.execute("SELECT updated_at FROM features WHERE entity_id = 3").fetchone()[0]
        conn.execute("UPDATE features SET updated_at = '2020-01-01T00:00:00Z' WHERE entity_id = 3")
        try:
            assert pg_model_server.predict(txn(3)) == {**clean, "stale_features": True}
        finally:
            conn.execute("UPDATE features SET updated_at = %s WHERE entity_id = 3", (stamp,))
        conn.execute("ALTER TABLE features ALTER COLUMN chargeback_rate TYPE text")
        try:
            out = pg_model_server.predict(txn(3))
            assert out["reason"] == "schema_drift" and out["schema_drift"] is True and out["fallback"] is True
        finally:
            conn.execute("ALTER TABLE features ALTER COLUMN chargeback_rate TYPE double precision"
                         " USING chargeback_rate::double precision")
        conn.execute("ALTER TABLE features ADD COLUMN risk_v2 integer DEFAULT 7")
        try:
            assert pg_model_server.predict(txn(3)) == {**clean, "schema_drift": True}
        finally:
            conn.execute("ALTER TABLE features DROP COLUMN risk_v2")
    assert pg_model_server.predict(txn(3)) == clean


def test_postgres_store_in_process(postgres_dsn: str) -> None:
    async def main() -> None:
        store = feature_server.PostgresStore(postgres_dsn)
        try:
            row = await store.fetch(3)
            assert row.values["entity_id"] == 3 and row.types["chargeback_rate"] == "real"
            assert row.types["entity_id"] == "integer" and row.types["updated_at"] == "text"
            assert await store.fetch(123456) is None
            await store.ping()
            assert len(store._idle) == 1  # one pooled connection served all three
        finally:
            await store.close()
    asyncio.run(main())


def test_hung_database_is_a_bounded_503(prepared: dict) -> None:
    """A database that accepts and never answers: each read gives up after the deadline."""
    hole = BlackHole()
    port = hole.url.rsplit(":", 1)[1]
    try:
        async def direct() -> float:
            store = feature_server.PostgresStore(f"postgresql://x@127.0.0.1:{port}/db", timeout_s=0.3)
            start = time.perf_counter()
            with pytest.raises(feature_server.StoreError, match="did not answer"):
                await store.fetch(1)
            assert store._idle == []
            return time.perf_counter() - start
        assert 0.25 < asyncio.run(direct()) < 2.0

        svc = Service("feature_server", {"FEATURE_DSN": f"postgresql://x@127.0.0.1:{port}/db",
                                         "FEATURE_STORE_TIMEOUT_S": "0.3"}, prepared["root"])
        try:
            svc.wait_healthy(ok=(503,))
            with svc.http() as http:
                start = time.perf_counter()
                resp = http.get("/features/1")
                assert resp.status_code == 503 and time.perf_counter() - start < 2.0
        finally:
            svc.stop()
    finally:
        hole.close()
