"""Hypothesis strategies for fault schedules drawn from an explore menu.

A schedule is a list of 1 to ``max_faults`` faults, each written as a scenario's fault
(``{name, at, for, <kind>: params}``). Every open choice is ``sampled_from`` its menu
options, simplest first, and a fault is ``one_of`` the menu's entries, so hypothesis's
shrinking (delete list items, move each choice towards its first option, prefer
earlier ``one_of`` branches) means fewer faults, later, shorter, weaker.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from harness.explore.menu import ExploreMenu, MenuFault, param_options
from harness.units import format_duration


def schedules(menu: ExploreMenu) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Fault schedules from ``menu``, each a list of scenario faults named by position."""
    slot = st.one_of([st.none(), *(_fault(menu, entry) for entry in menu.faults)])
    drawn = st.lists(slot, min_size=menu.max_faults, max_size=menu.max_faults)
    return drawn.map(lambda slots: [f for f in slots if f is not None]).filter(bool).map(_named)


def _fault(menu: ExploreMenu, entry: MenuFault) -> st.SearchStrategy[dict[str, Any]]:
    params = {name: st.sampled_from(param_options(value)) for name, value in entry.params.items()}
    return st.fixed_dictionaries({"kind": st.just(entry.kind),
                                  "at": st.sampled_from(menu.starts(entry)),
                                  "for": st.sampled_from(menu.durations(entry)),
                                  "params": st.fixed_dictionaries(params)})


def _named(drawn: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drawn faults as scenario faults, named ``<kind>-<position>``, in start order."""
    out = []
    for i, fault in enumerate(sorted(drawn, key=lambda f: f["at"]), start=1):
        spec: dict[str, Any] = {"name": f"{fault['kind']}-{i}", "at": format_duration(fault["at"])}
        if fault["for"] is not None:
            spec["for"] = format_duration(fault["for"])
        spec[fault["kind"]] = dict(sorted(fault["params"].items()))
        out.append(spec)
    return out


def describe(schedule: list[dict[str, Any]]) -> str:
    """One line for a schedule: ``latency(link=features, latency_ms=600) 4s+1s; kill(...) 4s``."""
    parts = []
    for fault in schedule:
        kind = next(k for k in fault if k not in ("name", "at", "for"))
        params = ", ".join(f"{k}={v}" for k, v in fault[kind].items())
        span = f"{fault['at']}+{fault['for']}" if "for" in fault else fault["at"]
        parts.append(f"{kind}({params}) {span}")
    return "; ".join(parts)
