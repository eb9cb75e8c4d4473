"""Overlapping faults on one target that cannot be honoured, found before the run.

Faults on one target stack (``docs/stacking.md``); this check rejects the overlaps the
ledger cannot undo exactly, as the fault classes declare them:

* two faults whose kinds ``exclude`` each other on the same target (a ``kill`` while
  the service is paused, ``pause`` and ``stop`` of one service);
* two data faults on one store where one changes the schema and both name the same
  column (a rename of ``x`` and a corruption of ``x``, or of its new name).

A fault is active over ``[at, at + for)``; without ``for`` until the load ends (an
instant fault: at ``at`` only). Faults that touch at one boundary do not overlap: the
runner reverts before it injects at the same second.

>>> overlap_problems(())
[]
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from harness.faults.base import Fault, Stacking
from harness.faults.registry import get_fault
from harness.model import FaultSpec

Problem = tuple[tuple[Any, ...], str]
"""A key path (``("faults", 3, "at")``) and what is wrong there."""


def overlap_problems(faults: Sequence[FaultSpec]) -> list[Problem]:
    """One problem per pair of faults that overlap on one target and cannot stack."""
    built = [(i, spec, get_fault(spec.kind)(spec.params)) for i, spec in enumerate(faults)]
    problems: list[Problem] = []
    for n, (i, a_spec, a) in enumerate(built):
        for j, b_spec, b in built[:n]:
            if a.target() != b.target() or not _overlap(a_spec, a, b_spec, b):
                continue
            why = _conflict(a, b)
            if why:
                problems.append((("faults", i), f"{a_spec.kind} {a_spec.name!r} overlaps {b_spec.kind} "
                                 f"{b_spec.name!r} (faults[{j}]) on {a.target()!r}: {why}"))
    return problems


def _interval(spec: FaultSpec, fault: Fault) -> tuple[float, float]:
    if fault.instant:
        return spec.at, spec.at
    return spec.at, math.inf if spec.ends_at is None else spec.ends_at


def _overlap(a_spec: FaultSpec, a: Fault, b_spec: FaultSpec, b: Fault) -> bool:
    (a0, a1), (b0, b1) = _interval(a_spec, a), _interval(b_spec, b)
    if a0 == a1:  # an instant inside the other's [start, end)
        return b0 <= a0 < b1 or (b0 == b1 == a0)
    if b0 == b1:
        return a0 <= b0 < a1
    return a0 < b1 and b0 < a1


def _conflict(a: Fault, b: Fault) -> str | None:
    if a.kind in b.excludes or b.kind in a.excludes:
        return (f"{a.kind} and {b.kind} cannot overlap on one target (the one would silently end "
                f"or break the other). Hint: move one so they do not overlap")
    if a.stacking is Stacking.DATA and b.stacking is Stacking.DATA and (a.changes_schema or b.changes_schema):
        shared = sorted(a.columns_named() & b.columns_named())
        if shared:
            return (f"both name column(s) {', '.join(shared)} while one renames or drops columns, "
                    f"so neither can be applied again without the other. Hint: use other columns, "
                    f"or move one so they do not overlap")
    return None
