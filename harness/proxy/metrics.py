"""Prometheus text for ``/metrics`` (``-proxy-metrics`` / ``-runtime-metrics``).

As in Toxiproxy, the byte counters are updated when a link (one direction of one
connection) ends, not live.
"""

from __future__ import annotations

import os
import resource
import time

__all__ = ["Metrics", "CONTENT_TYPE"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ("direction", "listener", "proxy", "upstream")


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Metrics:
    def __init__(self, *, proxy_metrics: bool = False, runtime_metrics: bool = False) -> None:
        self.proxy_metrics = proxy_metrics
        self.runtime_metrics = runtime_metrics
        self.received: dict[tuple[str, ...], int] = {}
        self.sent: dict[tuple[str, ...], int] = {}
        self._start = time.time()

    @property
    def enabled(self) -> bool:
        return self.proxy_metrics or self.runtime_metrics

    def link_ended(self, labels: tuple[str, str, str, str], received: int, sent: int) -> None:
        if self.proxy_metrics:
            self.received[labels] = self.received.get(labels, 0) + received
            self.sent[labels] = self.sent.get(labels, 0) + sent

    def render(self) -> str:
        out: list[str] = []
        if self.proxy_metrics:
            for name, help_, data in (
                ("toxiproxy_proxy_received_bytes_total", "The total bytes received from the source", self.received),
                ("toxiproxy_proxy_sent_bytes_total", "The total bytes sent to the destination", self.sent),
            ):
                out.append(f"# HELP {name} {help_}")
                out.append(f"# TYPE {name} counter")
                for labels in sorted(data):
                    text = ",".join(f'{k}="{_esc(v)}"' for k, v in zip(_LABELS, labels))
                    out.append(f"{name}{{{text}}} {data[labels]}")
        if self.runtime_metrics:
            out.extend(_process_metrics(self._start))
        return "\n".join(out) + "\n" if out else ""


def _process_metrics(start: float) -> list[str]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    try:
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:  # pragma: no cover - not Linux
        fds = -1
    rss = 0
    try:
        with open("/proc/self/statm") as f:
            rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        pass
    rows = [
        ("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.", ru.ru_utime + ru.ru_stime),
        ("process_open_fds", "gauge", "Number of open file descriptors.", fds),
        ("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss),
        ("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.", start),
    ]
    out = []
    for name, kind, help_, value in rows:
        out += [f"# HELP {name} {help_}", f"# TYPE {name} {kind}", f"{name} {value:g}" if isinstance(value, float) else f"{name} {value}"]
    return out
