"""The record base: :class:`Record`, the ``@kind`` registry and :func:`parse_record`."""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any, ClassVar

from harness.errors import HarnessError


class TimelineError(HarnessError):
    """A journal line that names a known kind but does not fit its type."""


class Phase(StrEnum):
    """Where a run is; every record carries the phase it was written in."""

    SETUP = "setup"
    BASELINE = "baseline"
    INJECT = "inject"
    RECOVER = "recover"
    TEARDOWN = "teardown"
    ANALYZE = "analyze"
    CLEANUP = "cleanup"


_KINDS: dict[str, type["Record"]] = {}


@dataclass(frozen=True, kw_only=True)
class Record:
    """Base of every journal record: when (``ts``, ``t``) and in which phase."""

    kind: ClassVar[str] = ""
    ts: float = 0.0
    """Wall clock, epoch seconds, when the record was written."""
    t: float = 0.0
    """Monotonic seconds since the run's journal was opened."""
    phase: str = Phase.SETUP.value

    def to_json(self) -> dict[str, Any]:
        """The journal line's object: ``ts``, ``t``, ``kind``, ``phase``, then the fields."""
        out: dict[str, Any] = {"ts": self.ts, "t": self.t, "kind": self.kind, "phase": str(self.phase)}
        for f in fields(self):
            if f.name not in out:
                out[f.name] = getattr(self, f.name)
        return out


def kind(name: str):
    """Class decorator: make a frozen record type and register it under ``name``."""
    def register(cls: type) -> type:
        made = dataclass(frozen=True, kw_only=True)(cls)
        made.kind = name
        if _KINDS.setdefault(name, made) is not made:
            raise ValueError(f"record kind {name!r} is declared twice")
        return made
    return register


@dataclass(frozen=True, kw_only=True)
class UnknownRecord(Record):
    """A kind this harness does not declare (a newer or older journal): kept as read."""

    name: str = ""
    fields_: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"ts": self.ts, "t": self.t, "kind": self.name, "phase": self.phase, **self.fields_}


def parse_record(data: dict[str, Any]) -> Record:
    """The typed record of one journal object; TimelineError when it does not fit."""
    name = data.get("kind")
    cls = _KINDS.get(name) if isinstance(name, str) else None
    base = {k: data[k] for k in ("ts", "t", "phase") if k in data}
    if cls is None:
        rest = {k: v for k, v in data.items() if k not in ("ts", "t", "phase", "kind")}
        return UnknownRecord(**base, name=str(name), fields_=rest)
    known = {f.name: f for f in fields(cls)}
    missing = [n for n, f in known.items()
               if n not in data and f.default is MISSING and f.default_factory is MISSING]
    if missing:
        raise TimelineError(f"a {name} record lacks {', '.join(missing)}")
    return cls(**{k: v for k, v in data.items() if k in known})


def record_types() -> dict[str, type[Record]]:
    """Every declared record type, by kind."""
    return dict(_KINDS)
