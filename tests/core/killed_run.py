"""A run cut short: owns a run directory, injects faults as the runner does, then waits
to be SIGKILLed (tests/core/test_cleanup.py). Not a test module.

    python tests/core/killed_run.py RUN_DIR [--sqlite DB] [--postgres DSN] [--proxy] [--child] [--artifact FILE]

``--proxy`` uses the Toxiproxy at ``TOXIPROXY_URL`` (as a run does), creates the link
``features`` there and adds a latency toxic and a ``down``; ``--sqlite``/``--postgres``
corrupt rows and rename a column of the ``features`` table there; ``--artifact`` swaps
FILE for corrupt bytes (``model_swap``, its older versions in ``versions/`` beside it);
``--child`` starts a process group of its own, journaled like a service. Prints ``ready`` when all is applied.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from harness.activation import FaultActivation
from harness.backends._proxy import FaultProxy
from harness.faults.base import FaultContext
from harness.files import Artifact, LocalFiles
from harness.journal import JOURNAL_FILE, Journal
from harness.ledger import TargetLedger
from harness.model import FaultSpec
from harness.procgroup import cmdline_of
from harness.runlock import RunLock
from harness.timeline.records import RunStarted, ServiceStarted

FAULTS = [{"name": "nan-rows", "corrupt_features": {"fraction": 0.5, "mode": "wrong_type"}},
          {"name": "rename", "schema_change": {"column": "avg_amount_30d", "rename_to": "avg_amount_v2"}}]
LINK_FAULTS = [{"name": "slow", "latency": {"link": "features", "latency_ms": 300}},
               {"name": "cut", "down": {"link": "features"}}]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--sqlite")
    parser.add_argument("--postgres")
    parser.add_argument("--proxy", action="store_true")
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--artifact")
    args = parser.parse_args()
    (args.run_dir / "logs").mkdir(parents=True, exist_ok=True)
    RunLock.acquire(args.run_dir)  # held until the kernel drops it at our death
    journal = Journal(args.run_dir / JOURNAL_FILE)
    journal.emit(RunStarted(run_id=args.run_dir.name, scenario={}, pid=os.getpid(),
                            cmdline=cmdline_of(os.getpid())))
    if args.child:
        command = ["sleep", "300"]
        child = subprocess.Popen(command, start_new_session=True)
        journal.emit(ServiceStarted(service="sleeper", pid=child.pid, command=command))
    backend = SimpleNamespace(proxies=None, store=lambda name=None: _store(args),
                              artifact=lambda name: Artifact(name=name, service="model-server", files=LocalFiles(),
                                                             pattern=args.artifact, older="versions/*"))
    faults = []
    if args.proxy:
        proxy = FaultProxy(run_id=args.run_dir.name, run_dir=args.run_dir, journal=journal, seed=0)
        backend.proxies = proxy.start()
        proxy.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
        faults += LINK_FAULTS
    if args.sqlite or args.postgres:
        faults += FAULTS
    if args.artifact:
        faults.append({"name": "corrupt-model", "model_swap": {"artifact": "model", "replace_with": "corrupt"}})
    ledger = TargetLedger()
    for raw in faults:
        spec = FaultSpec.model_validate(raw)
        ctx = FaultContext(backend=backend, journal=journal, rng=random.Random(7), fault_name=spec.name, ledger=ledger)
        FaultActivation(spec, ctx).__enter__()
    print("ready", flush=True)
    time.sleep(300)


def _store(args: argparse.Namespace):
    if args.sqlite:
        from harness.stores.sqlite import SqliteFeatureStore

        return SqliteFeatureStore(args.sqlite)
    from harness.stores.postgres import PostgresFeatureStore

    return PostgresFeatureStore(args.postgres)


if __name__ == "__main__":
    sys.exit(main())
