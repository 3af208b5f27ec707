"""Where a fetch may connect, and a wall-clock deadline no trickling server can stretch.

Feeds and the pages they link to are chosen by whoever can subscribe or ingest a URL, so a fetch
must not become a way into the machine or its network. :class:`ConnectGuard` is the network layer
under every connection the :class:`~assistant.live.fetch.Fetcher` opens (the first request and
each redirect hop): it resolves the host name once, checks every address it got, and connects to
an address it checked, so a name that resolves inside (or a DNS answer that changes between a check
and the connection) never reaches an internal address. Refused unless the operator allows them
(``ASSISTANT_FETCH_ALLOW``): loopback, private, link-local (cloud metadata at 169.254.169.254),
unique-local, unspecified, multicast and reserved addresses, and the IPv6 forms that carry an IPv4
address (``::ffff:127.0.0.1``, 6to4, Teredo). Spellings such as ``2130706433`` or ``0177.0.0.1``
resolve to the address they name and are judged as that address.

Each read and write on a connection is cut short at the deadline the fetch set
(:meth:`ConnectGuard.deadline_at`), so a server sending one header byte every few seconds is
cut off at the deadline, not kept alive by each byte.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import socket
import threading
import time
import typing
from collections.abc import Iterable
from contextlib import contextmanager

import httpcore

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class AddressRefused(Exception):
    """A connection the guard would not open; ``reason`` says why in words."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def parse_allow(entries: str | Iterable[str]) -> tuple[tuple[str, ...], tuple[Network, ...]]:
    """(host names, networks) from ``ASSISTANT_FETCH_ALLOW``-style text: comma-separated host names,
    addresses or CIDR networks. Raises ValueError naming an entry that is none of these."""
    if isinstance(entries, str):
        entries = entries.split(",")
    hosts, networks = [], []
    for raw in entries:
        entry = raw.strip().lower()
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            continue
        except ValueError:
            pass
        if "/" in entry or ":" in entry or not all(part and len(part) <= 63 and part.replace("-", "").replace("_", "").isalnum()
                                                   for part in entry.rstrip(".").split(".")):
            raise ValueError(f"{raw.strip()!r} is not a host name, an IP address or a network such as 10.1.0.0/16")
        hosts.append(entry.rstrip("."))
    return tuple(hosts), tuple(networks)


def why_internal(address: Address) -> str | None:
    """What kind of non-public address ``address`` is ("loopback", "private"…), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        for embedded in (address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]):
            if embedded is not None:
                inner = why_internal(embedded)
                if inner:
                    return f"{inner}, an IPv4 address inside an IPv6 one"
        if address.scope_id:
            return "link-local"
    for kind, test in (("unspecified", "is_unspecified"), ("loopback", "is_loopback"), ("link-local", "is_link_local"),
                       ("multicast", "is_multicast"), ("unique-local" if address.version == 6 else "private", "is_private"),
                       ("reserved", "is_reserved")):
        if getattr(address, test):
            return kind
    if address.version == 6 and address in ipaddress.ip_network("fc00::/7"):
        return "unique-local"
    if not address.is_global:
        return "not public"
    return None


class ConnectGuard:
    """The address policy and the per-fetch deadline, shared by one Fetcher's connections."""

    def __init__(self, allow: str | Iterable[str] = ()):
        self.allowed_hosts, self.allowed_networks = parse_allow(allow)
        self._local = threading.local()

    # --- addresses ---------------------------------------------------------------------------
    def refusal(self, host: str, address: Address) -> str | None:
        """Why a connection to ``address`` (resolved from ``host``) is refused, or None when allowed."""
        if host.lower().rstrip(".") in self.allowed_hosts or any(address in net for net in self.allowed_networks
                                                                 if net.version == address.version):
            return None
        kind = why_internal(address)
        if kind is None:
            return None
        named = f"{host} is {address}," if _literal(host) is None else f"{address} is"
        return (f"refused: {named} not a public address ({kind}); fetches do not reach inside this machine "
                f"or its network unless an operator allows it with ASSISTANT_FETCH_ALLOW")

    def resolve(self, host: str, port: int) -> list[Address]:
        """The addresses ``host`` stands for, literal or looked up (refused if none is usable)."""
        literal = _literal(host)
        if literal is not None:
            return [literal]
        left = self.time_left(None)
        try:
            if left is None:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            else:  # a resolver that does not answer must not outlive the fetch's deadline either
                infos = _resolver().submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM).result(left)
        except (socket.gaierror, UnicodeError) as error:
            raise httpcore.ConnectError(f"name or service not known: {host} ({error})") from None
        except concurrent.futures.TimeoutError:
            raise httpcore.ConnectTimeout(f"looking up {host} took longer than the deadline") from None
        found: list[Address] = []
        for _family, _type, _proto, _name, sockaddr in infos:
            text = str(sockaddr[0]).split("%")[0]
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address not in found:
                found.append(address)
        return found

    def pick(self, host: str, port: int) -> Address:
        """The first address of ``host`` the policy allows; AddressRefused naming the first refused one."""
        addresses = self.resolve(host, port)
        refusals = [(address, self.refusal(host, address)) for address in addresses]
        for address, reason in refusals:
            if reason is None:
                return address
        if not refusals:
            raise httpcore.ConnectError(f"name or service not known: {host}")
        raise AddressRefused(refusals[0][1])

    # --- the deadline ------------------------------------------------------------------------
    @contextmanager
    def deadline_at(self, deadline: float):
        """Every connection operation of this thread ends by ``deadline`` (``time.monotonic()``)."""
        previous = getattr(self._local, "deadline", None)
        self._local.deadline = deadline
        try:
            yield
        finally:
            self._local.deadline = previous

    def time_left(self, timeout: float | None) -> float | None:
        deadline = getattr(self._local, "deadline", None)
        if deadline is None:
            return timeout
        left = deadline - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the fetch's deadline passed")
        return left if timeout is None else min(timeout, left)

    def backend(self) -> httpcore.NetworkBackend:
        return _GuardedBackend(self)


_RESOLVER: concurrent.futures.ThreadPoolExecutor | None = None
_RESOLVER_LOCK = threading.Lock()


def _resolver() -> concurrent.futures.ThreadPoolExecutor:
    global _RESOLVER
    with _RESOLVER_LOCK:
        if _RESOLVER is None:
            _RESOLVER = concurrent.futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="fetch-dns")
        return _RESOLVER


def _literal(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%")[0])
    except ValueError:
        return None


class _GuardedBackend(httpcore.NetworkBackend):
    def __init__(self, guard: ConnectGuard):
        self.guard = guard
        self.inner = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: typing.Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        address = self.guard.pick(host, port)  # the address checked is the address connected to
        stream = self.inner.connect_tcp(str(address), port, self.guard.time_left(timeout), local_address,
                                        socket_options)
        return _DeadlineStream(stream, self.guard)

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover - never used
        raise AddressRefused("refused: fetches do not use local sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream, guard: ConnectGuard):
        self.inner, self.guard = inner, guard

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, self.guard.time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, self.guard.time_left(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context, server_hostname: str | None = None, timeout: float | None = None):
        return _DeadlineStream(self.inner.start_tls(ssl_context, server_hostname, self.guard.time_left(timeout)),
                               self.guard)

    def get_extra_info(self, info: str) -> typing.Any:
        return self.inner.get_extra_info(info)
