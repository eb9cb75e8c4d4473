"""Throwaway containers for tests, on testcontainers and our local images.

Two context managers, each yielding a small handle:

* :func:`postgres_container` — a PostgreSQL feature store (``IMAGES["postgres"]``),
* :func:`toxiproxy_container` — a Toxiproxy-API server (``IMAGES["proxy"]``, or
  any image with the real Toxiproxy's layout, e.g. ``ghcr.io/shopify/toxiproxy:2.12.0``).

Ryuk (testcontainers' reaper) cannot be pulled here, so it is disabled; instead every
container and network carries ``chaos-harness.run-id=<run_id>`` (default ``tc-<hex>``),
so ``chaos-harness cleanup`` finds whatever a killed test run left. Ports are
published on 127.0.0.1 only.

>>> with postgres_container() as pg:                     # doctest: +SKIP
...     store = pg.feature_store(table="items", key="item_id")
"""

from __future__ import annotations

import os
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

from harness.dockerutil import owner_labels
from harness.errors import ProbeTimeout
from harness.images import IMAGES, require_built

_USER, _PASSWORD, _DB = "chaos", "chaos", "features"


def _no_ryuk() -> None:
    os.environ["TESTCONTAINERS_RYUK_DISABLED"] = "true"
    from testcontainers.core.config import testcontainers_config

    testcontainers_config.ryuk_disabled = True  # the env var is read once, at import


def _container(image: str, run_id: str, *ports: int):
    """A configured, not yet started DockerContainer with our label and loopback ports.

    Raises DriverError when ``image`` is one of ours and absent, instead of letting
    testcontainers try to pull it from a registry."""
    require_built(image)
    _no_ryuk()
    from testcontainers.core.container import DockerContainer

    container = DockerContainer(image).with_kwargs(labels=owner_labels(run_id))
    for port in ports:
        container.ports[f"{port}/tcp"] = ("127.0.0.1", None)  # type: ignore[assignment]
    return container


def _published(container, port: int) -> int:
    wrapped = container.get_wrapped_container()
    wrapped.reload()
    return int(wrapped.attrs["NetworkSettings"]["Ports"][f"{port}/tcp"][0]["HostPort"])


def _wait(what: str, check, timeout: float, hint: str) -> None:
    deadline, last = time.monotonic() + timeout, "no attempt yet"
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the container is still starting
            last = f"{type(exc).__name__}: {exc}"
        time.sleep(0.1)
    raise ProbeTimeout(f"{what} not ready within {timeout:g}s; last observation: {last}. Hint: {hint}")


@dataclass
class PostgresHandle:
    """A running throwaway PostgreSQL: ``dsn`` on 127.0.0.1, and the container."""

    dsn: str
    container: object
    network_alias: str | None = None

    def feature_store(self, table: str = "features", key: str = "entity_id"):
        """A :class:`~harness.stores.postgres.PostgresFeatureStore` on this database."""
        from harness.stores.postgres import PostgresFeatureStore

        return PostgresFeatureStore(self.dsn, table=table, key=key)


@contextmanager
def postgres_container(*, image: str | None = None, run_id: str | None = None, network=None,
                       alias: str = "postgres", timeout: float = 60) -> Iterator[PostgresHandle]:
    """Start PostgreSQL (user/password ``chaos``, database ``features``); remove it afterwards."""
    import psycopg

    run_id = run_id or f"tc-{secrets.token_hex(4)}"
    container = _container(image or IMAGES["postgres"], run_id, 5432).with_envs(
        POSTGRES_USER=_USER, POSTGRES_PASSWORD=_PASSWORD, POSTGRES_DB=_DB)
    if network is not None:
        container = container.with_network(network).with_network_aliases(alias)
    with container:
        dsn = f"postgresql://{_USER}:{_PASSWORD}@127.0.0.1:{_published(container, 5432)}/{_DB}"
        _wait(f"PostgreSQL at {dsn}", lambda: psycopg.connect(dsn, connect_timeout=2).close() is None,
              timeout, "docker logs of the container")
        yield PostgresHandle(dsn=dsn, container=container, network_alias=alias if network else None)


@dataclass
class ProxyHandle:
    """A running throwaway Toxiproxy-API server: ``url`` of its API on 127.0.0.1."""

    url: str
    container: object
    ports: dict[int, int]
    """Container port -> published 127.0.0.1 port, for proxies listening on ``0.0.0.0:PORT``."""

    def driver(self):
        """A :class:`~harness.drivers.toxiproxy.ToxiproxyDriver` for this server."""
        from harness.drivers.toxiproxy import ToxiproxyDriver

        return ToxiproxyDriver(self.url)

    def address(self, port: int) -> str:
        """``127.0.0.1:HOSTPORT`` where a proxy listening on ``0.0.0.0:port`` is reached."""
        return f"127.0.0.1:{self.ports[port]}"


@contextmanager
def toxiproxy_container(*, image: str | None = None, run_id: str | None = None, network=None,
                        proxy_ports: tuple[int, ...] = (8666, 8667, 8668),
                        timeout: float = 60) -> Iterator[ProxyHandle]:
    """Start a Toxiproxy-API server publishing its API and ``proxy_ports``; remove it afterwards."""
    import requests

    run_id = run_id or f"tc-{secrets.token_hex(4)}"
    container = _container(image or IMAGES["proxy"], run_id, 8474, *proxy_ports).with_command(
        ["-host=0.0.0.0", "-port=8474"])
    if network is not None:
        container = container.with_network(network).with_network_aliases("toxiproxy")
    with container:
        url = f"http://127.0.0.1:{_published(container, 8474)}"
        _wait(f"Toxiproxy API at {url}", lambda: requests.get(f"{url}/version", timeout=2).ok,
              timeout, "docker logs of the container")
        yield ProxyHandle(url=url, container=container,
                          ports={p: _published(container, p) for p in proxy_ports})


@contextmanager
def labelled_network(run_id: str | None = None) -> Iterator[object]:
    """A throwaway user network (testcontainers ``Network``) carrying our run label."""
    _no_ryuk()
    from testcontainers.core.network import Network

    import docker

    run_id = run_id or f"tc-{secrets.token_hex(4)}"
    network = Network(docker_network_kw={"labels": owner_labels(run_id)}).create()
    try:
        yield network
    finally:
        try:
            network.remove()
        except docker.errors.NotFound:  # already removed (e.g. by cleanup_docker)
            pass


__all__ = ["PostgresHandle", "ProxyHandle", "labelled_network", "postgres_container",
           "toxiproxy_container"]
