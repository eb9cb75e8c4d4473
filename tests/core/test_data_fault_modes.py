"""The issue-12 data faults on real SQLite and a real PostgreSQL: each change is exactly
what it says, seeded (the same seed touches the same rows), and restored byte for byte
(the store's checksum) with the restore journaled."""

import random
import sqlite3
from contextlib import closing
from types import SimpleNamespace

import pytest

from harness.activation import FaultActivation
from harness.faults.base import FaultContext
from harness.journal import Journal, read_jsonl
from harness.model import FaultSpec
from harness.stores.postgres import PostgresFeatureStore
from harness.stores.sqlite import SqliteFeatureStore
from stack_support import COLUMNS, ROWS, make_pg_table, make_sqlite_table


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        return SqliteFeatureStore(make_sqlite_table(tmp_path / "features.db"))
    dsn = request.getfixturevalue("pg_dsn")
    make_pg_table(dsn, "features_modes")
    return PostgresFeatureStore(dsn, table="features_modes")


def activate(store, tmp_path, raw, seed=0):
    spec = FaultSpec.model_validate(raw)
    journal = Journal(tmp_path / f"journal-{random.getrandbits(32)}.jsonl")
    ctx = FaultContext(backend=SimpleNamespace(store=lambda name=None: store), journal=journal,
                       rng=random.Random(seed), fault_name=spec.name)
    return FaultActivation(spec, ctx), journal


def table(store, columns=(*COLUMNS, "updated_at")):
    return store.read_rows(store.keys(), list(columns))


def changed_keys(before, during):
    return sorted(k for k in before if before[k] != during[k])


def declared_type(store, column):
    if isinstance(store, SqliteFeatureStore):
        with closing(sqlite3.connect(store.path)) as db:
            return {r[1]: r[2] for r in db.execute(f"PRAGMA table_info({store.table})")}[column].lower()
    with store._connect() as db:
        return dict(store._schema(db, store.table))[column]


def restored(store, journal, before_sum, before_rows):
    records = list(read_jsonl(journal.path))
    snap = [r for r in records if r["kind"] == "store_snapshotting"]
    back = [r for r in records if r["kind"] == "store_restored"]
    assert [s["checksum"] for s in snap] == [before_sum]
    assert [(b["checksum"], b["ok"]) for b in back] == [(before_sum, True)]
    assert store.checksum() == before_sum and table(store) == before_rows
    return records


@pytest.mark.parametrize("mode", ["scale", "swap", "null"])
def test_corrupt_modes_change_exactly_their_rows_then_restore(store, tmp_path, mode):
    a, b = COLUMNS[:2]
    params = {"fraction": 0.25, "mode": mode, "columns": [a, b]}
    if mode == "scale":
        params["factor"] = 3.0
    before_sum, before = store.checksum(), table(store)
    activation, journal = activate(store, tmp_path, {"name": "c", "corrupt_features": params})
    with activation:
        during = table(store)
    hit = changed_keys(before, during)
    assert len(hit) == round(ROWS * 0.25) or mode == "swap"  # a swap of equal values changes nothing
    for key in hit:
        old, new = before[key], during[key]
        expect = {"scale": {a: old[a] * 3.0, b: old[b] * 3.0}, "swap": {a: old[b], b: old[a]},
                  "null": {a: None, b: None}}[mode]
        assert new == {**old, **expect}
    records = restored(store, journal, before_sum, before)
    corrupted = [r for r in records if r["kind"] == "rows_corrupted"]
    assert [(r["rows"], r["columns"], r["mode"]) for r in corrupted] == [(round(ROWS * 0.25), [a, b], mode)]


def test_the_same_seed_touches_the_same_rows(store, tmp_path):
    picks = []
    for seed in (5, 5, 6):
        before = table(store)
        activation, _ = activate(store, tmp_path, {"name": "s", "corrupt_features": {
            "fraction": 0.1, "mode": "scale", "factor": 2.0, "columns": [COLUMNS[1]]}}, seed=seed)
        with activation:
            picks.append(changed_keys(before, table(store)))
    assert len(picks[0]) == ROWS // 10 and picks[0] == picks[1] != picks[2]


def test_stale_features_ages_the_chosen_rows_only(store, tmp_path):
    before_sum, before = store.checksum(), table(store)
    activation, journal = activate(store, tmp_path, {"name": "old", "stale_features": {"age": "48h", "fraction": 0.5}})
    with activation:
        during = table(store)
    hit = changed_keys(before, during)
    assert len(hit) == ROWS // 2
    (stamp,) = {during[k]["updated_at"] for k in hit}
    assert all(during[k] == {**before[k], "updated_at": stamp} for k in hit)
    records = restored(store, journal, before_sum, before)
    assert [(r["rows"], r["columns"]) for r in records if r["kind"] == "rows_corrupted"] == [(ROWS // 2, ["updated_at"])]


def test_stale_stamp_is_age_before_injection(store, tmp_path):
    import calendar
    import time

    activation, _ = activate(store, tmp_path, {"name": "old", "stale_features": {"age": "48h"}})
    with activation:
        stamp = next(iter(table(store).values()))["updated_at"]
        age = time.time() - calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))
    assert 2 * 86400 <= age < 2 * 86400 + 60


def test_schema_change_retype_then_restore(store, tmp_path):
    column = COLUMNS[1]
    before_sum, before = store.checksum(), table(store)
    before_type = declared_type(store, column)
    activation, journal = activate(store, tmp_path, {"name": "t", "schema_change": {"column": column, "retype": "text"}})
    with activation:
        assert declared_type(store, column) == "text"
        assert sorted(store.columns()) == sorted(COLUMNS)
        values = {k: v[column] for k, v in table(store).items()}
        assert all(isinstance(v, str) and float(v) == before[k][column] for k, v in values.items())
    assert declared_type(store, column) == before_type
    restored(store, journal, before_sum, before)


def test_schema_change_add_column_then_restore(store, tmp_path):
    before_sum, before = store.checksum(), table(store)
    activation, journal = activate(store, tmp_path, {"name": "a", "schema_change": {"add_column": "surprise"}})
    with activation:
        assert store.columns() == [*COLUMNS, "surprise"]
        assert {v["surprise"] for v in table(store, ["surprise"]).values()} == {None}
    assert store.columns() == list(COLUMNS)
    restored(store, journal, before_sum, before)


@pytest.mark.parametrize("bad, message", [
    ({"corrupt_features": {"fraction": 0.1, "mode": "swap", "columns": ["a"]}}, "exactly two"),
    ({"corrupt_features": {"fraction": 0.1, "mode": "nan", "factor": 2}}, "factor is for mode scale"),
    ({"schema_change": {"column": "a", "retype": "text", "drop": True}}, "exactly one"),
    ({"schema_change": {"column": "a", "add_column": "b"}}, "not given with add_column"),
    ({"stale_features": {"fraction": 0.5}}, "age"),
])
def test_bad_parameters_are_refused(bad, message):
    with pytest.raises(Exception, match=message):
        FaultSpec.model_validate({"name": "x", **bad})
