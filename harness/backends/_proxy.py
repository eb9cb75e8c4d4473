"""The fault proxy a backend talks to: an external Toxiproxy or our embedded server.

``TOXIPROXY_URL`` set: use that server (proxy names get a per-run prefix so runs
sharing it do not collide; the journal records the URL and the prefix, so ``cleanup``
can delete a killed run's proxies there without the variable). Otherwise start ``python -m harness.proxy`` on a free
loopback port as a child process, and stop it at the end.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.drivers.toxiproxy import ProxyDriver
from harness.journal import Journal
from harness.probes import HttpProbe, free_port
from harness.procgroup import stop_group


class FaultProxy:
    """Owns the proxy server's lifetime and the driver that speaks to it."""

    def __init__(self, *, run_id: str, run_dir: Path, journal: Journal, seed: int):
        self.run_id, self.run_dir, self.journal, self.seed = run_id, run_dir, journal, seed
        self.process: subprocess.Popen | None = None
        self.driver: ProxyDriver | None = None
        self.created: list[str] = []
        """Names of the proxies this run created (deleted again by ``stop``)."""

    def start(self) -> ProxyDriver:
        """Reach or start the server; return its driver."""
        external = os.environ.get("TOXIPROXY_URL")
        if external:
            self.driver = ProxyDriver(external, prefix=f"chaos-{self.run_id}-")
            self.driver.version()
            self.journal.record("proxy_server_found", url=external, prefix=self.driver.prefix)
            return self.driver
        port = free_port()
        log = open(self.run_dir / "logs" / "proxy.log", "ab")
        command = [sys.executable, "-m", "harness.proxy", "--host", "127.0.0.1", "--port", str(port),
                   "--seed", str(self.seed)]
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        url = f"http://127.0.0.1:{port}"
        self.journal.record("proxy_server_started", url=url, pid=self.process.pid, command=command)
        HttpProbe(f"{url}/version").with_timeout(15).with_hint(
            f"see {self.run_dir / 'logs' / 'proxy.log'}").wait()
        self.driver = ProxyDriver(url)
        return self.driver

    def create(self, link: str, *, listen: str, upstream: str) -> str:
        """Create the proxy for ``link``; return its real listen address."""
        address = self.driver.create(link, listen=listen, upstream=upstream)
        self.created.append(link)
        self.journal.record("proxy_created", link=link, listen=address, upstream=upstream)
        return address

    def stop(self) -> None:
        """Delete our proxies on an external server, or stop the embedded one."""
        if self.process is None:
            for link in reversed(self.created):
                self.driver.delete(link)
            self.created.clear()
            return
        if stop_group(self.process, 5):
            self.journal.record("proxy_server_stopped", pid=self.process.pid)
