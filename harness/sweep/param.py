"""``--param 'faults[0].latency.latency_ms=50..2000'``: one scenario value and its range.

The path uses the scenario's own keys, with ``[i]`` for list items; the range is two
numbers, or two durations (``at=2s..8s``), low first. Integers stay integers.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from harness.units import format_duration, parse_duration

_PARAM = re.compile(r"^(?P<path>[A-Za-z0-9_.\[\]-]+)=(?P<low>[^.]+(?:\.\d+)?)\.\.(?P<high>.+)$")
_STEP = re.compile(r"\.?([A-Za-z0-9_-]+)|\[(\d+)\]")


@dataclass(frozen=True)
class SweepParam:
    """One value of a scenario (``path``) and the range ``[low, high]`` it is swept over."""

    text: str
    path: tuple[str | int, ...]
    low: float
    high: float
    duration: bool = False
    """Written as durations (``2s..8s``): values are seconds, written back as durations."""

    @property
    def path_text(self) -> str:
        """The path as written (``faults[0].latency.latency_ms``)."""
        return _dotted(self.path)

    @property
    def integer(self) -> bool:
        """Whether every value is a whole number (bisection then stops at a step of 1)."""
        return not self.duration and self.low.is_integer() and self.high.is_integer()

    def value(self, number: float) -> Any:
        """``number`` as the scenario writes it."""
        if self.duration:
            return format_duration(number)
        return int(round(number)) if self.integer else number

    def apply(self, data: dict[str, Any], number: float) -> dict[str, Any]:
        """A deep copy of ``data`` with the value at ``path`` set to ``number``."""
        out = copy.deepcopy(data)
        node = out
        for step in self.path[:-1]:
            node = node[step]
        node[self.path[-1]] = self.value(number)
        return out

    def check(self, data: dict[str, Any]) -> str | None:
        """Why ``path`` does not name an existing value of ``data``, or None."""
        node: Any = data
        for i, step in enumerate(self.path):
            where = _dotted(self.path[:i]) or "the scenario"
            if isinstance(step, int):
                if not isinstance(node, list) or not -len(node) <= step < len(node):
                    return f"{where} has no item [{step}]"
            elif not isinstance(node, dict) or step not in node:
                return f"{where} has no key {step!r}"
            node = node[step]
        if isinstance(node, bool) or not isinstance(node, (int, float, str)):
            return f"{_dotted(self.path)} is not a number or a duration (got {node!r:.40})"
        return None


def parse_param(text: str) -> SweepParam:
    """Parse ``PATH=LOW..HIGH``; ValueError says what is wrong."""
    match = _PARAM.match(text.strip())
    if not match:
        raise ValueError(f"expected PATH=LOW..HIGH such as faults[0].latency.latency_ms=50..2000 "
                         f"(got {text!r})")
    path: list[str | int] = []
    rest = match["path"]
    while rest:
        step = _STEP.match(rest)
        if not step:
            raise ValueError(f"cannot read the path {match['path']!r} at {rest!r}")
        path.append(step[1] if step[1] is not None else int(step[2]))
        rest = rest[step.end():]
    low, high = match["low"].strip(), match["high"].strip()
    duration = not (_is_number(low) and _is_number(high))
    try:
        bounds = [parse_duration(v) if duration else float(v) for v in (low, high)]
    except ValueError as exc:
        raise ValueError(f"LOW..HIGH must be two numbers or two durations ({exc})") from None
    if not bounds[0] < bounds[1]:
        raise ValueError(f"LOW must be below HIGH (got {low}..{high})")
    return SweepParam(text=text, path=tuple(path), low=bounds[0], high=bounds[1], duration=duration)


def _is_number(text: str) -> bool:
    return re.fullmatch(r"-?\d+(?:\.\d+)?", text) is not None


def _dotted(path: tuple[str | int, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
