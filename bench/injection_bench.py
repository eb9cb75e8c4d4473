"""How late faults land: the injection lag of real runs, read from their journals.

    .venv/bin/python bench/injection_bench.py                       # 100 toxics, process backend
    .venv/bin/python bench/injection_bench.py --backend docker
    .venv/bin/python bench/injection_bench.py --kind pause --backend docker
    .venv/bin/python bench/injection_bench.py --users 1 --json lag.json
    .venv/bin/python bench/injection_bench.py --idle                # the call alone, no run

A whole run of the reference pipeline under load (``run_scenario``, nothing stubbed):
``--kind toxic`` plays 100 latency faults (the scenario maximum) alternating between the
``features`` and ``ingress`` links, each held 0.15 s, one every 0.3 s; ``pause`` and
``kill`` play fewer service faults (they take the service away for longer). Each
``fault_injected`` record carries ``lag_ms`` = effective − planned time; the bench
prints its p50 / p99 / max, split into the wake-up error (call started − planned) and
the call itself (effective − call started), and the same for the reverts.

``--idle`` times the driver's calls alone against an embedded proxy server with no
traffic (100 × look-up, add toxic, remove toxic, 0.1 s apart): the floor the machine
gives a call.

Target: p99 ≤ 5 ms for toxics on the process backend (issue 10).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.journal import read_records  # noqa: E402
from harness.loader import load_scenario  # noqa: E402
from harness.runner import run_scenario  # noqa: E402
from harness.timeline.records import FaultInjected, FaultReverted  # noqa: E402

KINDS = {  # kind: (faults, spacing s, held s, the fault's YAML body for fault i)
    "toxic": (100, 0.3, 0.15, lambda i: {"latency": {"link": ("features", "ingress")[i % 2], "latency_ms": 20}}),
    "pause": (20, 1.0, 0.3, lambda i: {"pause": {"service": "feature-server"}}),
    "kill": (5, 8.0, None, lambda i: {"kill": {"service": "model-server"}}),
}


def scenario_file(kind: str, backend: str, directory: Path, users: int = 10) -> Path:
    """A scenario of the reference pipeline playing ``kind`` faults (see the docstring)."""
    count, spacing, held, body = KINDS[kind]
    faults = []
    for i in range(count):
        fault = {"name": f"{kind}-{i:03d}", "at": f"{2 + i * spacing:.3f}s", **body(i)}
        if held is not None:
            fault["for"] = f"{held}s"
        faults.append(fault)
    scene = {"name": f"injection-bench-{kind}", "pipeline": str(ROOT / "fixtures" / "pipeline"), "seed": 1,
             "backend": backend, "load": {"users": users, "spawn_rate": users, "rate_per_user": 10,
                                          "duration": f"{4 + count * spacing:.0f}s"},
             "faults": faults}
    path = directory / f"injection-bench-{kind}.yaml"
    path.write_text(yaml.safe_dump(scene, sort_keys=False))
    return path


def _stats(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50": None, "p99": None, "max": None}
    array = np.array(values)
    return {"n": len(values), "p50": round(float(np.percentile(array, 50)), 3),
            "p99": round(float(np.percentile(array, 99)), 3), "max": round(float(array.max()), 3)}


def measure(run_dir: Path) -> dict[str, dict]:
    """Lag figures (ms) of a finished run's injections and planned reverts."""
    out = {}
    for name, cls in (("inject", FaultInjected), ("revert", FaultReverted)):
        timed = [r for r in read_records(run_dir) if isinstance(r, cls) and r.planned_ts is not None]
        out[name] = {"lag_ms": _stats([r.lag_ms for r in timed]),
                     "wake_ms": _stats([(r.call_ts - r.planned_ts) * 1000 for r in timed]),
                     "call_ms": _stats([(r.effective_ts - r.call_ts) * 1000 for r in timed])}
    return out


def idle_calls(count: int = 100) -> dict[str, dict]:
    """Milliseconds of each driver call against an idle embedded proxy server."""
    import subprocess
    import time

    from harness.drivers.toxiproxy import ToxiproxyDriver
    from harness.probes import HttpProbe, free_port
    from harness.procgroup import stop_group

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    timed: dict[str, list[float]] = {"resolve": [], "add_toxic": [], "remove_toxic": []}
    try:
        url = f"http://127.0.0.1:{port}"
        HttpProbe(f"{url}/version").with_timeout(20).wait()
        driver = ToxiproxyDriver(url)
        driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9")
        calls = {"resolve": lambda: driver.resolve("features"),
                 "add_toxic": lambda: driver.add_toxic("features", name="x", type="latency",
                                                       attributes={"latency": 20}),
                 "remove_toxic": lambda: driver.remove_toxic("features", "x")}
        for _ in range(count):
            for name, call in calls.items():
                started = time.perf_counter()
                call()
                timed[name].append((time.perf_counter() - started) * 1000)
            time.sleep(0.1)
        driver.close()
    finally:
        stop_group(server, 5)
    return {name: _stats(values) for name, values in timed.items()}


def main() -> int:
    """Run the scenario, print the figures; exit 1 if the run did not complete."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["process", "docker"], default="process")
    parser.add_argument("--kind", choices=list(KINDS), default="toxic")
    parser.add_argument("--users", type=int, default=10, help="Locust users, 10 requests/s each (default 10)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--keep", action="store_true", help="keep the run directory (printed)")
    parser.add_argument("--idle", action="store_true", help="time the calls alone on an idle proxy server")
    args = parser.parse_args()
    if args.idle:
        for name, s in idle_calls().items():
            print(f"idle proxy {name:12} n={s['n']:3}  p50 {s['p50']}  p99 {s['p99']}  max {s['max']}")
        return 0
    with tempfile.TemporaryDirectory(prefix="injection-bench-") as tmp:
        path = scenario_file(args.kind, args.backend, Path(tmp), args.users)
        reports = Path(tempfile.mkdtemp(prefix="injection-bench-runs-")) if args.keep else Path(tmp) / "reports"
        result = run_scenario(load_scenario(path, backend=args.backend), scenario_file=path,
                              reports_dir=reports, backend=args.backend, log=None)
        figures = {"backend": args.backend, "kind": args.kind, "users": args.users, "status": result.status,
                   "load_average": os.getloadavg(), **measure(result.run_dir)}
    for name in ("inject", "revert"):
        for part in ("lag_ms", "wake_ms", "call_ms"):
            s = figures[name][part]
            print(f"{args.backend:8} {args.kind:6} {name:6} {part:8} n={s['n']:3}  p50 {s['p50']}  "
                  f"p99 {s['p99']}  max {s['max']}")
    print(f"load average after the run (1, 5, 15 min): {' '.join(f'{x:.2f}' for x in figures['load_average'])}")
    if args.keep:
        print(f"run directory: {result.run_dir}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0 if result.status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
