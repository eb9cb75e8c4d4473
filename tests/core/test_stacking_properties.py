"""Property: any schedule of overlapping data and network faults on one target that the
validator accepts, injected and reverted in any order through the runner's own path
(``FaultActivation`` over one ``TargetLedger``), leaves the real stores (SQLite, and
PostgreSQL where it runs) and the real proxy server (``python -m harness.proxy`` in a
subprocess) exactly as they started; and at every step the link is down iff a ``down``
is active, its toxics are those of the active toxic faults, and the table is the
starting one with only the active data faults applied.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.journal import Journal
from harness.model import FaultSpec
from harness.overlaps import overlap_problems
from harness.stores.postgres import PostgresFeatureStore
from harness.stores.sqlite import SqliteFeatureStore
from stack_support import COLUMNS, Faults, backend, make_pg_table, make_sqlite_table, proxy_server, proxy_state

LINK = "features"
TOXIC_KINDS = ("latency", "timeout", "bandwidth")
DATA_KINDS = ("corrupt_features", "schema_change")


@st.composite
def data_fault(draw, name: str) -> dict:
    if draw(st.booleans()):
        columns = draw(st.one_of(st.just([]), st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=2, unique=True)))
        return {"name": name, "corrupt_features": {
            "fraction": draw(st.sampled_from([0.1, 0.5, 1.0])),
            "mode": draw(st.sampled_from(["nan", "out_of_range", "wrong_type"])), "columns": columns}}
    change = {"drop": True} if draw(st.booleans()) else {"rename_to": f"{name.replace('-', '_')}_col"}
    return {"name": name, "schema_change": {"column": draw(st.sampled_from(COLUMNS)), **change}}


@st.composite
def link_fault(draw, name: str) -> dict:
    kind = draw(st.sampled_from(["latency", "timeout", "bandwidth", "down", "down"]))
    params = {"latency": {"latency_ms": 100}, "timeout": {"timeout_ms": 0},
              "bandwidth": {"rate_kbps": 10}, "down": {}}[kind]
    return {"name": name, kind: {"link": LINK, **params}}


@st.composite
def schedules(draw) -> tuple[list[dict], list[tuple[str, str]]]:
    """Faults on one store and one link, and an order of their injects and reverts."""
    count = draw(st.integers(2, 5))
    faults = [draw(st.one_of(data_fault(f"f{i}"), link_fault(f"f{i}"))) for i in range(count)]
    events = draw(st.permutations([(verb, f["name"]) for f in faults for verb in ("inject", "revert")]))
    order: list[tuple[str, str]] = []
    for verb, name in events:  # an inject always comes before its revert
        order.append(("revert" if ("inject", name) in order else "inject", name))
    specs = []
    for fault in faults:
        at = order.index(("inject", fault["name"]))
        specs.append(FaultSpec.model_validate({**fault, "at": at, "for": order.index(("revert", fault["name"])) - at}))
    assume(not overlap_problems(specs))  # only what the validator lets through
    return faults, order


def checksum_with(pristine: Path, scratch: Path, journal: Journal, applied: list[tuple[dict, float]]) -> str:
    """The starting table with only ``applied`` data faults applied, in that order."""
    shutil.copy(pristine, scratch)
    store = SqliteFeatureStore(scratch)
    faults = Faults(backend(store=store), journal)
    for raw, seed in applied:
        faults.inject(raw, seed)
    return store.checksum()


class World:
    """The real store and proxy the schedules run against, and their starting state."""

    def __init__(self, store, driver: ToxiproxyDriver, tmp: Path, pristine: Path | None):
        self.store, self.driver, self.tmp, self.pristine = store, driver, tmp, pristine
        self.start = store.checksum()

    def play(self, faults: list[dict], order: list[tuple[str, str]]) -> None:
        by_name = {f["name"]: f for f in faults}
        with Journal(self.tmp / "journal.jsonl") as journal:
            run = Faults(backend(store=self.store, proxies=self.driver), journal)
            seeds: dict[str, float] = {}
            try:
                for verb, name in order:
                    if verb == "inject":
                        seeds[name] = run.rng.random()
                        run.inject(by_name[name], seeds[name])
                    else:
                        run.revert(name)
                    self.check(journal, [by_name[n] for n in run.active], seeds)
            finally:
                for name in reversed(list(run.active)):  # a failed check must not poison the next example
                    run.revert(name)
        assert self.store.checksum() == self.start
        assert proxy_state(self.driver, LINK) == (True, [])

    def check(self, journal: Journal, active: list[dict], seeds: dict[str, float]) -> None:
        downs = [f for f in active if "down" in f]
        toxics = sorted(f"chaos-{f['name']}" for f in active if any(k in f for k in TOXIC_KINDS))
        assert proxy_state(self.driver, LINK) == (not downs, toxics)
        data = [(f, seeds[f["name"]]) for f in active if any(k in f for k in DATA_KINDS)]
        if not data:
            assert self.store.checksum() == self.start
        elif self.pristine is not None:
            assert self.store.checksum() == checksum_with(self.pristine, self.tmp / "expected.db", journal, data)


@pytest.fixture(scope="module")
def proxy_driver():
    with proxy_server() as url:
        driver = ToxiproxyDriver(url)
        driver.create(LINK, listen="127.0.0.1:0", upstream="127.0.0.1:9")
        yield driver


@pytest.fixture(scope="module")
def sqlite_world(tmp_path_factory, proxy_driver) -> World:
    tmp = tmp_path_factory.mktemp("sqlite-world")
    db = make_sqlite_table(tmp / "features.db")
    pristine = Path(shutil.copy(db, tmp / "pristine.db"))
    return World(SqliteFeatureStore(db), proxy_driver, tmp, pristine)


@pytest.fixture(scope="module")
def postgres_world(tmp_path_factory, proxy_driver, pg_dsn) -> World:
    make_pg_table(pg_dsn, "features_prop")
    return World(PostgresFeatureStore(pg_dsn, table="features_prop"), proxy_driver,
                 tmp_path_factory.mktemp("postgres-world"), None)


_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                                       HealthCheck.filter_too_much])


@settings(max_examples=30, **_SETTINGS)
@given(schedule=schedules())
def test_any_accepted_schedule_on_sqlite_and_the_proxy_ends_where_it_started(sqlite_world, schedule):
    sqlite_world.play(*schedule)


@settings(max_examples=12, **_SETTINGS)
@given(schedule=schedules())
def test_any_accepted_schedule_on_postgres_and_the_proxy_ends_where_it_started(postgres_world, schedule):
    postgres_world.play(*schedule)


def test_the_schedules_do_overlap_data_faults_in_crossing_order():
    """The strategy reaches the hard case: A injected, B injected, A reverted first."""
    from hypothesis import find

    def crossing(schedule) -> bool:
        faults, order = schedule
        data = {f["name"] for f in faults if any(k in f for k in DATA_KINDS)}
        names = [n for _, n in order if n in data]
        return len(data) >= 2 and names[:3] == [names[0], names[1], names[0]] and names[0] != names[1]

    faults, _ = find(schedules(), crossing, settings=settings(database=None, max_examples=2000))
    assert sum(any(k in f for k in DATA_KINDS) for f in faults) >= 2

