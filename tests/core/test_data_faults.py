"""Data faults change a real SQLite feature table and restore it exactly (checksum)."""

import math
import random
import sqlite3
from types import SimpleNamespace

import pytest

from harness.activation import FaultActivation
from harness.faults.base import FaultContext
from harness.journal import Journal, read_jsonl
from harness.model import FaultSpec
from harness.stores.sqlite import SqliteFeatureStore


@pytest.fixture
def store(tmp_path):
    db = tmp_path / "features.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE features (entity_id INTEGER PRIMARY KEY, txn_count_24h REAL, "
                     "avg_amount_30d REAL, updated_at TEXT)")
        conn.executemany("INSERT INTO features VALUES (?, ?, ?, ?)",
                         [(i, i % 7, 10.0 + i, "2026-01-01T00:00:00") for i in range(200)])
    return SqliteFeatureStore(db)


def activate(store, tmp_path, raw, seed=0):
    spec = FaultSpec.model_validate(raw)
    journal = Journal(tmp_path / "journal.jsonl")
    backend = SimpleNamespace(store=lambda name=None: store)
    ctx = FaultContext(backend=backend, journal=journal, rng=random.Random(seed), fault_name=spec.name)
    return FaultActivation(spec, ctx), journal


def rows(store):
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT * FROM features ORDER BY entity_id").fetchall()


@pytest.mark.parametrize("mode", ["nan", "out_of_range", "wrong_type"])
def test_corrupt_features_then_restore_exactly(store, tmp_path, mode):
    before_sum, before_rows = store.checksum(), rows(store)
    activation, journal = activate(store, tmp_path, {"name": "c", "corrupt_features": {"fraction": 0.25, "mode": mode}})
    with activation:
        during = rows(store)
        changed = [(a, b) for a, b in zip(during, before_rows) if a != b]
        assert len(changed) == 50  # round(200 * 0.25) rows, exactly
        assert store.checksum() != before_sum
        for (key, *features, stamp), (old_key, *_, old_stamp) in changed:
            assert (key, stamp) == (old_key, old_stamp)  # only the feature columns change
            for value in features:  # every feature column of a chosen row is corrupted
                if mode == "nan":
                    assert value is None or (isinstance(value, float) and math.isnan(value))
                elif mode == "wrong_type":
                    assert value == "corrupted"
                else:
                    assert value in (-1e9, 1e12)
    hit = [r for r in read_jsonl(journal.path) if r["kind"] == "rows_corrupted"]
    assert [(r["rows"], r["columns"]) for r in hit] == [(50, ["txn_count_24h", "avg_amount_30d"])]
    assert store.checksum() == before_sum
    assert rows(store) == before_rows


def test_corruption_is_reproducible_with_a_seed(store, tmp_path):
    picks = []
    for seed in (42, 42, 43):
        activation, _ = activate(store, tmp_path, {"name": "c", "corrupt_features": {"fraction": 0.1}}, seed=seed)
        with activation:
            picks.append([r[0] for r in rows(store) if r[1] is None])
    assert len(picks[0]) == 20
    assert picks[0] == picks[1]
    assert picks[2] != picks[0]  # the rows come from the seeded rng, not a fixed choice


def test_schema_change_rename_and_drop_restore_exactly(store, tmp_path):
    before = store.checksum()
    for change, during in (({"rename_to": "avg_amount_v2"}, ["txn_count_24h", "avg_amount_v2"]),
                           ({"drop": True}, ["txn_count_24h"])):
        activation, _ = activate(store, tmp_path, {"name": "s", "schema_change": {"column": "avg_amount_30d", **change}})
        with activation:
            assert store.columns() == during
        assert store.checksum() == before
        assert store.columns() == ["txn_count_24h", "avg_amount_30d"]


def test_revert_is_journaled_even_when_interrupted(store, tmp_path):
    before = store.checksum()
    activation, journal = activate(store, tmp_path, {"name": "c", "corrupt_features": {"fraction": 0.5}})
    with pytest.raises(KeyboardInterrupt):
        with activation:
            raise KeyboardInterrupt
    kinds = [(r["kind"], r.get("interrupted")) for r in read_jsonl(journal.path)]
    assert kinds[0] == ("fault_injecting", None)
    assert ("fault_injected", None) in kinds
    assert kinds[-1] == ("fault_reverted", True)
    assert store.checksum() == before


def test_failed_inject_leaves_table_untouched(store, tmp_path):
    before = store.checksum()
    activation, journal = activate(store, tmp_path, {"name": "s", "schema_change": {"column": "no_such", "drop": True}})
    with pytest.raises(Exception, match="could not be injected"):
        with activation:
            pass
    assert store.checksum() == before
    last = list(read_jsonl(journal.path))[-1]
    assert last["kind"] == "fault_reverted" and last["ok"] is False
