"""The pipeline's own metrics: every service's ``/metrics`` scraped each second during the run.

A scenario with ``expect.metrics`` gets a :class:`MetricsScraper`: one runner thread
that, every :data:`INTERVAL_S`, GETs ``/metrics`` of each service the backend can
reach (``backend.service_urls()``: the process backend's loopback ports; on docker each
service ``docker.services`` gives a port, published or on the project's network),
parses the Prometheus text with ``prometheus_client``'s parser, and writes one line per scrape to ``metrics.jsonl``::

    {"ts": 1796028106.2, "service": "model-server",
     "samples": {"model_fallback_total{reason=\\"timeout\\"}": 3.0, ...}}

A service that does not answer (killed, paused) is simply missing from that second.
Journal: ``metrics_started`` (the URLs) and ``metrics_stopped`` (scrapes per service).
Expressions over the series (``harness.metric_slo``) judge the run.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path
from typing import Mapping, NamedTuple

from harness.timeline.records import MetricsStarted, MetricsStopped

METRICS_FILE = "metrics.jsonl"
INTERVAL_S = 1.0
TIMEOUT_S = 0.5


EXPRESSION = re.compile(r"^\s*(rate|increase|max|min|last)\(\s*([A-Za-z_:][A-Za-z0-9_:]*(\{[^}]*\})?)"
                        r"\s*(?:\[\s*([A-Za-z0-9_.-]+)\s*\])?\s*\)"
                        r"\s*(<=|>=|==|<|>)\s*(-?[0-9.]+(?:e-?[0-9]+)?)\s*(?:/s)?\s*$")
"""``FUNCTION(METRIC) OP NUMBER`` or ``FUNCTION(METRIC[WINDOW]) OP NUMBER`` (WINDOW: a
fault's name or ``baseline``; an optional ``/s`` after the number), see ``harness.metric_slo``."""


class MetricExpression(NamedTuple):
    """One parsed expression; ``window`` None: over the whole load."""

    function: str
    metric: str
    op: str
    bound: float
    window: str | None = None


def parse_expression(text: str) -> MetricExpression:
    """The parts of ``text``; ValueError saying what is expected."""
    match = EXPRESSION.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not FUNCTION(METRIC) OP NUMBER (or FUNCTION(METRIC[WINDOW]) with WINDOW "
                         f"a fault's name or baseline) with FUNCTION one of rate, increase, max, min, last "
                         f"and OP one of <, <=, >, >=, ==")
    return MetricExpression(match[1], match[2], match[5], float(match[6]), match[4])


def parse_samples(text: str) -> dict[str, float]:
    """Prometheus text exposition -> ``{"name{label=\\"v\\",...}": value}`` (labels sorted)."""
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            out[f"{sample.name}{{{labels}}}" if labels else sample.name] = float(sample.value)
    return out


class MetricsScraper:
    """Scrapes ``urls`` (service -> base URL) every ``INTERVAL_S`` into ``run_dir/metrics.jsonl``."""

    def __init__(self, urls: Mapping[str, str], run_dir: Path, journal, max_s: float = 3600.0):
        self.urls, self.file, self.journal, self.max_s = dict(urls), Path(run_dir) / METRICS_FILE, journal, max_s
        self.scrapes = dict.fromkeys(self.urls, 0)
        """Service -> scrapes written."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "MetricsScraper":
        """Journal ``metrics_started`` and begin scraping in a daemon thread."""
        self.journal.emit(MetricsStarted(urls=self.urls, interval_s=INTERVAL_S, file=str(self.file)))
        self._thread = threading.Thread(target=self._loop, name="metrics-scraper", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the scrape in progress (bounded by its timeouts); journal ``metrics_stopped``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(TIMEOUT_S * max(1, len(self.urls)) + INTERVAL_S)
            self._thread = None
            self.journal.emit(MetricsStopped(scrapes=dict(self.scrapes)))

    def _loop(self) -> None:
        import requests

        started = time.monotonic()
        with requests.Session() as session, open(self.file, "a", buffering=1) as out:
            k = 0
            while not self._stop.is_set() and time.monotonic() - started < self.max_s:
                for service, url in self.urls.items():
                    try:
                        reply = session.get(f"{url}/metrics", timeout=TIMEOUT_S)
                        samples = parse_samples(reply.text) if reply.status_code == 200 else None
                    except Exception:  # down, paused, or not Prometheus text: missing this second
                        samples = None
                    if samples is not None:
                        out.write(json.dumps({"ts": time.time(), "service": service, "samples": samples}) + "\n")
                        self.scrapes[service] += 1
                k += 1
                self._stop.wait(max(0.0, started + k * INTERVAL_S - time.monotonic()))


def start_scraper(scenario, backend, run_dir: Path, journal, stack) -> None:
    """Scrape the services the backend reaches (``service_urls()``) when the scenario
    judges metric expressions."""
    if not scenario.expect.metrics:
        return
    scraper = MetricsScraper(backend.service_urls(), run_dir, journal, max_s=scenario.load.duration + 20.0)
    stack.callback(scraper.stop)
    scraper.start()
