"""Real parts for the stacking and cleanup tests: the proxy server in a subprocess, a
throwaway PostgreSQL cluster, feature tables, and fault contexts sharing one ledger.

Every address is loopback; every wait is bounded.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Iterator

from harness.activation import FaultActivation
from harness.drivers.toxiproxy import ToxiproxyDriver
from harness.faults.base import FaultContext
from harness.ledger import TargetLedger
from harness.model import FaultSpec
from harness.probes import HttpProbe, free_port
from harness.procgroup import stop_group

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ("txn_count_24h", "avg_amount_30d", "account_age_days")
ROWS = 300


@contextlib.contextmanager
def proxy_server() -> Iterator[str]:
    """``python -m harness.proxy`` on a free loopback port; yields its URL."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                               cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        HttpProbe(f"{url}/version").with_timeout(20).wait()
        yield url
    finally:
        stop_group(process, 5)


def proxy_state(driver: ToxiproxyDriver, name: str) -> tuple[bool, list[str]]:
    """What the server says of proxy ``name``: (enabled, sorted toxic names)."""
    proxy = driver.proxies()[name]
    return proxy["enabled"], sorted(t["name"] for t in proxy["toxics"])


def make_sqlite_table(path: Path) -> Path:
    """A SQLite feature table of ROWS rows, keyed by ``entity_id``."""
    with contextlib.closing(sqlite3.connect(path)) as db, db:
        db.execute(f"CREATE TABLE features (entity_id INTEGER PRIMARY KEY, {', '.join(c + ' REAL' for c in COLUMNS)}, "
                   "updated_at TEXT)")
        db.executemany(f"INSERT INTO features VALUES (?, {', '.join('?' for _ in COLUMNS)}, ?)",
                       [(i, i % 7, 10.0 + i, i * 0.5, "2026-01-01") for i in range(ROWS)])
    return path


def make_pg_table(dsn: str, table: str) -> None:
    """The same table in PostgreSQL (replaced if it exists)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as db:
        db.execute(f'DROP TABLE IF EXISTS "{table}"')
        db.execute(f'CREATE TABLE "{table}" (entity_id BIGINT PRIMARY KEY, '
                   f"{', '.join(c + ' DOUBLE PRECISION' for c in COLUMNS)}, updated_at TEXT)")
        with db.cursor() as cur:
            cur.executemany(f'INSERT INTO "{table}" VALUES (%s, %s, %s, %s, %s)',
                            [(i, i % 7, 10.0 + i, i * 0.5, "2026-01-01") for i in range(ROWS)])


def _pg_binaries() -> tuple[str, str] | None:
    found = [shutil.which("initdb"), shutil.which("pg_ctl")]
    if not all(found):
        found = [next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{n}"))), None) for n in ("initdb", "pg_ctl")]
    return (found[0], found[1]) if all(found) else None


def _as_postgres() -> list[str] | None:
    """The prefix that runs a command as the postgres user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None
    runuser = shutil.which("runuser")
    return [runuser, "-u", "postgres", "--"] if runuser else None


@contextlib.contextmanager
def postgres_cluster() -> Iterator[str | None]:
    """A throwaway PostgreSQL cluster on loopback; yields its DSN, or None if it cannot run here."""
    binaries, prefix = _pg_binaries(), _as_postgres()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        binaries = None
    if binaries is None or prefix is None:
        yield None
        return
    initdb, pg_ctl = binaries
    root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))  # not under pytest's root-only tmp dir
    if prefix:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()
    run = lambda *cmd: subprocess.run([*prefix, *cmd], check=True, capture_output=True, timeout=60)  # noqa: E731
    try:
        run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
        run(pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-t", "30", "start", "-o",
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off")
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


class Faults:
    """Fault activations over one backend and one ledger, driven as the runner drives them."""

    def __init__(self, backend: Any, journal: Any, seed: int = 0):
        self.backend, self.journal = backend, journal
        self.ledger = TargetLedger()
        self.rng = random.Random(seed)
        self.active: dict[str, FaultActivation] = {}

    def inject(self, raw: dict, seed: float | None = None) -> FaultActivation:
        """Inject the fault ``raw`` (YAML shape), its rng seeded ``seed`` (default: the
        next draw of the run's rng, as the runner does), and keep its activation."""
        spec = FaultSpec.model_validate(raw)
        seed = self.rng.random() if seed is None else seed
        ctx = FaultContext(backend=self.backend, journal=self.journal, rng=random.Random(seed),
                           fault_name=spec.name, ledger=self.ledger)
        activation = FaultActivation(spec, ctx).__enter__()
        self.active[spec.name] = activation
        return activation

    def revert(self, name: str) -> None:
        """End fault ``name`` (as the end of its ``for``)."""
        self.active.pop(name).revert()


def backend(*, store: Any = None, proxies: ToxiproxyDriver | None = None, **extra: Any) -> SimpleNamespace:
    """The backend surface faults use: ``store()``, ``proxies`` and service controls."""
    return SimpleNamespace(store=lambda name=None: store, proxies=proxies, resolve=lambda service: None, **extra)
