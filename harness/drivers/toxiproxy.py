"""The one adapter between the harness and any Toxiproxy-API server.

Works unchanged against a real Toxiproxy (``TOXIPROXY_URL``) and against the
embedded server (``harness.proxy``). Everything goes through the ``toxiproxy-python``
client; its errors become :class:`~harness.errors.DriverError` naming the request.

>>> driver = ProxyDriver("http://127.0.0.1:8474")              # doctest: +SKIP
>>> driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9001")
'127.0.0.1:40321'
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from toxiproxy import Toxiproxy
from toxiproxy.api import APIConsumer
from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

from harness.errors import DriverError

_LOCK = threading.Lock()  # toxiproxy-python keeps host/port in class attributes


class ProxyDriver:
    """Creates proxies and adds/removes toxics through the Toxiproxy HTTP API."""

    def __init__(self, url: str, *, prefix: str = ""):
        parts = urlsplit(url)
        if not parts.hostname or not parts.port:
            raise DriverError(f"Toxiproxy URL {url!r} must look like http://host:port")
        self.url = url.rstrip("/")
        self._host, self._port = parts.hostname, parts.port
        self.prefix = prefix
        """Prepended to every proxy name, so runs sharing one server do not collide."""

    def _call(self, what: str, fn, *args: Any, **kwargs: Any) -> Any:
        with _LOCK:
            APIConsumer.host, APIConsumer.port = self._host, self._port
            try:
                return fn(*args, **kwargs)
            except (ProxyExists, NotFound, InvalidToxic) as exc:
                raise DriverError(f"Toxiproxy at {self.url} refused to {what}: {_text(exc)}") from exc
            except requests.RequestException as exc:
                raise DriverError(f"Toxiproxy at {self.url} unreachable while trying to {what}: {exc}") from exc

    def version(self) -> str:
        """The server's version string; raises DriverError when it does not answer."""
        body = self._call("read its version", lambda: requests.get(f"{self.url}/version", timeout=2))
        return body.text

    def create(self, name: str, *, listen: str, upstream: str) -> str:
        """Create proxy ``name``; return the address it really listens on."""
        proxy = self._call(f"create proxy {name!r}", Toxiproxy().create,
                           upstream=upstream, name=self.prefix + name, listen=listen)
        return proxy.listen

    def add_toxic(self, proxy: str, *, name: str, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        """Add a toxic to ``proxy``."""
        target = self._proxy(proxy)
        self._call(f"add toxic {name!r} to {proxy!r}", target.add_toxic, name=name, type=type,
                   stream=stream, toxicity=toxicity, attributes=attributes or {})

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic; a toxic that is already gone is not an error."""
        target = self._proxy(proxy)
        try:
            self._call(f"remove toxic {name!r} from {proxy!r}", target.destroy_toxic, name)
        except DriverError as exc:
            if not isinstance(exc.__cause__, NotFound):
                raise

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable (``down``) a proxy."""
        target = self._proxy(proxy)
        self._call(f"{'enable' if enabled else 'disable'} proxy {proxy!r}",
                   target.enable if enabled else target.disable)

    def delete(self, proxy: str) -> None:
        """Delete a proxy; a proxy that is already gone is not an error."""
        found = self._call("list proxies", Toxiproxy().get_proxy, self.prefix + proxy)
        if found is not None:
            self._call(f"delete proxy {proxy!r}", found.destroy)

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("reset", Toxiproxy().reset)

    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy with its toxics, as the API returns them."""
        response = self._call("list proxies", APIConsumer.get, "/proxies")
        return response.json()

    def _proxy(self, name: str):
        found = self._call("list proxies", Toxiproxy().get_proxy, self.prefix + name)
        if found is None:
            raise DriverError(f"Toxiproxy at {self.url} has no proxy {name!r}")
        return found


def _text(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)
