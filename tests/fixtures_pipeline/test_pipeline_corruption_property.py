"""Property (hypothesis): for any corruption a strategy draws (which rows, which columns,
which mode, up to 5% of the table), applied by the harness's own ``corrupt_features``
fault to the reference pipeline's real SQLite table under a real feature server and
model server: no valid request gets a 5xx, every answer built from a corrupted row is
flagged, every answer built from an untouched row is not, and the table comes back
byte for byte (checksum and every row)."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.activation import FaultActivation
from harness.faults.base import FaultContext
from harness.journal import Journal
from harness.model import FaultSpec
from harness.stores.sqlite import SqliteFeatureStore

from .conftest import scratch_pipeline, txn

FEATURES = ("txn_count_24h", "avg_amount_30d", "account_age_days", "chargeback_rate", "distinct_merchants_7d")
FLAGS = ("fallback", "stale_features", "schema_drift", "model_degraded")
DETECTABLE = ("nan", "null", "out_of_range", "wrong_type")
"""Modes the pipeline's checks can see; ``scale`` and ``swap`` within range are the
silent failures the golden set measures instead (``scenarios/silent-failure.yaml``)."""


@pytest.fixture(scope="module")
def world(prepared: dict, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("corruption-property")
    with scratch_pipeline(prepared, root) as scratch:
        server = scratch.model_server().wait_healthy()
        try:
            yield SimpleNamespace(store=SqliteFeatureStore(scratch.db), server=server, root=root)
        finally:
            server.stop()


def table(store: SqliteFeatureStore) -> dict:
    return store.read_rows(store.keys(), [*FEATURES, "updated_at"])


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mode=st.sampled_from(DETECTABLE), fraction=st.floats(0.0005, 0.05),
       columns=st.lists(st.sampled_from(FEATURES), min_size=1, max_size=len(FEATURES), unique=True),
       seed=st.integers(0, 2**32 - 1))
def test_any_detectable_corruption_is_flagged_never_5xx_and_restored(world, mode, fraction, columns, seed):
    store, before_sum = world.store, world.store.checksum()
    before = table(store)
    spec = FaultSpec.model_validate({"name": "c", "corrupt_features": {"fraction": fraction, "mode": mode,
                                                                        "columns": columns}})
    ctx = FaultContext(backend=SimpleNamespace(store=lambda name=None: store),
                       journal=Journal(world.root / "journal.jsonl"), rng=random.Random(seed), fault_name="c")
    rng = random.Random(seed)
    with FaultActivation(spec, ctx):
        during = table(store)
        hit = [k for k in before if during[k] != before[k]]
        clean = [k for k in before if during[k] == before[k]]
        assert hit, "a corruption always touches at least one row"
        asked = rng.sample(hit, min(8, len(hit))) + rng.sample(clean, 4)
        with httpx.Client(base_url=world.server.url, timeout=10) as http:
            answers = {k: http.post("/predict", json=txn(k)) for k in asked}
    for key, reply in answers.items():
        assert reply.status_code == 200, (key, reply.status_code, reply.text)
        flagged = any(reply.json()[f] for f in FLAGS)
        assert flagged == (key in hit), (key, mode, columns, reply.json())
    assert store.checksum() == before_sum
    assert table(store) == before
