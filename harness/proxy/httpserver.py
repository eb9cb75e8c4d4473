"""A small HTTP/1.1 server on asyncio streams: keep-alive, pipelining, hard limits.

Enough HTTP for a JSON control API, and strict where Go's ``net/http`` is strict
(missing ``Host`` on HTTP/1.1, bad escapes, bad ``Content-Length``), so that any
malformed request gets a 4xx and never a crash. Limits: request head 64 KiB,
body 8 MiB (413), 15 s to read a request, 60 s idle keep-alive, 1 s to drain a
refused request before closing.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from typing import Awaitable, Callable
from urllib.parse import unquote, urlsplit

__all__ = ["Request", "Response", "HttpServer", "MAX_HEAD", "MAX_BODY"]

log = logging.getLogger("harness.proxy.http")

MAX_HEAD = 64 * 1024
MAX_BODY = 8 * 1024 * 1024
MAX_HEADERS = 100
READ_TIMEOUT = 15.0
IDLE_TIMEOUT = 60.0
LINGER_TIMEOUT = 1.0

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_VERSION = re.compile(rb"^HTTP/(\d)\.(\d)$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_DECIMAL = re.compile(r"[0-9]+")
_HEX = re.compile(rb"[0-9A-Fa-f]+")


@dataclass
class Request:
    method: str
    target: str
    path: str  # percent-decoded, as Go's ``URL.Path``
    query: str
    version: tuple[int, int]
    headers: dict[str, str]  # lower-case names; repeated headers joined by ", "
    body: bytes = b""

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    close: bool = False

    def encode(self, *, head_only: bool = False, close: bool = False) -> bytes:
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers]
        lines.append("Date: " + formatdate(time.time(), usegmt=True))
        if self.status != 204 and self.status >= 200:
            lines.append(f"Content-Length: {len(self.body)}")
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        return head if head_only or self.status == 204 else head + self.body


def plain(status: int, text: str) -> Response:
    return Response(
        status,
        text.encode(),
        [("Content-Type", "text/plain; charset=utf-8"), ("X-Content-Type-Options", "nosniff")],
    )


class _Reject(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.response = plain(status, f"{status} {text}")


Handler = Callable[[Request], Awaitable[Response]]


class HttpServer:
    """Serves ``handler`` on ``host:port``; ``port=0`` picks a free port."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.server: asyncio.AbstractServer | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    async def start(self, host: str, port: int) -> tuple[str, int]:
        self.server = await asyncio.start_server(self._serve, host, port, limit=MAX_HEAD, backlog=512)
        addr = self.server.sockets[0].getsockname()
        return addr[0], addr[1]

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for w in list(self._conns):
            w.close()
        if self.server is not None:
            try:
                await asyncio.wait_for(self.server.wait_closed(), 1.0)
            except (asyncio.TimeoutError, Exception):  # pragma: no cover - best effort
                pass

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        try:
            while True:
                try:
                    first = await asyncio.wait_for(self._first_line(reader), IDLE_TIMEOUT)
                    if first is None:
                        return
                    req = await asyncio.wait_for(self._read_request(first, reader, writer), READ_TIMEOUT)
                except _Reject as rej:
                    writer.write(rej.response.encode(close=True))
                    await writer.drain()
                    await _close_gently(reader, writer)
                    return
                resp = await self.handler(req)
                close = resp.close or not _keep_alive(req)
                writer.write(resp.encode(head_only=req.method == "HEAD", close=close))
                await writer.drain()
                if close:
                    return
        except (asyncio.TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
            return
        except asyncio.CancelledError:
            raise
        except Exception:  # pragma: no cover - defensive: never kill the server
            log.exception("HTTP connection failed")
        finally:
            self._conns.discard(writer)
            writer.close()

    @staticmethod
    async def _first_line(reader: asyncio.StreamReader) -> bytes | None:
        for _ in range(8):  # tolerate a few empty lines between requests
            try:
                line = await reader.readuntil(b"\n")
            except asyncio.IncompleteReadError:
                return None
            except asyncio.LimitOverrunError:
                raise _Reject(414, "URI Too Long") from None
            if line.strip(b"\r\n"):
                return line
        raise _Reject(400, "Bad Request")

    async def _read_request(self, first: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Request:
        parts = first.rstrip(b"\r\n").split(b" ")
        if len(parts) != 3 or not _TOKEN.match(parts[0]):
            raise _Reject(400, "Bad Request")
        m = _VERSION.match(parts[2])
        if not m:
            raise _Reject(400, "Bad Request")
        version = (int(m.group(1)), int(m.group(2)))
        if version[0] != 1:
            raise _Reject(505, "HTTP Version Not Supported")
        method = parts[0].decode("ascii")
        path, query = _parse_target(parts[1])
        headers = await _read_headers(reader)
        if version >= (1, 1) and "host" not in headers:
            raise _Reject(400, "Bad Request: missing required Host header")
        req = Request(method, parts[1].decode("latin-1"), path, query, version, headers)
        req.body = await _read_body(req, reader, writer)
        return req


async def _close_gently(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Half-close, then drop what the client is still sending before the full close.

    Why: closing a socket with unread input makes the kernel send an RST, and a client
    still uploading a body it was refused (bad target, 413) may then never read our
    4xx. Go's server does the same (``closeWriteAndWait``). Bounded by
    ``LINGER_TIMEOUT`` and ``2 * MAX_BODY`` bytes; a timeout ends in the caller.
    """
    if writer.can_write_eof():
        writer.write_eof()
    loop = asyncio.get_running_loop()
    end = loop.time() + LINGER_TIMEOUT
    left = 2 * MAX_BODY
    while left > 0 and (data := await asyncio.wait_for(reader.read(65536), max(0.0, end - loop.time()))):
        left -= len(data)


def _parse_target(raw: bytes) -> tuple[str, str]:
    try:
        target = raw.decode("ascii")
    except UnicodeDecodeError:
        raise _Reject(400, "Bad Request") from None
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in target):
        raise _Reject(400, "Bad Request")
    if target.startswith(("http://", "https://")):
        parts = urlsplit(target)
        raw_path, query = parts.path or "/", parts.query
    elif target.startswith("/"):
        raw_path, _, query = target.partition("?")
    else:
        raise _Reject(400, "Bad Request")
    if _BAD_ESCAPE.search(raw_path):
        raise _Reject(400, "Bad Request")
    return unquote(raw_path, errors="replace"), query


async def _read_headers(reader: asyncio.StreamReader) -> dict[str, str]:
    headers: dict[str, str] = {}
    total = 0
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise _Reject(431, "Request Header Fields Too Large") from None
        total += len(line)
        if total > MAX_HEAD or len(headers) > MAX_HEADERS:
            raise _Reject(431, "Request Header Fields Too Large")
        line = line.rstrip(b"\r\n")
        if not line:
            return headers
        name, sep, value = line.partition(b":")
        if not sep or not _TOKEN.match(name):
            raise _Reject(400, "Bad Request")
        key = name.decode("ascii").lower()
        text = value.strip(b" \t").decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text


async def _read_body(req: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    te = req.header("transfer-encoding").lower()
    cl = req.header("content-length")
    if te:
        if te != "chunked":
            raise _Reject(501, "Not Implemented")
        await _continue(req, writer)
        return await _read_chunked(reader)
    if not cl:
        return b""
    values = {v.strip() for v in cl.split(",")}
    if len(values) != 1:
        raise _Reject(400, "Bad Request")
    value = values.pop()
    # Go: strconv.ParseUint(cl, 10, 63), so more than 19 digits is a 400 (and int()
    # would refuse a 5000-digit header outright).
    digits = value.lstrip("0") or "0"
    if not _DECIMAL.fullmatch(value) or len(digits) > 19 or int(digits) >= 1 << 63:
        raise _Reject(400, "Bad Request")
    n = int(digits)
    if n > MAX_BODY:
        raise _Reject(413, "Request Entity Too Large")
    if n == 0:
        return b""
    await _continue(req, writer)
    return await reader.readexactly(n)


async def _continue(req: Request, writer: asyncio.StreamWriter) -> None:
    if req.header("expect").lower() == "100-continue" and req.version >= (1, 1):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        await writer.drain()


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    body = bytearray()
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.LimitOverrunError:
            raise _Reject(400, "Bad Request") from None
        size_text = line.split(b";", 1)[0].strip()
        if not _HEX.fullmatch(size_text):  # int(_, 16) alone would take "-5", "0x5", "5_0"
            raise _Reject(400, "Bad Request")
        size = int(size_text, 16)
        if len(body) + size > MAX_BODY:
            raise _Reject(413, "Request Entity Too Large")
        if size == 0:
            while True:  # trailers
                t = await reader.readuntil(b"\n")
                if not t.strip(b"\r\n"):
                    return bytes(body)
        body += await reader.readexactly(size)
        if (await reader.readexactly(2)).strip(b"\r\n"):
            raise _Reject(400, "Bad Request")


def _keep_alive(req: Request) -> bool:
    conn = req.header("connection").lower()
    if req.version >= (1, 1):
        return "close" not in conn
    return "keep-alive" in conn
