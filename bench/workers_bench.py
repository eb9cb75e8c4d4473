"""Recorded request rate with Locust workers: 1, 2 and 4 workers (and one process, no
workers) against the reference pipeline and against a trivial endpoint, in one run.

    .venv/bin/python bench/workers_bench.py                      # 10 s per run, 40 users
    .venv/bin/python bench/workers_bench.py --duration 5 --users 20 --json out.json

Every cell is a whole ``chaos-harness run`` on the process backend with no fault
(``python -m harness run``, nothing stubbed): ``--users`` users each asking for
``--rate`` requests/s (far more than either target can answer, so the load is bounded by
Locust and the target, not by the schedule). The figure is the **recorded request rate**:
sent lines of the merged ``requests.jsonl`` started in the steady part of the load
(from ``WARMUP_S`` after load start to its planned end) per second of it, with the run's
error rate and p50 service time, and whether its record was complete (Locust's totals
over all workers = the lines).

Targets: ``reference`` is ``fixtures/pipeline`` (model server -> proxy -> feature
server, all through the fault proxy); ``trivial`` is ``tests/pipelines/tiny`` (one
stdlib HTTP server answering a constant JSON, behind the fault proxy). Locust, its
workers, the proxy and the services all share this machine's cores: on a 2-core
machine more workers mostly compete with the target for CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {"reference": ROOT / "fixtures" / "pipeline", "trivial": ROOT / "tests" / "pipelines" / "tiny"}
WORKERS = (0, 1, 2, 4)
WARMUP_S = 1.0
"""Left out at the start: users spawning, workers receiving their users."""


def recorded_rate(run_dir: Path, duration: float) -> float:
    """Sent requests started in [load start + WARMUP_S, load start + duration), per second."""
    zero = next(json.loads(line)["load_ts"] for line in (run_dir / "journal.jsonl").open()
                if '"load_started"' in line)
    sent = 0
    with open(run_dir / "requests.jsonl", "rb") as log:
        for line in log:
            request = json.loads(line)
            if request.get("sent", True) and zero + WARMUP_S <= request["ts"] < zero + duration:
                sent += 1
    return sent / (duration - WARMUP_S)


def run_cell(target: str, workers: int, args: argparse.Namespace, tmp: Path) -> dict:
    """One run; its recorded rate and the figures beside it."""
    scenario = {"name": f"workers-{target}-{workers}", "pipeline": str(TARGETS[target]), "seed": 1,
                "load": {"users": args.users, "spawn_rate": args.users, "duration": f"{args.duration}s",
                         "rate_per_user": args.rate, "workers": workers},
                "steady_state": {"window": "1s", "slo": {"error_rate": "< 100%"}}}
    path = tmp / f"{scenario['name']}.yaml"
    path.write_text(yaml.safe_dump(scenario))
    reports = tmp / "reports"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "harness", "run", str(path), "--reports-dir", str(reports)],
                          capture_output=True, text=True, cwd=ROOT, timeout=args.duration + 240)
    run_dir = (reports / "latest").resolve()
    report = json.loads((run_dir / "report.json").read_text())
    totals = report["requests"]
    return {"target": target, "workers": workers, "exit": done.returncode,
            "recorded_rps": recorded_rate(run_dir, args.duration), "sent": totals["sent"],
            "error_rate": totals["error_rate"], "service_p50_ms": totals["service_p50_ms"],
            "complete": report["integrity"] == [], "wall_s": round(time.monotonic() - started, 1),
            "run_id": report["run_id"]}


def table(cells: list[dict]) -> str:
    """The README table: one row per worker count, the targets side by side."""
    out = ["| Locust | reference: recorded req/s | reference: errors | trivial: recorded req/s | trivial: errors |",
           "| --- | ---: | ---: | ---: | ---: |"]
    for workers in WORKERS:
        row = {c["target"]: c for c in cells if c["workers"] == workers}
        if not row:
            continue
        label = "1 process (no workers)" if workers == 0 else f"master + {workers} worker{'s' * (workers > 1)}"
        parts = []
        for target in TARGETS:
            c = row.get(target)
            parts += ([f"{c['recorded_rps']:.0f}" + ("" if c["complete"] else " (incomplete)"),
                       f"{(c['error_rate'] or 0) * 100:.1f}%"] if c else ["", ""])
        out.append(f"| {label} | " + " | ".join(parts) + " |")
    return "\n".join(out)


def main() -> None:
    """Run every cell, print the table, optionally write the cells as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per run")
    parser.add_argument("--users", type=int, default=40)
    parser.add_argument("--rate", type=float, default=100.0, help="requests/s each user aims for")
    parser.add_argument("--workers", type=int, nargs="*", default=list(WORKERS))
    parser.add_argument("--json", default=None, help="write the cells here")
    args = parser.parse_args()
    cells = []
    with tempfile.TemporaryDirectory(prefix="workers-bench-") as tmp:
        for workers in args.workers:
            for target in TARGETS:
                cell = run_cell(target, workers, args, Path(tmp))
                print(json.dumps(cell), flush=True)
                cells.append(cell)
    print(f"\n{args.users} users x {args.rate:g} req/s offered, {args.duration} s per run, "
          f"{os.cpu_count()} cores\n")
    print(table(cells))
    if args.json:
        Path(args.json).write_text(json.dumps({"args": vars(args), "cells": cells}, indent=2) + "\n")


if __name__ == "__main__":
    main()
