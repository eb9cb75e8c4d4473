"""Journal records: the load."""

from __future__ import annotations

from harness.timeline.records.base import Record, kind


@kind("load_launched")
class LoadLaunched(Record):
    """The Locust process was started (cleanup finds it by pid + command)."""

    pid: int
    command: list[str]


@kind("load_started")
class LoadStarted(Record):
    """Locust's ``test_start``: ``load_ts`` is the zero of every fault's ``at``."""

    load_ts: float
    users: int = 0
    duration_s: float = 0.0


@kind("load_stopped")
class LoadStopped(Record):
    """Locust ended (``returncode`` None if it had to be killed)."""

    returncode: int | None = None


@kind("golden_started")
class GoldenStarted(Record):
    """The golden probe began replaying ``cases`` golden cases at ``rate_per_s``,
    through ``url``, into ``file`` (``golden-answers.jsonl``)."""

    cases: int
    rate_per_s: float
    url: str
    file: str
    source: str = ""
    """Where the cases came from (the pipeline's golden set)."""


@kind("golden_stopped")
class GoldenStopped(Record):
    """The golden probe stopped after ``answers`` replays (``error``: why it stopped early)."""

    answers: int = 0
    error: str | None = None


@kind("metrics_started")
class MetricsStarted(Record):
    """The scraper began reading each service's ``/metrics`` at ``urls`` (service ->
    base URL, from ``backend.service_urls()``) every ``interval_s``, into ``file``."""

    urls: dict[str, str]
    interval_s: float
    file: str


@kind("metrics_stopped")
class MetricsStopped(Record):
    """The scraper stopped; ``scrapes``: service -> answers parsed and written."""

    scrapes: dict[str, int]
