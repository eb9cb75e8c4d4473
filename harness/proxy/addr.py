"""``host:port`` handling with Go's ``net`` rules and error texts.

Toxiproxy reports the real bound address (``127.0.0.1:0`` -> ``127.0.0.1:46635``,
``localhost:3310`` -> ``127.0.0.1:3310``), compares listen addresses after
``net.ResolveTCPAddr`` and answers bind failures with Go's message, e.g.
``listen tcp 127.0.0.1:3310: bind: address already in use``. Clients compare those
strings, so this module reproduces them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket

from .errors import ApiError

__all__ = [
    "AddrError",
    "split_host_port",
    "parse_port",
    "join_host_port",
    "resolve_tcp",
    "bind_listener",
    "format_sockaddr",
    "is_loopback_host",
]

#: Listen backlog for proxy listeners (Go uses the kernel's somaxconn).
BACKLOG = 4096


class AddrError(Exception):
    """A Go ``net`` error text, e.g. ``address badaddr: missing port in address``."""


def split_host_port(hostport: str) -> tuple[str, str]:
    """Go's ``net.SplitHostPort`` (same error texts)."""

    def fail(why: str) -> AddrError:
        return AddrError(f"address {hostport}: {why}")

    i = hostport.rfind(":")
    if i < 0:
        raise fail("missing port in address")
    j = k = 0
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise fail("missing ']' in address")
        if end + 1 == len(hostport):
            raise fail("missing port in address")
        if end + 1 != i:
            raise fail("too many colons in address" if hostport[end + 1] == ":" else "missing port in address")
        host = hostport[1:end]
        j, k = 1, end + 1
    else:
        host = hostport[:i]
        if ":" in host:
            raise fail("too many colons in address")
    if "[" in hostport[j:]:
        raise fail("unexpected '[' in address")
    if "]" in hostport[k:]:
        raise fail("unexpected ']' in address")
    return host, hostport[i + 1 :]


def parse_port(service: str) -> int:
    """Go's ``parsePort`` + ``LookupPort``: decimal, ``""`` (= 0) or a service name."""
    if service == "":
        return 0
    s, neg = service, False
    if s[0] in "+-":
        neg, s = s[0] == "-", s[1:]
    if s.isdigit() and s.isascii():
        n = int(s)
        n = -n if neg else n
        if n < 0 or n > 0xFFFF:
            raise AddrError(f"address {service}: invalid port")
        return n
    if s == "" and not neg:  # "+" alone
        return 0
    try:
        return socket.getservbyname(service, "tcp")
    except (OSError, UnicodeError, ValueError):
        raise AddrError(f"lookup tcp/{service}: unknown port") from None


def join_host_port(host: str, port: int | str) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _literal_ip(host: str) -> str | None:
    try:
        base, _, zone = host.partition("%")
        ip = ipaddress.ip_address(base)
    except ValueError:
        return None
    text = str(ip)
    return f"{text}%{zone}" if zone else text


async def _lookup(host: str) -> str:
    """First address of ``host``, IPv4 preferred (Go's ``first(isIPv4)``)."""
    ip = _literal_ip(host)
    if ip is not None:
        return ip
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError, ValueError):
        raise AddrError(f"lookup {host}: no such host") from None
    addrs = [info[4][0] for info in infos]
    if not addrs:
        raise AddrError(f"lookup {host}: no such host")
    v4 = [a for a in addrs if ":" not in a]
    return v4[0] if v4 else addrs[0]


def _split_listen(hostport: str) -> tuple[str, str]:
    """``split_host_port``, except that ``""`` is ``":0"``, as in Go's ``net.Listen``.

    Toxiproxy treats a missing ``listen`` as "any address, any port" (spec §2.3);
    without this, ``POST /proxies`` without ``listen`` was a 500.
    """
    return ("", "0") if hostport == "" else split_host_port(hostport)


async def resolve_tcp(hostport: str) -> str:
    """``net.ResolveTCPAddr("tcp", hostport).String()``; raises :class:`AddrError`."""
    host, port_s = _split_listen(hostport)
    port = parse_port(port_s)
    if host == "":
        return f":{port}"
    return join_host_port(await _lookup(host), port)


def format_sockaddr(sockaddr: tuple) -> str:
    """A bound address as Go's ``listener.Addr().String()`` writes it."""
    return join_host_port(sockaddr[0], sockaddr[1])


def is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


def _strerror(code: int | None) -> str:
    text = os.strerror(code) if code else "unknown error"
    return text[:1].lower() + text[1:]


async def bind_listener(listen: str, *, default_host: str) -> tuple[socket.socket, str]:
    """Bind and listen like ``net.Listen("tcp", listen)``.

    An empty host, or an empty ``listen`` (= ``:0``), binds ``default_host`` ("" =
    every interface, dual-stack). Returns the non-blocking listening socket and the
    bound address text. Errors are :class:`ApiError` 500 with Go's text.
    """
    try:
        host, port_s = _split_listen(listen)
        port = parse_port(port_s)
        if host == "":
            host = default_host
        ip = await _lookup(host) if host else "::"
    except AddrError as exc:
        raise ApiError(f"listen tcp: {exc}", 500) from None
    family = socket.AF_INET6 if ":" in ip else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        if host or family == socket.AF_INET:
            raise ApiError(f"listen tcp {join_host_port(ip, port)}: socket: {_strerror(exc.errno)}", 500) from None
        ip, family = "0.0.0.0", socket.AF_INET  # no IPv6 on this host
        sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and ip == "::":
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        try:
            sock.bind((ip.partition("%")[0] if family == socket.AF_INET else ip, port))
        except OSError as exc:
            shown = join_host_port(ip, port) if host else f":{port}"
            raise ApiError(f"listen tcp {shown}: bind: {_strerror(exc.errno)}", 500) from None
        except (OverflowError, ValueError, UnicodeError) as exc:
            raise ApiError(f"listen tcp {join_host_port(ip, port)}: {exc}", 500) from None
        sock.listen(BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock, format_sockaddr(sock.getsockname())

