"""The one adapter between the harness and any Toxiproxy-API server.

Works unchanged against a real Toxiproxy (``TOXIPROXY_URL``) and against the embedded
server (``harness.proxy``): it speaks the documented HTTP API, nothing else. Faults must
land on time, so every change is ONE request over ONE keep-alive connection, kept warm
by the look-up done ahead (``resolve``)::

    POST   /proxies/{name}/toxics            add_toxic
    DELETE /proxies/{name}/toxics/{toxic}    remove_toxic
    POST   /proxies/{name}  {"enabled": b}   set_enabled

(``toxiproxy-python``, used before, looked the proxy up and opened a fresh connection
for every change: two round trips and a TCP handshake.) A connection the server closed
while idle is noticed on the next request, which is sent again once on a new connection
(the server never read it). Errors are :class:`~harness.errors.DriverError` naming the
request (``harness.drivers.base``).

>>> driver = ToxiproxyDriver("http://127.0.0.1:8474")              # doctest: +SKIP
>>> driver.create("features", listen="127.0.0.1:0", upstream="127.0.0.1:9001")
'127.0.0.1:40321'
"""

from __future__ import annotations

import http.client
import json
import threading
from typing import Any
from urllib.parse import quote, urlsplit

from harness.drivers.base import PROXY_NOT_FOUND, TOXIC_NOT_FOUND, no_proxy, refused, unreachable
from harness.errors import DriverError

TIMEOUT_S = 10.0
"""Seconds a request may wait for the server (connect, send, answer)."""
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ToxiproxyDriver:
    """Creates proxies and adds/removes toxics through the Toxiproxy HTTP API."""

    def __init__(self, url: str, *, prefix: str = "", timeout: float = TIMEOUT_S):
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname or not parts.port:
            raise DriverError(f"Toxiproxy URL {url!r} must look like http://host:port")
        self.url = url.rstrip("/")
        self.prefix = prefix
        """Prepended to every proxy name, so runs sharing one server do not collide."""
        self._host, self._port, self._timeout = parts.hostname, parts.port, timeout
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()  # one request at a time on the one connection

    # ------------------------------------------------------------------ the API
    def version(self) -> str:
        """The server's version answer; raises DriverError when it does not answer."""
        return self._call("read its version", "GET", "/version").decode(errors="replace")

    def create(self, name: str, *, listen: str, upstream: str) -> str:
        """Create proxy ``name``; return the address it really listens on."""
        body = {"name": self.prefix + name, "listen": listen, "upstream": upstream, "enabled": True}
        return json.loads(self._call(f"create proxy {name!r}", "POST", "/proxies", body))["listen"]

    def resolve(self, proxy: str) -> None:
        """Look ``proxy`` up ahead of a change (and so warm the connection)."""
        try:
            self._call(f"look up proxy {proxy!r}", "GET", self._path(proxy))
        except _Refused as exc:
            if exc.message == PROXY_NOT_FOUND:
                raise no_proxy(self.url, proxy) from None
            raise

    def add_toxic(self, proxy: str, *, name: str, type: str, stream: str = "downstream",
                  toxicity: float = 1.0, attributes: dict[str, Any] | None = None) -> None:
        """Add a toxic to ``proxy``: one request."""
        body = {"name": name, "type": type, "stream": stream, "toxicity": toxicity,
                "attributes": attributes or {}}
        self._call(f"add toxic {name!r} to {proxy!r}", "POST", self._path(proxy, "toxics"), body)

    def remove_toxic(self, proxy: str, name: str) -> None:
        """Remove a toxic: one request; a toxic that is already gone is not an error."""
        try:
            self._call(f"remove toxic {name!r} from {proxy!r}", "DELETE", self._path(proxy, "toxics", name))
        except _Refused as exc:
            if exc.message != TOXIC_NOT_FOUND:
                raise

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        """Enable or disable (``down``) a proxy: one request."""
        self._call(f"{'enable' if enabled else 'disable'} proxy {proxy!r}", "POST", self._path(proxy),
                   {"enabled": enabled})

    def delete(self, proxy: str) -> None:
        """Delete a proxy; a proxy that is already gone is not an error."""
        try:
            self._call(f"delete proxy {proxy!r}", "DELETE", self._path(proxy))
        except _Refused as exc:
            if exc.message != PROXY_NOT_FOUND:
                raise

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("reset", "POST", "/reset")

    def proxies(self) -> dict[str, dict[str, Any]]:
        """Every proxy (full names) with its toxics, as the API returns them."""
        return json.loads(self._call("list proxies", "GET", "/proxies"))

    def close(self) -> None:
        """Close the connection; the next request opens a new one."""
        with self._lock:
            self._drop()

    # ------------------------------------------------------------------ HTTP
    def _path(self, proxy: str, *rest: str) -> str:
        return "/".join(["/proxies", quote(self.prefix + proxy, safe=""), *(quote(r, safe="") for r in rest)])

    def _call(self, what: str, method: str, path: str, body: dict[str, Any] | None = None) -> bytes:
        """One request; the answer's body, or DriverError (a ``_Refused`` for an error answer)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        with self._lock:
            status, payload = self._exchange(what, method, path, data, headers)
        if status >= 400:
            raise _Refused(self.url, what, _message(payload, status))
        return payload

    def _exchange(self, what: str, method: str, path: str, data: bytes | None,
                  headers: dict[str, str]) -> tuple[int, bytes]:
        reused = self._conn is not None
        try:
            return self._send(method, path, data, headers)
        except _STALE as exc:
            if not reused:
                raise unreachable(self.url, what, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise unreachable(self.url, what, exc) from exc
        try:  # closed while idle: the server never read the request; once more, anew
            return self._send(method, path, data, headers)
        except (OSError, http.client.HTTPException) as exc:
            raise unreachable(self.url, what, exc) from exc

    def _send(self, method: str, path: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        if self._conn is None:
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        try:
            self._conn.request(method, path, body=data, headers=headers)
            response = self._conn.getresponse()
            payload = response.read()
        except BaseException:
            self._drop()
            raise
        if response.will_close:
            self._drop()
        return response.status, payload

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class _Refused(DriverError):
    """An error answer (see ``refused``); ``message`` is the server's own (``proxy not found``)."""

    def __init__(self, url: str, what: str, message: str):
        super().__init__(str(refused(url, what, message)))
        self.message = message


def _message(payload: bytes, status: int) -> str:
    """The ``error`` of Toxiproxy's ``{"error": ..., "status": ...}`` answer, else the text."""
    try:
        answer = json.loads(payload)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        return answer["error"]
    return payload.decode(errors="replace").strip() or f"HTTP {status}"
