"""Analysis at scale: ``chaos-harness report`` on a synthetic run of 1,000,000 requests.

    .venv/bin/python bench/analysis_bench.py [--requests 1000000] [--repeat 3]
    .venv/bin/python bench/analysis_bench.py --legacy --python /work/main/.venv/bin/python \\
        --cwd /work/main        # the same run in the version-1 line format, judged by main

Makes a run directory (journal, ``requests.jsonl``, ``load-events.jsonl``) of 100 paced
users at 10 requests/s each for as long as it takes to reach ``--requests`` lines, with
four faults whose effects are written into the log: 300 ms of feature latency with
fallbacks (100-160 s), a kill (300 s, 2.4 s of errors), the ingress refused (500-505 s)
and a 4 s freeze (700-704 s, where every user blocks on one request and omits its
other slots). Then it times ``python -m harness report RUN_DIR`` (the judgement at the
scenario's 100 ms resolution and all three report files) in a fresh process, ``--repeat``
times, and prints the wall time and the peak RSS of each (``wait4``'s ``ru_maxrss``).
Target (issue 10): <= 3 s and <= 500 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import orjson

T0 = 1_700_000_000.0
USERS, RATE = 100, 10.0
FAULTS = [  # name, kind, at, for (None: instant), YAML params
    ("slow-features", "latency", 100.0, 60.0, {"link": "features", "latency_ms": 300}),
    ("kill-model", "kill", 300.0, None, {"service": "model-server"}),
    ("refused", "down", 500.0, 5.0, {"link": "ingress"}),
    ("frozen", "pause", 700.0, 4.0, {"service": "model-server"}),
]


def requests(count: int, seed: int = 1) -> dict[str, np.ndarray]:
    """The columns of ``count`` due requests (see the module docstring), by due time."""
    rng = np.random.default_rng(seed)
    slot = np.arange(count)
    user, k = slot % USERS, slot // USERS
    due = user / (USERS * RATE) + k / RATE
    service = rng.lognormal(np.log(12.0), 0.3, count)
    ok = np.ones(count, bool)
    fallback = (due >= 100) & (due < 160)
    service[fallback] += 300.0
    broken = ((due >= 300) & (due < 302.4)) | ((due >= 500) & (due < 505))
    ok[broken], service[broken] = False, 1.0
    sent_at, sent = due.copy(), np.ones(count, bool)
    frozen = (due >= 700) & (due < 704)
    first = frozen & ~np.roll(frozen, USERS)  # each user's first slot in the freeze
    service[first] = (704.005 - due[first]) * 1000.0
    omitted = frozen & ~first
    sent[omitted], sent_at[omitted], service[omitted] = False, 704.005, 0.0
    return {"due": due, "sent_at": sent_at, "service": service, "ok": ok, "sent": sent,
            "fallback": fallback, "user": user}


def write_requests(path: Path, columns: dict[str, np.ndarray], *, legacy: bool) -> int:
    """Write the request log (version 2, or version 1 with ``legacy``); lines written."""
    lines = 0
    with open(path, "wb") as out:
        for due, at, service, ok, sent, fallback, user in zip(*(columns[k].tolist() for k in (
                "due", "sent_at", "service", "ok", "sent", "fallback", "user"))):
            if legacy:
                if not sent:
                    continue
                line = {"ts": T0 + at, "latency_ms": round(service, 3), "name": "/predict",
                        "ok": ok, "status": 200 if ok else 503,
                        "error": None if ok else "HTTP 503", "fallback": fallback}
            else:
                line = {"intended_ts": T0 + due, "ts": T0 + at, "service_ms": round(service, 3),
                        "name": "/predict", "ok": ok, "status": 200 if ok else 503, "user": user}
                if not ok:
                    line["error"] = "HTTP 503"
                if fallback:
                    line["flags"] = ["fallback"]
                if not sent:
                    line["sent"] = False
            out.write(orjson.dumps(line) + b"\n")
            lines += 1
    return lines


def write_run(run_dir: Path, count: int, *, legacy: bool) -> None:
    """The whole synthetic run directory."""
    columns = requests(count)
    duration = float(columns["due"].max()) + 0.1
    lines = write_requests(run_dir / "requests.jsonl", columns, legacy=legacy)
    sent = int(columns["sent"].sum()) if not legacy else lines
    scenario = {
        "name": "analysis-bench", "seed": 1, "backend": "process",
        "load": {"users": USERS, "duration": f"{duration:g}s", "rate_per_user": RATE},
        "steady_state": {"window": "5s", "slo": {"error_rate": "< 1%", "p99_ms": "< 250"}},
        "faults": [{"name": n, "at": f"{at:g}s", **({"for": f"{span:g}s"} if span else {}),
                    kind: params} for n, kind, at, span, params in FAULTS],
        "expect": {"overall": {"error_rate": "< 5%"}, "recovery_time": "< 10s",
                   "during": {"slow-features": {"fallback_rate": "> 50%"}}},
    }
    journal = [_rec(-2, "run_started", run_id=run_dir.name, scenario=scenario, seed=1,
                    backend="process"),
               _rec(-1, "load_launched", pid=1, command=["locust"]),
               _rec(0, "load_started", load_ts=T0, users=USERS, duration_s=duration)]
    for name, kind, at, span, _ in FAULTS:
        target = {"fault": name, "fault_kind": kind}
        journal += [_rec(at - 0.005, "fault_injecting", **target, planned_ts=T0 + at),
                    _rec(at + 0.003, "fault_injected", **target, instant=span is None,
                         planned_ts=T0 + at, effective_ts=T0 + at + 0.002, lag_ms=2.0),
                    _rec(at + (span or 0) + 0.004, "fault_reverted", **target, ok=True)]
    journal += [_rec(duration, "load_stopped", returncode=0),
                _rec(duration + 1, "run_finished", status="completed")]
    (run_dir / "journal.jsonl").write_text("".join(json.dumps(r) + "\n" for r in journal))
    (run_dir / "load-events.jsonl").write_text(json.dumps(
        {"event": "totals", "ts": T0 + duration, "requests": sent, "failures": 0,
         "sent": sent, "omitted": lines - sent, "log_errors": 0}) + "\n")


def _rec(t: float, kind: str, **fields) -> dict:
    return {"ts": T0 + t, "t": t + 10, "kind": kind, "phase": "inject", **fields}


def measure(run_dir: Path, python: str, cwd: str) -> tuple[float, float, int]:
    """Wall seconds, peak RSS (MB) and exit code of one ``report`` in a fresh process."""
    started = time.perf_counter()
    process = subprocess.Popen([python, "-m", "harness", "report", str(run_dir)], cwd=cwd,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, usage.ru_maxrss / 1024, process.returncode


def main() -> None:
    """Make the run, time ``report`` on it, print one line per repeat and a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--legacy", action="store_true",
                        help="write version-1 request lines (what main before issue 10 reads)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--cwd", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--keep", type=Path, help="make the run here and keep it")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        run_dir = args.keep or Path(temp) / "analysis-bench"
        run_dir.mkdir(parents=True, exist_ok=True)
        write_run(run_dir, args.requests, legacy=args.legacy)
        size = (run_dir / "requests.jsonl").stat().st_size / 1e6
        print(f"{args.requests:,} due requests, requests.jsonl {size:.0f} MB"
              f"{' (version 1)' if args.legacy else ''}; report with {args.python}")
        samples = []
        for _ in range(args.repeat):
            seconds, rss, code = measure(run_dir, args.python, args.cwd)
            samples.append((seconds, rss))
            print(f"  {seconds:6.2f} s  {rss:7.0f} MB RSS  exit {code}")
        seconds = [s for s, _ in samples]
        print(f"best {min(seconds):.2f} s, median {statistics.median(seconds):.2f} s, "
              f"peak RSS {max(r for _, r in samples):.0f} MB")


if __name__ == "__main__":
    main()
