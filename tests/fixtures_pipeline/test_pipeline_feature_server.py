"""feature_server.py over a live SQLite table that another process modifies."""

from __future__ import annotations

import sqlite3

import pytest

from .conftest import Service, added_column, db_write, renamed_column, retyped_column, saved_row

import feature_server  # noqa: E402


def test_health(feature_server: Service) -> None:
    with feature_server.http() as http:
        resp = http.get("/health")
    assert resp.status_code == 200 and resp.json()["backend"] == "sqlite"


def test_row_as_stored(feature_server: Service, prepared: dict) -> None:
    conn = sqlite3.connect(prepared["db"])
    conn.row_factory = sqlite3.Row
    row = dict(conn.execute("SELECT * FROM features WHERE entity_id = 123").fetchone())
    conn.close()
    with feature_server.http() as http:
        body = http.get("/features/123").json()
    assert body["entity_id"] == 123
    assert body["updated_at"] == row.pop("updated_at")
    row.pop("entity_id")
    assert body["features"] == row
    assert body["types"] == dict.fromkeys(row, "real")


def test_unknown_entity_is_404(feature_server: Service) -> None:
    with feature_server.http() as http:
        assert http.get("/features/10000").status_code == 404
        assert http.get("/features/-1").status_code == 404
        assert http.get(f"/features/{2**70}").status_code == 404
        assert http.get("/features/abc").status_code == 422


def test_corrupted_values_are_returned_as_stored(feature_server: Service, prepared: dict) -> None:
    with saved_row(prepared["db"], 77) as conn, feature_server.http() as http:
        conn.execute(
            "UPDATE features SET txn_count_24h = ?, avg_amount_30d = 'abc', account_age_days = ?,"
            " chargeback_rate = ?, distinct_merchants_7d = 'NaN' WHERE entity_id = 77",
            (float("nan"), float("inf"), -1e300),
        )
        resp = http.get("/features/77")
        assert resp.status_code == 200
        assert resp.json()["features"] == {
            "txn_count_24h": None,  # SQLite stores NaN as NULL
            "avg_amount_30d": "abc",
            "account_age_days": "Infinity",
            "chargeback_rate": -1e300,
            "distinct_merchants_7d": "NaN",
        }
    with feature_server.http() as http:  # restored
        assert http.get("/features/77").json()["features"]["avg_amount_30d"] != "abc"


def test_schema_changes_show_at_once(feature_server: Service, prepared: dict) -> None:
    with feature_server.http() as http:
        http.get("/features/5")  # the server's connection exists and has run the query
        with renamed_column(prepared["db"], "chargeback_rate", "cb_rate"):
            feats = http.get("/features/5").json()["features"]
            assert "cb_rate" in feats and "chargeback_rate" not in feats
        assert "chargeback_rate" in http.get("/features/5").json()["features"]


def test_lost_key_column_is_503(feature_server: Service, prepared: dict) -> None:
    key = 'feature_requests_total{outcome="store_error"}'
    before = feature_server.metrics().get(key, 0)
    with feature_server.http() as http:
        with renamed_column(prepared["db"], "entity_id", "eid"):
            resp = http.get("/features/5")
            assert resp.status_code == 503 and "entity_id" in resp.json()["detail"]
        assert http.get("/features/5").status_code == 200
    assert feature_server.metrics()[key] - before == 1


def test_dropped_column_is_a_missing_key(tmp_path) -> None:
    db = tmp_path / "f.db"
    with db_write(db) as conn:
        conn.execute("CREATE TABLE features (entity_id INTEGER PRIMARY KEY, a REAL, b REAL, updated_at TEXT)")
        conn.execute("INSERT INTO features VALUES (1, 1.5, 2.5, 'x')")
    store = feature_server.SQLiteStore(db)
    assert store.get(1).values == {"entity_id": 1, "a": 1.5, "b": 2.5, "updated_at": "x"}
    with db_write(db) as conn:
        conn.execute("ALTER TABLE features DROP COLUMN b")
    assert store.get(1).values == {"entity_id": 1, "a": 1.5, "updated_at": "x"}
    with db_write(db) as conn:
        conn.execute("DROP TABLE features")
    with pytest.raises(feature_server.StoreError, match="no such table"):
        store.get(1)
    store.close_all()


def test_replaced_file_is_reopened(tmp_path) -> None:
    db, new = tmp_path / "f.db", tmp_path / "g.db"
    for path, value in ((db, 1.0), (new, 2.0)):
        with db_write(path) as conn:
            conn.execute("CREATE TABLE features (entity_id INTEGER PRIMARY KEY, a REAL)")
            conn.execute("INSERT INTO features VALUES (1, ?)", (value,))
    store = feature_server.SQLiteStore(db)
    assert store.get(1).values["a"] == 1.0
    new.replace(db)
    assert store.get(1).values["a"] == 2.0
    db.unlink()
    with pytest.raises(feature_server.StoreError):
        store.get(1)
    store.close_all()


def test_declared_types_follow_schema_changes(tmp_path) -> None:
    """A retyped column shows in ``types`` at once, even when its values still parse as numbers."""
    db = tmp_path / "f.db"
    with db_write(db) as conn:
        conn.execute("CREATE TABLE features (entity_id INTEGER PRIMARY KEY, a REAL, b DOUBLE PRECISION)")
        conn.execute("INSERT INTO features VALUES (1, 0.25, 2.5)")
    store = feature_server.SQLiteStore(db)
    assert store.get(1).types == {"entity_id": "integer", "a": "real", "b": "real"}
    with retyped_column(db, "a", "TEXT"):
        row = store.get(1)
        assert row.values["a"] == "0.25" and row.types["a"] == "text"
        with added_column(db, "c", "VARCHAR(8)"):
            assert store.get(1).types == {"entity_id": "integer", "b": "real", "a": "text", "c": "text"}
    assert store.get(1).types["a"] == "real" and store.get(1).values["a"] == 0.25
    store.close_all()


@pytest.mark.parametrize("declared, word", [
    ("REAL", "real"), ("DOUBLE PRECISION", "real"), ("FLOAT", "real"), ("INTEGER", "integer"),
    ("BIGINT", "integer"), ("TEXT", "text"), ("VARCHAR(20)", "text"), ("", "blob"), ("BLOB", "blob"),
    ("NUMERIC", "numeric"), ("DECIMAL(10,5)", "numeric"),
])
def test_sqlite_type_words(declared, word) -> None:
    assert feature_server.sqlite_type(declared) == word


def test_store_from_env() -> None:
    assert isinstance(feature_server.store_from_env({"FEATURE_DB": "/x.db"}), feature_server.SQLiteStore)
    with pytest.raises(RuntimeError):
        feature_server.store_from_env({})
    with pytest.raises(RuntimeError):
        feature_server.store_from_env({"FEATURE_DSN": "mysql://x"})


@pytest.mark.parametrize("value, expected", [
    (float("nan"), None), (float("inf"), "Infinity"), (float("-inf"), "-Infinity"), (b"\x01\xff", "01ff"),
    (1.5, 1.5), (3, 3), ("s", "s"), (None, None),
])
def test_jsonable(value, expected) -> None:
    assert feature_server.jsonable(value) == expected
