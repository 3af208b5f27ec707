"""Polite HTTP for feeds and article pages: one :class:`Fetcher` per run, one call per URL.

Every connection (the first and each redirect hop) goes to an address the
:class:`~assistant.live.guard.ConnectGuard` checked: nothing inside this machine or its network
unless :attr:`FetchPolicy.allow` (``ASSISTANT_FETCH_ALLOW``) names it. Every fetch is bounded: a
wall-clock deadline for the whole fetch (:attr:`FetchPolicy.timeout`: connecting, the headers,
each redirect and the body; every socket read and write is shortened to the time left), response
headers of at most 100 KB (httpcore's limit), a size limit on the decoded body (checked against ``Content-Length`` first, then while
reading and while decompressing, so neither a large page nor a compression bomb is ever held
whole), at most :attr:`FetchPolicy.max_redirects` redirects, each to an http(s) URL. Requests
to one host are spaced by :attr:`FetchPolicy.host_delay` seconds (start to start), across
threads. Conditional requests (``If-None-Match`` / ``If-Modified-Since``) give a
:class:`Fetched` with ``not_modified`` and no body when the server answers 304.

Anything that goes wrong is a :class:`FetchError` whose ``reason`` says what happened in
words ("HTTP 404 Not Found", "timed out after 10 s"…), never an httpx traceback.
"""

from __future__ import annotations

import threading
import time
import zlib
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

from assistant.errors import AssistantError
from assistant.live.guard import AddressRefused, ConnectGuard, parse_allow

DEFAULT_ACCEPT = ("application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
                  "text/html;q=0.8, application/xhtml+xml;q=0.8, */*;q=0.5")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Decoded here, within the size limit; other encodings are not asked for.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass(frozen=True)
class FetchPolicy:
    """How a :class:`Fetcher` behaves towards servers and what it accepts from them."""

    timeout: float = 10.0  # seconds for one whole response (connect + read), enforced as a deadline while streaming
    max_bytes: int = 5 * 2**20  # body larger than this -> FetchError (stop reading, don't buffer it all)
    host_delay: float = 1.0  # minimum seconds between two requests to the same host (per Fetcher, thread-safe)
    max_redirects: int = 5
    user_agent: str = "news-assistant/0.1 (feed reader; +https://pypi.org/project/news-assistant/)"
    allow: tuple[str, ...] = ()  # hosts and networks inside that may be fetched (ASSISTANT_FETCH_ALLOW entries)

    def __post_init__(self) -> None:
        if isinstance(self.allow, str):
            object.__setattr__(self, "allow", tuple(e.strip() for e in self.allow.split(",") if e.strip()))
        parse_allow(self.allow)  # a malformed entry is refused here, naming it
        for name in ("timeout", "host_delay"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or value != value:
                raise ValueError(f"FetchPolicy.{name} must be a number of seconds >= 0, not {value!r}")
        if self.timeout == 0:
            raise ValueError("FetchPolicy.timeout must be more than 0 seconds")
        for name in ("max_bytes", "max_redirects"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"FetchPolicy.{name} must be a whole number >= 0, not {value!r}")
        if not self.user_agent.strip() or any(c in self.user_agent for c in "\r\n"):
            raise ValueError(f"FetchPolicy.user_agent must be one non-empty line, not {self.user_agent!r}")


@dataclass(frozen=True)
class Fetched:
    """A response: 2xx with its body, or 304 (``not_modified``) with ``body == b""``."""

    url: str  # as asked
    final_url: str  # after redirects
    status: int  # 200 (any 2xx) or 304
    body: bytes  # b"" on 304
    content_type: str  # media type lowercased, no parameters ("" when absent)
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class FetchError(AssistantError):
    """A URL could not be fetched; ``reason`` says why in words."""

    def __init__(self, url: str, reason: str):
        self.url, self.reason = url, reason
        super().__init__(f"{url}: {reason}")


class Fetcher:
    """Fetches URLs under a :class:`FetchPolicy`; safe to share between threads.

    ``transport`` is handed to the ``httpx.Client`` (e.g. ``httpx.MockTransport`` in tests of
    other modules); by default the client makes real connections, each through the guard.
    Proxy settings in the environment are not used: a proxy would connect where the guard cannot see.
    """

    def __init__(self, policy: FetchPolicy = FetchPolicy(), *, transport: httpx.BaseTransport | None = None):
        self.policy = policy
        self.guard = ConnectGuard(policy.allow)
        self._client = httpx.Client(
            transport=transport or _GuardedTransport(self.guard),
            trust_env=False,
            follow_redirects=False,
            headers={"User-Agent": policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            timeout=policy.timeout,
        )
        self._slots: dict[str, float] = {}  # host -> earliest start of its next request
        self._slots_lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
              accept: str = DEFAULT_ACCEPT) -> Fetched:
        """GET ``url``, following redirects; raises :class:`FetchError` for anything but 2xx/304."""
        _check_web_url(url, url)
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        current, deadline = url, None
        for _ in range(self.policy.max_redirects + 1):
            self._wait_for_host(current)
            # One deadline for the whole fetch, redirects included (it starts after the first polite wait).
            deadline = deadline or time.monotonic() + self.policy.timeout
            fetched, location = self._one_response(url, current, headers, deadline)
            if location is None:
                assert fetched is not None
                if fetched.not_modified:  # a 304 need not repeat the validators
                    fetched = _with_validators(fetched, etag, last_modified)
                return fetched
            current = location
        raise FetchError(url, f"too many redirects (more than {self.policy.max_redirects})")

    # --- one request -------------------------------------------------------------------------

    def _one_response(self, asked: str, current: str, headers: dict[str, str],
                      deadline: float) -> tuple[Fetched | None, str | None]:
        """(The response, None), or (None, the absolute URL a redirect points to)."""
        try:
            if time.monotonic() >= deadline:
                raise httpx.ReadTimeout("the fetch's deadline passed")
            with self.guard.deadline_at(deadline):
                return self._respond(asked, current, headers, deadline)
        except AddressRefused as refused:
            where = "" if current == asked else f"redirect to {current[:200]!r}: "
            raise FetchError(asked, where + refused.reason) from None
        except httpx.TimeoutException:
            raise FetchError(asked, f"timed out after {self.policy.timeout:g} s") from None
        except httpx.HTTPError as error:
            raise FetchError(asked, _transport_reason(error, current)) from None
        except (httpx.InvalidURL, UnicodeError):
            raise FetchError(asked, "not an http(s) URL") from None

    def _respond(self, asked: str, current: str, headers: dict[str, str],
                 deadline: float) -> tuple[Fetched | None, str | None]:
        request = self._client.build_request("GET", current, headers=headers, timeout=self.policy.timeout)
        timeouts = request.extensions["timeout"]

        def shorten(_event: str, _info: dict) -> None:
            # httpcore calls this before each step and reads ``timeouts`` before each socket
            # operation: connecting, sending and waiting for the headers share one deadline.
            _shorten(timeouts, deadline)

        request.extensions["trace"] = shorten
        response = self._client.send(request, stream=True)
        try:
            status = response.status_code
            if status in REDIRECT_STATUSES:
                return None, self._redirect_target(asked, current, response)
            if status != 304 and not 200 <= status < 300:
                raise FetchError(asked, f"HTTP {status} {_phrase(response)}".rstrip())
            body = b"" if status == 304 else self._read_body(asked, response, timeouts, deadline)
            return self._fetched(asked, current, response, body), None
        finally:
            response.close()

    def _redirect_target(self, asked: str, current: str, response: httpx.Response) -> str:
        location = response.headers.get("location", "").strip()
        if not location:
            raise FetchError(asked, f"HTTP {response.status_code} {_phrase(response)} without a Location header")
        try:
            target = urljoin(current, location)
        except ValueError:
            raise FetchError(asked, f"redirect to a malformed URL: {location[:200]!r}") from None
        _check_web_url(target, asked, what=f"redirect to {target[:200]!r}: ")
        return target

    def _read_body(self, asked: str, response: httpx.Response, timeouts: dict, deadline: float) -> bytes:
        limit = self.policy.max_bytes
        declared = response.headers.get("content-length", "").strip()
        if declared.isdigit() and int(declared) > limit:
            raise FetchError(asked, f"larger than the {_size(limit)} limit ({_size(int(declared))} announced)")
        decoder = _BoundedDecoder(response.headers.get("content-encoding", ""), limit, asked)
        for raw in response.iter_raw():  # as the socket gives it (a chunk size would buffer)
            decoder.feed(raw)
            if time.monotonic() >= deadline:
                raise FetchError(asked, f"timed out after {self.policy.timeout:g} s")
            _shorten(timeouts, deadline)  # a server trickling its body cannot stretch the deadline
        return decoder.finish()

    def _fetched(self, asked: str, final: str, response: httpx.Response, body: bytes) -> Fetched:
        media, charset = _content_type(response.headers.get("content-type", ""))
        return Fetched(url=asked, final_url=final, status=response.status_code, body=body, content_type=media,
                       charset=charset, etag=_header(response, "etag"),
                       last_modified=_header(response, "last-modified"))

    def _wait_for_host(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        with self._slots_lock:  # reserve the next free slot for this host, then sleep outside the lock
            now = time.monotonic()
            start = max(now, self._slots.get(host, now))
            self._slots[host] = start + self.policy.host_delay
        if start > now:
            time.sleep(start - now)


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, its connections opened through ``guard`` (addresses checked, deadline kept)."""

    def __init__(self, guard: ConnectGuard):
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(trust_env=False),
                                             max_connections=20, max_keepalive_connections=10, keepalive_expiry=5.0,
                                             network_backend=guard.backend())


class _BoundedDecoder:
    """Decodes ``Content-Encoding`` (identity, gzip, deflate), never holding more than ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int, url: str):
        self.limit, self.url = limit, url
        codings = [c.strip().lower() for c in encoding.split(",") if c.strip() and c.strip().lower() != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise FetchError(url, f"unsupported content encoding {encoding.strip()[:50]!r} (gzip and deflate are)")
        self.coding = codings[0] if codings else ""
        self.inflater = zlib.decompressobj(47 if self.coding in ("gzip", "x-gzip") else zlib.MAX_WBITS)
        self.first_deflate = self.coding == "deflate"
        self.parts: list[bytes] = []
        self.size = 0

    def feed(self, raw: bytes) -> None:
        if not self.coding:
            self._keep(raw)
            return
        if self.first_deflate and raw:
            self.first_deflate = False
            if raw[0] & 0x0F != 8:  # "deflate" sent raw, without the zlib header (old IIS)
                self.inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        data = raw
        while data:
            try:
                out = self.inflater.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                raise FetchError(self.url, f"the {self.coding}-compressed body is corrupt") from None
            self._keep(out)
            data = self.inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self.coding:
            try:
                self._keep(self.inflater.flush())
            except zlib.error:
                raise FetchError(self.url, f"the {self.coding}-compressed body is corrupt") from None
        return b"".join(self.parts)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(self.url, f"larger than the {_size(self.limit)} limit")
        if data:
            self.parts.append(data)


def _check_web_url(url: object, asked: str, what: str = "") -> None:
    if not isinstance(url, str) or any(ord(c) <= 32 or c == "\x7f" for c in url):
        raise FetchError(str(asked), f"{what}not an http(s) URL")
    try:
        parts = urlsplit(url)
        ok = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        ok = False
    if not ok:
        raise FetchError(asked, f"{what}not an http(s) URL")


def _shorten(timeouts: dict, deadline: float) -> None:
    left = max(deadline - time.monotonic(), 0.001)
    for name in ("connect", "read", "write", "pool"):
        timeouts[name] = left


def _with_validators(fetched: Fetched, etag: str | None, last_modified: str | None) -> Fetched:
    return Fetched(url=fetched.url, final_url=fetched.final_url, status=fetched.status, body=fetched.body,
                   content_type=fetched.content_type, charset=fetched.charset, etag=fetched.etag or etag,
                   last_modified=fetched.last_modified or last_modified)


def _content_type(value: str) -> tuple[str, str | None]:
    if not value.strip():
        return "", None
    message = Message()
    message["content-type"] = value
    media = value.split(";")[0].strip().lower()[:100]
    charset = message.get_param("charset")
    charset = charset.strip().strip('"').lower() if isinstance(charset, str) and charset.strip() else None
    return media, charset


def _header(response: httpx.Response, name: str) -> str | None:
    value = response.headers.get(name, "").strip()
    return value[:1000] or None


def _phrase(response: httpx.Response) -> str:
    if response.reason_phrase:
        return response.reason_phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


def _transport_reason(error: httpx.HTTPError, url: str) -> str:
    text = str(error).lower()
    host = urlsplit(url).hostname or url
    if isinstance(error, httpx.ConnectError):
        if "refused" in text:
            return "connection refused"
        if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text \
                or "no address associated" in text or "temporary failure in name resolution" in text:
            return f"host not found ({host})"
        if "ssl" in text or "certificate" in text:
            return "secure connection failed (TLS certificate or handshake)"
        return "could not connect"
    if isinstance(error, httpx.RemoteProtocolError) and "too long" in text:
        return "response headers larger than 100 KB"
    if isinstance(error, httpx.RemoteProtocolError):
        return "the server broke the HTTP protocol or closed the connection early"
    if isinstance(error, (httpx.ReadError, httpx.WriteError)):
        return "connection lost"
    if isinstance(error, httpx.UnsupportedProtocol):
        return "not an http(s) URL"
    return f"request failed ({type(error).__name__})"


def _size(n: int) -> str:
    if n >= 2**20:
        return f"{n / 2**20:.3g} MB"
    if n >= 2**10:
        return f"{n / 2**10:.3g} KB"
    return f"{n:,} bytes"
