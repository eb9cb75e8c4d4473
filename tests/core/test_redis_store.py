"""The Redis hash store data faults use, against a real ``redis-server`` (Debian's).

Snapshot, change, restore and verify the checksum, as the target ledger does; a
snapshot survives a Redis restart because it is a file, not a key; ``cleanup``
reopens the store from its ``describe()``.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import time

import pytest

from harness.probes import free_port
from harness.stores import open_store
from harness.stores._resp import RespClient, RedisError
from harness.stores.redis import RedisHashStore

pytestmark = pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")


@pytest.fixture
def redis_url(tmp_path):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", str(tmp_path)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            with RespClient.from_url(url) as db:
                db.call("PING")
            break
        except OSError:
            assert time.monotonic() < deadline, "redis-server did not start within 10 s"
            time.sleep(0.05)
    try:
        yield url
    finally:
        proc.kill()
        proc.wait(10)


def fill(url: str) -> None:
    with RespClient.from_url(url) as db:
        db.pipeline([("HSET", f"item:{i}", "popularity", f"0.{i}", "quality", "0.5", "updated_at", "2026-01-01T00:00:00Z")
                     for i in range(50)] + [("HSET", "user:1", "activity", "3"), ("SET", "other", "x")])


def test_changes_are_restored_exactly_and_touch_only_the_pattern(redis_url, tmp_path):
    fill(redis_url)
    store = RedisHashStore(redis_url, key_pattern="item:{key}", key="item_id", snapshot_dir=tmp_path)
    users = RedisHashStore(redis_url, key_pattern="user:{key}", key="user_id", snapshot_dir=tmp_path)
    before, users_before = store.checksum(), users.checksum()
    assert store.columns() == ["popularity", "quality"]
    changes = [lambda: store.corrupt(fraction=0.1, mode="out_of_range", columns=["popularity"], rng=random.Random(3)),
               lambda: store.corrupt(fraction=1.0, mode="nan", columns=["quality"], rng=random.Random(3)),
               lambda: store.rename_column("quality", "quality_v2"),
               lambda: store.drop_column("popularity")]
    for change in changes:
        snapshot = store.snapshot()
        change()
        assert store.checksum() != before
        assert users.checksum() == users_before  # another pattern is another store
        store.restore(snapshot)
        assert store.checksum() == before
    assert store.snapshots() == []
    with RespClient.from_url(redis_url) as db:
        assert db.call("GET", "other") == "x"


def test_corrupt_hits_the_fraction_and_a_rename_moves_every_value(redis_url, tmp_path):
    fill(redis_url)
    store = RedisHashStore(redis_url, key_pattern="item:{key}", snapshot_dir=tmp_path)
    assert store.corrupt(fraction=0.1, mode="nan", columns=["popularity"], rng=random.Random(1)) == 5
    with RespClient.from_url(redis_url) as db:
        values = db.pipeline([("HGET", f"item:{i}", "popularity") for i in range(50)])
        assert values.count("nan") == 5
        store.rename_column("quality", "quality_v2")
        assert db.call("HGETALL", "item:7")[::2] == ["popularity", "updated_at", "quality_v2"]
        assert store.columns() == ["popularity", "quality_v2"]
        with pytest.raises(RedisError):
            db.call("HGETALL", "other")  # WRONGTYPE: an error reply is raised, not returned


def test_a_snapshot_is_a_file_that_cleanup_can_reopen(redis_url, tmp_path):
    fill(redis_url)
    store = RedisHashStore(redis_url, key_pattern="item:{key}", snapshot_dir=tmp_path)
    before = store.checksum()
    snapshot = store.snapshot()
    with RespClient.from_url(redis_url) as db:
        db.call("FLUSHALL")  # as a restarted Redis without the data would be
    reopened = open_store(store.describe())
    assert reopened.snapshots() == [snapshot]
    reopened.restore(snapshot)
    assert reopened.checksum() == before and not (tmp_path / snapshot).exists()
    with pytest.raises(FileNotFoundError):
        reopened.restore(snapshot)
