"""The Toxiproxy HTTP API: routes, middleware and handlers (Toxiproxy's ``api.go``).

Routing is gorilla/mux-like: uncleaned paths get a 301, unknown paths the plain
``404 page not found``, a known path with another method an empty 405. Only routed
requests get ``X-Toxiproxy-Request-Id`` and the browser block (``User-Agent:
Mozilla/...`` -> 403). Handlers that take longer than 25 s answer Go's 503 page while
the operation carries on, as ``http.TimeoutHandler`` does.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import logging
import os
import time
from typing import Awaitable, Callable
from urllib.parse import quote

from . import schemas
from ._gojson import dumps_str
from .errors import ERR_TOXIC_NOT_FOUND, ApiError
from .httpserver import Request, Response, plain
from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .state import Proxy, ProxyCollection, ServerContext

__all__ = ["Api", "VERSION", "clean_path", "escape_path"]

log = logging.getLogger("harness.proxy.api")

#: The Toxiproxy release whose API and behaviour this server reproduces.
VERSION = "2.12.0"
HANDLER_TIMEOUT = 25.0
_TIMEOUT_BODY = b"<html><head><title>Timeout</title></head><body><h1>Timeout</h1></body></html>"
_JSON = [("Content-Type", "application/json")]
#: Route key for a handler that takes every method.
ANY_METHOD = "*"

Route = Callable[[Request, dict[str, str]], Awaitable[Response]]


def clean_path(p: str) -> str:
    """gorilla/mux ``cleanPath``: Go's ``path.Clean`` keeping a trailing slash."""
    if p == "":
        return "/"
    if not p.startswith("/"):
        p = "/" + p
    out: list[str] = []
    for seg in p.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    np = "/" + "/".join(out)
    if p.endswith("/") and np != "/":
        np += "/"
    return np


def escape_path(p: str) -> str:
    """Go's ``URL.EscapedPath`` for a decoded path (``/a b`` -> ``/a%20b``).

    The redirect ``Location`` is built from the *decoded* path, so without this an
    escaped ``%0A`` would put a raw newline into the response head.
    """
    return quote(p, safe="/$&+,:;=@")


class _RequestIds:
    """xid-style 20-character ids (time, machine, pid, counter; base32hex)."""

    def __init__(self) -> None:
        self._machine = os.urandom(3)
        self._pid = (os.getpid() & 0xFFFF).to_bytes(2, "big")
        self._counter = itertools.count(int.from_bytes(os.urandom(3), "big"))

    def next(self) -> str:
        raw = (
            int(time.time()).to_bytes(4, "big")
            + self._machine
            + self._pid
            + (next(self._counter) & 0xFFFFFF).to_bytes(3, "big")
        )
        return base64.b32hexencode(raw).decode().rstrip("=").lower()


def _ok(body: str, status: int = 200) -> Response:
    return Response(status, body.encode(), list(_JSON))


def _error(err: ApiError) -> Response:
    return plain(err.status, schemas.error_json(err) + "\n")


class Api:
    """Dispatches :class:`Request` s to the handlers below."""

    def __init__(self, collection: ProxyCollection, ctx: ServerContext) -> None:
        self.collection = collection
        self.ctx = ctx
        self._ids = _RequestIds()
        self._routes: list[tuple[list[str], dict[str, Route]]] = []
        add = self._add
        add("/reset", POST=self.reset)
        add("/proxies", GET=self.proxy_index, POST=self.proxy_create)
        add("/populate", POST=self.populate)
        add("/proxies/{proxy}", GET=self.proxy_show, POST=self.proxy_update, PATCH=self.proxy_update, DELETE=self.proxy_delete)
        add("/proxies/{proxy}/toxics", GET=self.toxic_index, POST=self.toxic_create)
        add(
            "/proxies/{proxy}/toxics/{toxic}",
            GET=self.toxic_show,
            POST=self.toxic_update,
            PATCH=self.toxic_update,
            DELETE=self.toxic_delete,
        )
        add("/version", GET=self.version)
        if ctx.metrics.enabled:
            add("/metrics", **{ANY_METHOD: self.metrics})  # r.Handle without .Methods()

    def _add(self, template: str, **methods: Route) -> None:
        self._routes.append((template.strip("/").split("/"), methods))

    def _match(self, path: str) -> tuple[dict[str, Route], dict[str, str]] | None:
        segs = path.strip("/").split("/") if path != "/" else [""]
        if path.endswith("/") and path != "/":
            return None  # mux without StrictSlash: "/proxies/" is not "/proxies"
        for template, methods in self._routes:
            if len(template) != len(segs):
                continue
            vars_: dict[str, str] = {}
            for t, s in zip(template, segs):
                if t.startswith("{"):
                    if not s:
                        break
                    vars_[t[1:-1]] = s
                elif t != s:
                    break
            else:
                return methods, vars_
        return None

    async def __call__(self, req: Request) -> Response:
        cleaned = clean_path(req.path)
        if cleaned != req.path:
            loc = escape_path(cleaned) + ("?" + req.query if req.query else "")
            return Response(301, b"", [("Location", loc)])
        found = self._match(req.path)
        if found is None:
            return plain(404, "404 page not found\n")
        methods, vars_ = found
        route = methods.get(req.method) or methods.get(ANY_METHOD)
        if route is None:
            return Response(405)
        rid = ("X-Toxiproxy-Request-Id", self._ids.next())
        if req.header("user-agent").startswith("Mozilla/"):
            resp = plain(403, "User agent not allowed\n")
        else:
            resp = await self._run(route, req, vars_)
        resp.headers.append(rid)
        return resp

    async def _run(self, route: Route, req: Request, vars_: dict[str, str]) -> Response:
        task = asyncio.get_running_loop().create_task(self._guarded(route, req, vars_))
        done, _ = await asyncio.wait({task}, timeout=HANDLER_TIMEOUT)
        if task in done:
            return task.result()
        log.warning("%s %s still running after %ss", req.method, req.path, HANDLER_TIMEOUT)
        return Response(503, _TIMEOUT_BODY, [("Content-Type", "text/html; charset=utf-8")])

    async def _guarded(self, route: Route, req: Request, vars_: dict[str, str]) -> Response:
        try:
            return await route(req, vars_)
        except ApiError as err:
            return _error(err)
        except Exception as exc:  # a bug: answer, record, keep serving
            self.ctx.report_error(f"{req.method} {req.path} failed: {exc!r}", exc)
            return _error(ApiError(f"internal error: {exc}", 500))

    # ------------------------------------------------------------------ proxies
    async def proxy_index(self, req: Request, v: dict[str, str]) -> Response:
        items = ",".join(f"{dumps_str(p.name)}:{schemas.proxy_json(p)}" for p in self.collection.sorted())
        return _ok("{" + items + "}")

    async def proxy_create(self, req: Request, v: dict[str, str]) -> Response:
        name, listen, upstream, enabled = schemas.parse_proxy_create(req.body)
        proxy = Proxy(self.ctx, name, listen, upstream)
        await self.collection.add(proxy, enabled)
        return _ok(schemas.proxy_json(proxy), 201)

    async def populate(self, req: Request, v: dict[str, str]) -> Response:
        try:
            entries = schemas.parse_populate(req.body)
        except ApiError as err:
            return self._populated([], err)
        done, err = await self.collection.populate(entries)
        return self._populated(done, err)

    @staticmethod
    def _populated(proxies: list[Proxy], err: ApiError | None) -> Response:
        listed = "[" + ",".join(schemas.proxy_json(p) for p in proxies) + "]" if proxies else "null"
        if err is None:
            return _ok(f'{{"proxies":{listed}}}', 201)
        return _ok(f'{{"error":{dumps_str(err.message)},"status":{err.status},"proxies":{listed}}}', err.status)

    async def proxy_show(self, req: Request, v: dict[str, str]) -> Response:
        return _ok(schemas.proxy_json(self.collection.get(v["proxy"])))

    async def proxy_update(self, req: Request, v: dict[str, str]) -> Response:
        if req.method == "POST":
            log.debug("POST /proxies/%s is deprecated, use PATCH", v["proxy"])
        async with self.collection.locked(v["proxy"]) as proxy:
            listen, upstream, enabled = schemas.parse_proxy_update(req.body, proxy)
            await proxy.update(listen=listen, upstream=upstream, enabled=enabled)
        return _ok(schemas.proxy_json(proxy))

    async def proxy_delete(self, req: Request, v: dict[str, str]) -> Response:
        await self.collection.remove(v["proxy"])
        return Response(204)

    async def reset(self, req: Request, v: dict[str, str]) -> Response:
        await self.collection.reset()
        return Response(204)

    # ------------------------------------------------------------------ toxics
    async def toxic_index(self, req: Request, v: dict[str, str]) -> Response:
        proxy = self.collection.get(v["proxy"])
        return _ok("[" + ",".join(schemas.toxic_json(w) for w in proxy.toxics.all()) + "]")

    async def toxic_create(self, req: Request, v: dict[str, str]) -> Response:
        async with self.collection.locked(v["proxy"]) as proxy:
            w = schemas.parse_toxic_create(req.body, proxy.toxics)
            await proxy.toxics.add(w)
        return _ok(schemas.toxic_json(w))

    def _toxic(self, v: dict[str, str]):
        proxy = self.collection.get(v["proxy"])
        w = proxy.toxics.find(v["toxic"])
        if w is None:
            raise ERR_TOXIC_NOT_FOUND
        return proxy, w

    async def toxic_show(self, req: Request, v: dict[str, str]) -> Response:
        _, w = self._toxic(v)
        return _ok(schemas.toxic_json(w))

    async def toxic_update(self, req: Request, v: dict[str, str]) -> Response:
        async with self.collection.locked(v["proxy"]) as proxy:
            _, w = self._toxic(v)
            toxic, toxicity = schemas.parse_toxic_update(req.body, w)
            await proxy.toxics.update(w, toxic, toxicity)
        return _ok(schemas.toxic_json(w))

    async def toxic_delete(self, req: Request, v: dict[str, str]) -> Response:
        async with self.collection.locked(v["proxy"]) as proxy:
            _, w = self._toxic(v)
            await proxy.toxics.remove(w)
        return Response(204)

    # ------------------------------------------------------------------ misc
    async def version(self, req: Request, v: dict[str, str]) -> Response:
        body = f'{{"version": "{VERSION}"}}\n'.encode()
        return Response(200, body, [("Content-Type", "application/json;charset=utf-8")])

    async def metrics(self, req: Request, v: dict[str, str]) -> Response:
        return Response(200, self.ctx.metrics.render().encode(), [("Content-Type", METRICS_CONTENT_TYPE)])
