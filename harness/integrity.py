"""Is a run's record complete? If not, its verdict is ``unknown``, never ``passed``.

A verdict is only as good as the evidence under it. Two things are checked, both from
the run's own files:

* **the journal** ends its run with ``run_finished``; without it the harness was
  killed, or could not write its journal (a full disk), and fault windows and the
  run's status may be wrong;
* **the request log** holds every request Locust made. The locustfile wrapper
  (``harness/_locust_entry.py``) writes Locust's own totals to ``load-events.jsonl``
  when Locust quits, with the number of writes to ``requests.jsonl`` that failed; the
  lines of ``requests.jsonl`` must match those totals, none of them torn. Checked for
  every run that launched Locust (``load_launched``).

>>> record_problems([{"kind": "run_started"}], logged=0, torn=0, totals=None)
['journal.jsonl has no run_finished record: the harness was killed, or could not write its journal']
"""

from __future__ import annotations

from typing import Any, Iterable

TOTALS_EVENT = "totals"
"""The ``event`` of the line the locustfile wrapper writes to ``load-events.jsonl`` at quit."""


def load_totals(events: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
    """Locust's totals among the ``load-events.jsonl`` records, or None if never written."""
    return next((e for e in events if e.get("event") == TOTALS_EVENT), None)


def record_problems(journal: list[dict[str, Any]], *, logged: int, torn: int,
                    totals: dict[str, Any] | None) -> list[str]:
    """Why the run's record cannot be trusted (see the module docstring); empty if it can.

    ``logged`` is the number of whole lines in ``requests.jsonl``, ``torn`` the number
    of lines cut short, ``totals`` Locust's (``load_totals``).
    """
    kinds = {record.get("kind") for record in journal}
    problems = []
    if "run_finished" not in kinds:
        problems.append("journal.jsonl has no run_finished record: the harness was killed, "
                        "or could not write its journal")
    if "load_launched" in kinds:
        problems += _request_log_problems(logged, torn, totals)
    return problems


def _request_log_problems(logged: int, torn: int, totals: dict[str, Any] | None) -> list[str]:
    if totals is None:
        return ["load-events.jsonl has no Locust totals (Locust was killed, or could not "
                "write them), so requests.jsonl cannot be shown complete"]
    problems = []
    made = totals.get("requests")
    if made != logged:
        problems.append(f"requests.jsonl holds {logged} whole lines but Locust made {made} "
                        f"requests")
    if torn:
        problems.append(f"requests.jsonl has {torn} torn line(s)")
    if totals.get("log_errors"):
        problems.append(f"Locust failed {totals['log_errors']} time(s) to write "
                        f"requests.jsonl: {totals.get('log_error')}")
    return problems
