"""A labelled corpus of real runs whose true outcome is known: how often is the report right?

    .venv/bin/python bench/truth_corpus.py -n 20                     # both backends, the two-fault run
    .venv/bin/python bench/truth_corpus.py -n 5 --backend process --case refused

Each run is a real ``chaos-harness run`` of one of the truth scenarios in
``tests/scenarios/e2e/`` (the reference pipeline, real Locust, nothing stubbed) and is
held to the truth read from its own ``journal.jsonl`` and ``requests.jsonl`` by the
checks of ``tests/e2e/truth.py`` (the ones the suite runs once per backend):

* ``two-faults`` (default): feature latency 3–6 s, then a kill at 11 s; right when the
  first fault recovers at once, both recoveries are within 100 ms of the moment
  requests succeed again, and every SLO passes (issue 10: 20 of 20 on each backend);
* ``refused``: ingress refused for 5 s; right when every error lies inside the window
  and recovery is within 100 ms of the truth;
* ``kill``: the model server killed; right when recovery is within 100 ms of the truth.

Prints one line per run and the tally per backend; writes everything as JSON to
``bench/results/truth_corpus-DATE-CASE.json`` (or ``--json``). Run directories are
removed unless ``--keep``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e import truth  # noqa: E402

CASES = {  # case: (scenario file, check, {fault: the fault after it, or None})
    "two-faults": ("truth-two-faults.yaml", truth.check_two_faults,
                   {"slow-features": "kill-model", "kill-model": None}),
    "refused": ("truth-refused.yaml", truth.check_refused, {"refused-ingress": None}),
    "kill": ("truth-kill.yaml", truth.check_kill, {"kill-model": None}),
}


def one_run(case: str, backend: str, reports: Path) -> dict:
    """Run the case once on ``backend``; its verdict against the truth and its figures."""
    scenario, check, faults = CASES[case]
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "harness", "run", str(ROOT / "tests" / "scenarios" / "e2e" / scenario),
                             "--backend", backend, "--reports-dir", str(reports)],
                            capture_output=True, text=True, timeout=600, cwd=ROOT)
    out = {"backend": backend, "case": case, "exit_code": result.returncode,
           "wall_s": round(time.monotonic() - started, 1)}
    run_dir = (reports / "latest").resolve()
    report_path = run_dir / "report.json"
    if not report_path.exists():
        return {**out, "right": False, "why": "no report.json: " + result.stderr[-500:]}
    report = json.loads(report_path.read_text())
    out["run_id"] = report["run_id"]
    out["faults"] = {}
    for name, after in faults.items():
        fault = truth.report_fault(report, name)
        until = truth.injection(run_dir, after).called if after else float("inf")
        true = truth.truth_recovery_s(run_dir, name, until)
        measured = fault["recovery_time_s"]
        out["faults"][name] = {
            "lag_ms": fault["lag_ms"], "recovery_time_s": measured, "truth_s": true,
            "error_ms": None if measured is None or true is None else round((measured - true) * 1000, 1)}
    try:
        check(run_dir, report)
        out.update(right=True, why="")
    except AssertionError as exc:
        where = traceback.extract_tb(exc.__traceback__)[-1]
        out.update(right=False, why=f"{where.name}: {where.line} {exc}"[:500])
    return out


def tally(runs: list[dict]) -> dict:
    """Right/total per backend, and the worst recovery error of each fault."""
    out = {}
    for backend in sorted({r["backend"] for r in runs}):
        mine = [r for r in runs if r["backend"] == backend]
        worst = {}
        for r in mine:
            for name, f in r.get("faults", {}).items():
                if f["error_ms"] is not None:
                    worst[name] = max(worst.get(name, 0.0), abs(f["error_ms"]))
        out[backend] = {"right": sum(r["right"] for r in mine), "runs": len(mine),
                        "worst_recovery_error_ms": worst}
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the corpus; exit 1 if any run was judged wrong."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="runs per backend (default 20)")
    parser.add_argument("--backend", choices=["process", "docker", "both"], default="both")
    parser.add_argument("--case", choices=list(CASES), default="two-faults")
    parser.add_argument("--json", type=Path, help="where to write the figures")
    parser.add_argument("--keep", action="store_true", help="keep the run directories (printed)")
    args = parser.parse_args(argv)
    backends = ["process", "docker"] if args.backend == "both" else [args.backend]
    today = datetime.date.today().isoformat()
    path = args.json or ROOT / "bench" / "results" / f"truth_corpus-{today}-{args.case}.json"
    runs: list[dict] = []
    for backend in backends:
        for i in range(args.n):
            reports = Path(tempfile.mkdtemp(prefix="truth-corpus-"))
            try:
                run = one_run(args.case, backend, reports)
            finally:
                if args.keep:
                    print(f"  kept {reports}")
                else:
                    shutil.rmtree(reports, ignore_errors=True)
            runs.append(run)
            errors = " ".join(f"{k}={f['recovery_time_s']}s(truth {f['truth_s'] and round(f['truth_s'], 3)}, "
                              f"err {f['error_ms']} ms, lag {f['lag_ms']} ms)"
                              for k, f in run.get("faults", {}).items())
            print(f"{backend} {i + 1}/{args.n} exit {run['exit_code']} "
                  f"{'RIGHT' if run['right'] else 'WRONG ' + run['why']} {errors}", flush=True)
            path.write_text(json.dumps({"case": args.case, "n": args.n, "tally": tally(runs), "runs": runs},
                                       indent=2))
    summary = tally(runs)
    for backend, t in summary.items():
        print(f"{backend}: {t['right']} of {t['runs']} right; worst recovery error (ms): {t['worst_recovery_error_ms']}")
    print(f"written: {path}")
    return 0 if all(r["right"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
