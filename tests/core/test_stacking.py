"""Faults on one target stack: data faults restore the state before the first of them,
whatever order they end in; a link or a service held by several faults is released by
the last. Real SQLite (and PostgreSQL where it runs), the real proxy server, a real
stopped process."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.journal import Journal, read_jsonl
from harness.stores.sqlite import SqliteFeatureStore
from stack_support import Faults, backend, make_sqlite_table, proxy_server, proxy_state

CORRUPT_A = {"name": "nan-a", "corrupt_features": {"fraction": 0.4, "mode": "nan"}}
CORRUPT_B = {"name": "range-b", "corrupt_features": {"fraction": 0.5, "mode": "out_of_range"}}
RENAME = {"name": "rename", "schema_change": {"column": "avg_amount_30d", "rename_to": "avg_amount_v2"}}
DROP = {"name": "drop", "schema_change": {"column": "account_age_days", "drop": True}}


@pytest.fixture
def store(tmp_path) -> SqliteFeatureStore:
    return SqliteFeatureStore(make_sqlite_table(tmp_path / "features.db"))


@pytest.fixture
def journal(tmp_path):
    with Journal(tmp_path / "journal.jsonl") as journal:
        yield journal


def rows(store: SqliteFeatureStore) -> list[tuple]:
    with sqlite3.connect(store.path) as db:
        return db.execute("SELECT * FROM features ORDER BY entity_id").fetchall()


def alone(pristine: Path, tmp_path: Path, raw: dict, *, seed: int, index: int) -> str:
    """The checksum of a copy of the starting table with only fault ``raw`` applied, as
    the ``index``-th fault of a run seeded ``seed`` applies it."""
    lone = SqliteFeatureStore(shutil.copy(pristine, tmp_path / f"alone-{raw['name']}.db"))
    with Journal(tmp_path / "alone.jsonl") as journal:
        faults = Faults(backend(store=lone), journal, seed=seed)
        for _ in range(index):
            faults.rng.random()  # the draws of the faults injected before it
        faults.inject(raw)
        return lone.checksum()


@pytest.mark.parametrize("first_ends", [0, 1], ids=["crossing", "nested"])
@pytest.mark.parametrize("pair", [(CORRUPT_A, CORRUPT_B), (CORRUPT_A, RENAME), (RENAME, CORRUPT_B), (DROP, RENAME)],
                         ids=["corrupt+corrupt", "corrupt+rename", "rename+corrupt", "drop+rename"])
def test_overlapping_data_faults_restore_the_table_whatever_the_end_order(store, journal, tmp_path, pair, first_ends):
    """A 2-6 s, B 4-10 s (crossing: A ends first) or B 4-6 s (nested: B ends first)."""
    before, before_rows = store.checksum(), rows(store)
    pristine = Path(shutil.copy(store.path, tmp_path / "pristine.db"))
    faults = Faults(backend(store=store), journal, seed=3)
    faults.inject(pair[0])
    faults.inject(pair[1])
    survivor = pair[1 - first_ends]
    faults.revert(pair[first_ends]["name"])
    assert store.checksum() == alone(pristine, tmp_path, survivor, seed=3, index=1 - first_ends)
    faults.revert(survivor["name"])
    assert store.checksum() == before
    assert rows(store) == before_rows
    assert list(tmp_path.glob("features.db.snapshot-*")) == []
    records = list(read_jsonl(journal.path))
    reverted = [(r["fault"], r["ok"]) for r in records if r["kind"] == "fault_reverted"]
    assert reverted == [(pair[first_ends]["name"], True), (survivor["name"], True)]
    restored = [r for r in records if r["kind"] == "store_restored"]
    assert len(restored) == 1 and restored[0]["ok"] and restored[0]["checksum"] == before


def test_three_data_faults_ending_in_every_order_restore_exactly(store, journal):
    before = store.checksum()
    for order in itertools.permutations([CORRUPT_A, CORRUPT_B, DROP]):
        faults = Faults(backend(store=store), journal, seed=11)
        for raw in (CORRUPT_A, DROP, CORRUPT_B):
            faults.inject(raw)
        for raw in order:
            faults.revert(raw["name"])
        assert store.checksum() == before, [r["name"] for r in order]


def test_a_failed_second_data_fault_leaves_the_first_in_place(store, journal):
    before = store.checksum()
    faults = Faults(backend(store=store), journal)
    faults.inject(CORRUPT_A)
    during = store.checksum()
    with pytest.raises(Exception, match="could not be injected"):
        faults.inject({"name": "bad", "schema_change": {"column": "no_such_column", "drop": True}})
    assert store.checksum() == during
    faults.revert("nan-a")
    assert store.checksum() == before


def test_two_downs_on_one_link_keep_it_down_until_the_second_ends(journal):
    with proxy_server() as url:
        driver = ToxiproxyDriver(url)
        driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
        faults = Faults(backend(proxies=driver), journal)
        faults.inject({"name": "down-1", "down": {"link": "features"}})
        faults.inject({"name": "slow", "latency": {"link": "features", "latency_ms": 100}})
        faults.inject({"name": "down-2", "down": {"link": "features"}})
        assert proxy_state(driver, "features") == (False, ["chaos-slow"])
        faults.revert("down-1")
        assert proxy_state(driver, "features") == (False, ["chaos-slow"])  # down-2 still holds it
        faults.revert("slow")
        assert proxy_state(driver, "features") == (False, [])
        faults.revert("down-2")
        assert proxy_state(driver, "features") == (True, [])
    kinds = [(r["kind"], r.get("fault")) for r in read_jsonl(journal.path) if r["kind"].startswith("fault_s")
             or r["kind"] == "fault_released"]
    assert kinds == [("fault_stacked", "down-2"), ("fault_released", "down-1")]


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _wait_for_state(pid: int, wanted, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not wanted(_state(pid)):
        assert time.monotonic() < deadline, f"process state stayed {_state(pid)!r}"
        time.sleep(0.01)


def test_two_pauses_of_one_service_resume_it_only_when_the_second_ends(journal):
    process = subprocess.Popen(["sleep", "60"])
    try:
        controls = backend(pause=lambda s: os.kill(process.pid, signal.SIGSTOP),
                           resume=lambda s: os.kill(process.pid, signal.SIGCONT))
        faults = Faults(controls, journal)
        faults.inject({"name": "freeze-1", "pause": {"service": "feature-server"}})
        faults.inject({"name": "freeze-2", "pause": {"service": "feature-server"}})
        _wait_for_state(process.pid, lambda state: state == "T")  # SIGSTOP lands when the kernel gets to it
        faults.revert("freeze-1")
        assert _state(process.pid) == "T"  # still stopped: freeze-2 holds it (SIGCONT would act at once)
        faults.revert("freeze-2")
        _wait_for_state(process.pid, lambda state: state != "T")  # running: R or S, whichever it is now
    finally:
        process.kill()
        process.wait()


def _specs(*faults: dict) -> list:
    from harness.model import FaultSpec

    return [FaultSpec.model_validate(f) for f in faults]


def _at(at: float, length: float | None, raw: dict) -> dict:
    return {**raw, "at": at, **({"for": length} if length is not None else {})}


PAUSE = {"name": "freeze", "pause": {"service": "feature-server"}}
KILL = {"name": "kill", "kill": {"service": "feature-server"}}
CORRUPT_RENAMED = {"name": "nan-v2", "corrupt_features": {"fraction": 0.5, "columns": ["avg_amount_v2"]}}


@pytest.mark.parametrize("faults, rejected", [
    ((_at(2, 4, {"name": "d1", "down": {"link": "features"}}), _at(4, 8, {"name": "d2", "down": {"link": "features"}})), False),
    ((_at(2, 4, CORRUPT_A), _at(4, 6, RENAME)), False),  # every column: re-applied as the table is then
    ((_at(2, 4, RENAME), _at(4, 6, CORRUPT_RENAMED)), True),  # names the renamed column
    ((_at(2, 4, RENAME), _at(6, 6, CORRUPT_RENAMED)), False),  # touches at 6 s: no overlap
    ((_at(2, None, RENAME), _at(30, 6, CORRUPT_RENAMED)), True),  # no `for`: until the load ends
    ((_at(2, 4, PAUSE), _at(4, None, KILL)), True),
    ((_at(2, 4, PAUSE), _at(6, None, KILL)), False),  # the pause ends at 6 s, before the kill
    ((_at(2, 4, PAUSE), _at(3, 1, {"name": "p2", "pause": {"service": "feature-server"}})), False),
    ((_at(2, 4, PAUSE), _at(3, None, {"name": "k", "kill": {"service": "model-server"}})), False),
    ((_at(2, 4, {"name": "cut", "partition": {"service": "feature-server"}}), _at(3, None, KILL)), False),
    ((_at(2, 4, {"name": "cut", "partition": {"service": "feature-server"}}), _at(3, 9, PAUSE)), True),
], ids=["two-downs", "corrupt-all+rename", "rename+corrupt-renamed", "touching", "rename-until-end",
        "kill-while-paused", "kill-after-pause", "two-pauses", "kill-other-service", "kill-while-partitioned",
        "pause-while-partitioned"])
def test_the_validator_rejects_exactly_the_overlaps_that_cannot_stack(faults, rejected):
    from harness.overlaps import overlap_problems

    problems = overlap_problems(_specs(*faults))
    assert bool(problems) is rejected, problems
    if rejected:
        assert problems[0][0] == ("faults", 1) and "overlaps" in problems[0][1]
