"""Is a run's record complete? If not, its verdict is ``unknown``, never ``passed``.

A verdict is only as good as the evidence under it. Two things are checked, both from
the run's own files:

* **the journal** ends its run with ``run_finished``; without it the harness was
  killed, or could not write its journal (a full disk), and fault windows and the
  run's status may be wrong;
* **the request log** holds every request Locust made. The locustfile wrapper
  (``harness/_locust_entry.py``) writes Locust's own totals to ``load-events.jsonl``
  when Locust quits, with how many request lines it wrote (``sent``, and ``omitted``
  for the slots that came due while their user was blocked) and how many writes to
  ``requests.jsonl`` failed; the sent lines of ``requests.jsonl`` must match Locust's
  count, the omitted ones the wrapper's, none of them torn. Checked for every run that
  launched Locust (``load_launched``). With Locust workers (``load.workers``) the
  totals are summed over the workers (each one's Locust-reported count and lines), and
  a worker that wrote no totals makes the record incomplete.

>>> from harness.timeline.records import RunStarted
>>> record_problems([RunStarted(run_id="r", scenario={})], logged=0, torn=0, totals=None)
['journal.jsonl has no run_finished record: the harness was killed, or could not write its journal']
"""

from __future__ import annotations

from typing import Any, Iterable

from harness.timeline.records import LoadLaunched, Record, RunFinished

TOTALS_EVENT = "totals"
"""The ``event`` of the line the locustfile wrapper writes to ``load-events.jsonl`` at quit."""


def load_totals(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Locust's totals among the ``load-events.jsonl`` records, or None if never written;
    with workers, the sum of the workers' (``missing_workers``: how many wrote none)."""
    totals = [e for e in events if e.get("event") == TOTALS_EVENT]
    workers = [e for e in totals if e.get("role") == "worker"]
    master = next((e for e in totals if e.get("role") == "master"), None)
    if master is None and not workers:
        return totals[0] if totals else None
    expected = master.get("workers", len(workers)) if master else len(workers)
    summed = {key: sum(w.get(key) or 0 for w in workers)
              for key in ("requests", "failures", "sent", "omitted", "log_errors", "feed_dropped")}
    first_error = next((w.get("log_error") for w in workers if w.get("log_error")), None)
    return {"event": TOTALS_EVENT, "role": "workers", **summed, "log_error": first_error,
            "workers": len(workers), "missing_workers": max(0, expected - len({w.get("worker") for w in workers}))}


def record_problems(journal: Iterable[Record], *, logged: int, torn: int,
                    totals: dict[str, Any] | None, omitted: int = 0) -> list[str]:
    """Why the run's record cannot be trusted (see the module docstring); empty if it can.

    ``logged`` is the number of whole lines of sent requests in ``requests.jsonl``,
    ``omitted`` of slots never sent, ``torn`` the number of lines cut short,
    ``totals`` Locust's (``load_totals``).
    """
    journal = list(journal)
    problems = []
    if not any(isinstance(r, RunFinished) for r in journal):
        problems.append("journal.jsonl has no run_finished record: the harness was killed, "
                        "or could not write its journal")
    if any(isinstance(r, LoadLaunched) for r in journal):
        problems += _request_log_problems(logged, omitted, torn, totals)
    return problems


def _request_log_problems(logged: int, omitted: int, torn: int,
                          totals: dict[str, Any] | None) -> list[str]:
    if totals is None:
        return ["load-events.jsonl has no Locust totals (Locust was killed, or could not "
                "write them), so requests.jsonl cannot be shown complete"]
    problems = []
    if totals.get("missing_workers"):
        problems.append(f"{totals['missing_workers']} Locust worker(s) wrote no totals (killed, or "
                        f"could not write them), so requests.jsonl cannot be shown complete")
    made = totals.get("requests")
    if made != logged:
        problems.append(f"requests.jsonl holds {logged} whole lines but Locust made {made} "
                        f"requests")
    written = totals.get("omitted")
    if written is not None and written != omitted:
        problems.append(f"requests.jsonl holds {omitted} lines of omitted slots but the load "
                        f"wrote {written}")
    if torn:
        problems.append(f"requests.jsonl has {torn} torn line(s)")
    if totals.get("log_errors"):
        problems.append(f"Locust failed {totals['log_errors']} time(s) to write "
                        f"requests.jsonl: {totals.get('log_error')}")
    return problems
