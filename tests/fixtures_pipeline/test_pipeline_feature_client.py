"""feature_client.KeepAliveClient against tiny asyncio servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable

import pytest

from . import conftest  # noqa: F401  (puts fixtures/pipeline on sys.path)

from feature_client import FeatureTransportError, HttpxClient, KeepAliveClient, make_client  # noqa: E402

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def serve(handler: Handler, body: Callable[[str], Awaitable[None]]) -> None:
    """Run ``body(base_url)`` against a server calling ``handler`` per connection."""
    async def main() -> None:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await asyncio.wait_for(body(f"http://127.0.0.1:{port}"), timeout=10)
        finally:
            server.close()
            await server.wait_closed()
    asyncio.run(main())


async def read_request(reader: asyncio.StreamReader) -> bytes | None:
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None


def responder(*responses: bytes, close_after: bool = False) -> tuple[Handler, list[bytes]]:
    seen: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for response in responses:
            request = await read_request(reader)
            if request is None:
                break
            seen.append(request)
            writer.write(response)
            await writer.drain()
            if close_after:
                break
        writer.close()

    return handler, seen


def test_keep_alive_reuses_one_connection() -> None:
    ok = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}"
    handler, seen = responder(ok, ok, ok)

    async def body(url: str) -> None:
        client = KeepAliveClient(url + "/prefix")
        for _ in range(3):
            assert await client.get("/features/1") == (200, b"{}")
        assert client.connects == 1
        await client.aclose()

    serve(handler, body)
    assert seen[0].startswith(b"GET /prefix/features/1 HTTP/1.1\r\nHost: 127.0.0.1:")


def test_chunked_and_close_delimited_bodies() -> None:
    chunked = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n"
    to_close = b"HTTP/1.0 404 Not Found\r\n\r\nnot here"
    handler, _ = responder(chunked, to_close)

    async def body(url: str) -> None:
        client = KeepAliveClient(url)
        assert await client.get("/a") == (200, b"abcde")
        assert await client.get("/b") == (404, b"not here")
        assert client.connects == 1
        await client.aclose()

    serve(handler, body)


def test_stale_pooled_connection_is_replaced() -> None:
    # The server answers once per connection and closes without saying so.
    handler, seen = responder(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx", close_after=True)

    async def body(url: str) -> None:
        client = KeepAliveClient(url)
        for _ in range(3):
            assert await client.get("/") == (200, b"x")
            await asyncio.sleep(0.05)
        assert client.connects == 3
        await client.aclose()

    serve(handler, body)
    assert len(seen) == 3


@pytest.mark.parametrize("response", [
    b"garbage\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"",
])
def test_broken_answers_are_transport_errors(response: bytes) -> None:
    handler, _ = responder(response, close_after=True)

    async def body(url: str) -> None:
        client = KeepAliveClient(url)
        with pytest.raises(FeatureTransportError):
            await client.get("/")
        assert client._idle == []

    serve(handler, body)


def test_refused_connection_is_a_transport_error() -> None:
    async def body() -> None:
        import socket
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with pytest.raises(FeatureTransportError):
            await KeepAliveClient(f"http://127.0.0.1:{port}").get("/")
    asyncio.run(body())


def test_cancelled_call_drops_its_connection() -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await asyncio.sleep(5)
        writer.close()

    async def body(url: str) -> None:
        client = KeepAliveClient(url)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.get("/")
        assert client._idle == []

    serve(silent, body)


def test_make_client() -> None:
    assert isinstance(make_client("keepalive", "http://127.0.0.1:1", 0.1), KeepAliveClient)
    assert isinstance(make_client("httpx", "http://127.0.0.1:1", 0.1), HttpxClient)
    with pytest.raises(ValueError):
        make_client("curl", "http://127.0.0.1:1", 0.1)
