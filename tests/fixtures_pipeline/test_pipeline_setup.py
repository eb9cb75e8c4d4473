"""setup_pipeline.py: a deterministic, fresh feature table, a cached model with its versions, the golden set."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import numpy as np

from .conftest import PIPELINE_DIR, SEED, run_setup

import fraud_model  # noqa: E402  (on sys.path via conftest)
import model_artifact  # noqa: E402
from feature_checks import parse_timestamp  # noqa: E402
from setup_pipeline import create_table, table_checksum, table_rows  # noqa: E402


def test_table_shape(prepared: dict) -> None:
    conn = sqlite3.connect(prepared["db"])
    try:
        cols = [row[1] for row in conn.execute("PRAGMA table_info(features)")]
        n, lo, hi = conn.execute("SELECT COUNT(*), MIN(entity_id), MAX(entity_id) FROM features").fetchone()
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        for name, (fmin, fmax) in fraud_model.FEATURE_DOMAIN.items():
            vmin, vmax, nulls = conn.execute(
                f"SELECT MIN({name}), MAX({name}), SUM({name} IS NULL) FROM features").fetchone()
            assert fmin <= vmin <= vmax <= fmax and nulls == 0, name
        stamps = [row[0] for row in conn.execute("SELECT updated_at FROM features")]
    finally:
        conn.close()
    assert cols == ["entity_id", *fraud_model.FEATURES, "updated_at"]
    assert (n, lo, hi) == (10_000, 0, 9_999)
    assert mode == "wal"
    # Fresh as of the setup: every row updated within ROW_AGE_SPAN_S before --as-of (now).
    as_of = prepared["setup"]["as_of"]
    ages = [as_of - parse_timestamp(stamp) for stamp in stamps]
    assert all(stamp.endswith("Z") for stamp in stamps)
    assert 0 <= min(ages) and max(ages) < fraud_model.ROW_AGE_SPAN_S
    assert abs(as_of - prepared["started"]) < 120


def test_same_seed_and_as_of_same_table(prepared: dict, tmp_path: Path) -> None:
    model_dir, as_of = prepared["model_dir"], str(prepared["setup"]["as_of"])
    run_setup(tmp_path / "a.db", model_dir, SEED, "--as-of", as_of)  # the model is cached: this is fast
    run_setup(tmp_path / "b.db", model_dir, SEED, "--as-of", as_of)
    create_table(tmp_path / "c.db", table_rows(SEED + 1, 10_000, int(as_of)))
    create_table(tmp_path / "d.db", table_rows(SEED, 10_000, int(as_of) + 60))
    assert table_checksum(tmp_path / "a.db") == table_checksum(tmp_path / "b.db") == table_checksum(prepared["db"])
    assert table_checksum(tmp_path / "a.db") != table_checksum(tmp_path / "c.db")
    # A later as-of moves only the timestamps.
    same_values = "SELECT entity_id, txn_count_24h, avg_amount_30d, account_age_days, chargeback_rate," \
                  " distinct_merchants_7d FROM features ORDER BY entity_id"
    with sqlite3.connect(tmp_path / "a.db") as a, sqlite3.connect(tmp_path / "d.db") as d:
        assert a.execute(same_values).fetchall() == d.execute(same_values).fetchall()
    assert table_checksum(tmp_path / "a.db") != table_checksum(tmp_path / "d.db")


def test_rerun_recreates_table_fresh(prepared: dict, tmp_path: Path) -> None:
    db, as_of = tmp_path / "run.db", str(prepared["setup"]["as_of"])
    run_setup(db, prepared["model_dir"], SEED, "--as-of", as_of)
    want = table_checksum(db)
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("UPDATE features SET chargeback_rate = 'corrupt' WHERE entity_id < 100")
    conn.execute("ALTER TABLE features RENAME COLUMN txn_count_24h TO renamed")
    conn.close()
    run_setup(db, prepared["model_dir"], SEED, "--as-of", as_of)
    assert table_checksum(db) == want


def test_model_is_cached_per_seed(prepared: dict) -> None:
    assert prepared["setup"]["trained"] is True
    again = run_setup(prepared["root"] / "again.db", prepared["model_dir"], SEED)
    assert again["trained"] is False
    assert again["model"] == prepared["setup"]["model"]
    model_path = Path(again["model"])
    meta = json.loads((model_path / "meta.json").read_text())
    ranges = json.loads((model_path / "ranges.json").read_text())
    assert meta["seed"] == SEED and meta["features"] == list(fraud_model.FEATURES)
    assert meta["holdout_auc"] > 0.7 and meta["label"] == "current"
    assert set(ranges) == set(fraud_model.FEATURES)
    assert all(r["min"] < r["max"] for r in ranges.values())
    current = json.loads((prepared["model_dir"] / "current.json").read_text())
    assert current["model"] == model_path.name


def test_concurrent_setups_share_one_model(tmp_path: Path, monkeypatch) -> None:
    """Two runs training the same model at once: one wins the rename, both succeed."""
    model_dir = tmp_path / "model"
    real_train = fraud_model.train_model
    barrier = threading.Barrier(2, timeout=30)

    def train_in_lockstep(seed: int, n_samples: int = 2000):
        result = real_train(seed, n_samples=n_samples)
        barrier.wait()  # both have trained before either publishes
        return result

    monkeypatch.setattr(fraud_model, "train_model", train_in_lockstep)
    results: list = []
    threads = [threading.Thread(target=lambda: results.append(model_artifact.ensure_model(model_dir, 5)))
               for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(trained for _, trained in results) == [False, True]
    assert sorted(p.name for p in model_dir.iterdir()) == ["current.json", model_artifact.model_key(5)]
    assert model_artifact.load_model(model_dir, 5).meta["seed"] == 5


def test_training_is_deterministic() -> None:
    est_a, meta_a, _ = fraud_model.train_model(3, n_samples=4000)
    est_b, meta_b, _ = fraud_model.train_model(3, n_samples=4000)
    x = np.abs(np.random.default_rng(1).normal(size=(16, fraud_model.N_INPUTS)))
    assert np.array_equal(est_a.predict_proba(x), est_b.predict_proba(x))
    assert meta_a == meta_b


def test_folded_scorer_matches_predict_proba(prepared: dict) -> None:
    model = model_artifact.load_model(prepared["model_dir"], SEED)
    folded = fraud_model.make_scorer(model.estimator)
    assert isinstance(folded, fraud_model.LinearScorer)
    rng = np.random.default_rng(2)
    for _ in range(50):
        feats = {n: float(rng.uniform(lo, hi)) for n, (lo, hi) in fraud_model.FEATURE_DOMAIN.items()}
        x = fraud_model.feature_vector(feats, float(rng.uniform(0, 3000)), int(rng.integers(24)),
                                       str(rng.choice(fraud_model.MERCHANT_CATEGORIES)))
        assert abs(folded(x) - model.estimator.predict_proba(x)[0, 1]) < 1e-12


def test_pipeline_yaml_points_at_these_files() -> None:
    text = (PIPELINE_DIR / "pipeline.yaml").read_text()
    for name in ("setup_pipeline.py", "feature_server:app", "model_server:app", "locustfile.py"):
        assert name in text


def test_pipeline_yaml_declares_the_tables_feature_columns(prepared: dict) -> None:
    from harness.pipeline import load_pipeline
    from harness.stores.sqlite import SqliteFeatureStore

    store = load_pipeline(PIPELINE_DIR).stores["features"]
    assert store.columns == fraud_model.FEATURES
    assert SqliteFeatureStore(prepared["db"], table=store.table, key=store.key).columns() == list(store.columns)
