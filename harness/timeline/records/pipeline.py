"""Journal records: the pipeline."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from harness.timeline.records.base import Record, kind


@kind("pipeline_starting")
class PipelineStarting(Record):
    """A backend is about to bring the pipeline up (docker: the compose command)."""

    backend: str
    project: str | None = None
    command: list[str] = field(default_factory=list)
    compose_file: str | None = None


@kind("env_overridden")
class EnvOverridden(Record):
    """The scenario's ``env`` applied to the services (docker: the compose override ``file``)."""

    backend: str
    services: dict[str, dict[str, str]] = field(default_factory=dict)
    """Service -> the variables set (the scenario's values)."""
    file: str | None = None


@kind("pipeline_up")
class PipelineUp(Record):
    """Every service healthy and every link proxied."""

    backend: str
    links: dict[str, str] = field(default_factory=dict)
    """Link name -> ``host:port`` of its proxy."""
    services: dict[str, Any] = field(default_factory=dict)
    project: str | None = None
    up_s: float | None = None


@kind("pipeline_down")
class PipelineDown(Record):
    """Everything the backend started is gone (``ok`` false: it could not be sure)."""

    backend: str
    project: str | None = None
    removed: list[str] = field(default_factory=list)
    down_s: float | None = None
    ok: bool = True
    error: str | None = None


@kind("setup_started")
class SetupStarted(Record):
    """One of the pipeline's setup commands is about to run."""

    command: list[str]
