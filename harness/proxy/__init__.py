"""An embedded, Toxiproxy-API-compatible fault proxy (behaves like toxiproxy-server 2.12.0).

Run it like ``toxiproxy-server``::

    python -m harness.proxy --host 127.0.0.1 --port 8474 [--seed N] [--config FILE]

or in-process for tests and benchmarks::

    from harness.proxy import run_in_thread
    with run_in_thread(seed=7) as srv:      # srv.url == "http://127.0.0.1:<port>"
        ...

Any Toxiproxy client (Go, Ruby, ``toxiproxy-python``, node) can drive it. Deliberate
differences from the real server are listed in ``docs/proxy-deviations.md``.
"""

from .api import VERSION
from .server import ProxyServer, ProxyServerHandle, run_in_thread, serve_main

__all__ = ["VERSION", "ProxyServer", "ProxyServerHandle", "run_in_thread", "serve_main"]
