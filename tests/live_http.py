"""A small HTTP site on 127.0.0.1 for tests: routes you register, and a log of what was asked.

Usage (any test module; ``tests/`` is on ``sys.path``)::

    from live_http import LocalSite

    @pytest.fixture
    def site():
        with LocalSite() as site:
            yield site

    def test_something(site):
        site.add("/feed.xml", FEED_BYTES, content_type="application/rss+xml", etag='"v1"')
        site.redirect("/old", "/feed.xml")            # relative Location; or site.url("/feed.xml")
        site.add("/gone", b"gone", status=404)
        site.add("/slow", b"late", delay=2.0)           # waits before the status line
        site.add("/drip", b"x" * 10, chunk_size=1, chunk_delay=0.2)  # headers at once, body trickles
        site.add("/big", b"x" * 6_000_000, content_length=False)     # no Content-Length: read to close
        ... fetch site.url("/feed.xml") ...
        request = site.requests_for("/feed.xml")[-1]
        assert request.headers["user-agent"].startswith("news-assistant/")

What a route does:

- answers ``body`` with ``status``, ``content_type`` and any extra ``headers``;
- with ``etag`` and/or ``last_modified`` it sends them, and answers ``304 Not Modified`` (no body)
  when the request's ``If-None-Match`` holds that ETag (or ``*``), or its ``If-Modified-Since``
  is that exact ``Last-Modified`` value;
- ``delay`` seconds of silence before the status line, ``chunk_delay`` seconds between body
  chunks of ``chunk_size`` bytes; both end at once when the site stops, so a test never waits
  for a slow route to finish;
- ``gzip=True`` sends the body gzip-compressed (``Content-Encoding: gzip``).

Paths are matched exactly, query string included when the route has one, else without it.
Unknown paths answer 404. Every request is logged (method, path, headers with lower-case names,
``time.monotonic()`` when it arrived) before it is answered. The server speaks HTTP/1.0 (one
request per connection), which is enough for clients and lets bodies end at the close.
"""

from __future__ import annotations

import gzip as gzip_module
import http.server
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["LocalSite", "Request", "Route"]


@dataclass(frozen=True)
class Request:
    """One request as the site received it. ``headers`` keys are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    at: float  # time.monotonic() on arrival


@dataclass
class Route:
    """What one path answers; see the module docstring."""

    body: bytes = b""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    chunk_size: int = 64 * 1024
    chunk_delay: float = 0.0
    content_length: bool = True
    gzip: bool = False


Handler = Callable[[Request], Route]


class LocalSite:
    """An HTTP server on ``127.0.0.1`` (a free port), serving registered routes in threads.

    ``with LocalSite() as site:`` starts it and stops it. ``site.url(path)`` is the absolute
    URL of a path; ``site.requests`` the log, oldest first.
    """

    def __init__(self) -> None:
        self._routes: dict[str, Route | Handler] = {}
        self._log: list[Request] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _make_handler(self))
        self.port: int = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"local-site-{self.port}", daemon=True)

    # --- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> LocalSite:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()  # slow routes give up at once
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    # --- routes ------------------------------------------------------------------------------

    def url(self, path: str = "/") -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str = b"", **options) -> str:
        """Register ``path`` (keyword options are :class:`Route` fields); returns its URL."""
        if isinstance(body, str):
            body = body.encode("utf-8")
        self._routes[path] = Route(body=body, **options)
        return self.url(path)

    def add_handler(self, path: str, handler: Handler) -> str:
        """Register a function that builds the :class:`Route` for each request; returns the URL."""
        self._routes[path] = handler
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """``path`` answers ``status`` with ``Location: location`` (sent as given, relative or not)."""
        return self.add(path, b"", status=status, content_type=None, headers={"Location": location})

    # --- log ---------------------------------------------------------------------------------

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._log)

    def requests_for(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path or r.path.split("?")[0] == path]

    # --- serving (called by the handler threads) ---------------------------------------------

    def _answer(self, request: Request) -> Route:
        with self._lock:
            self._log.append(request)
        route = self._routes.get(request.path) or self._routes.get(urlsplit(request.path).path)
        if route is None:
            return Route(body=b"Not Found", status=404, content_type="text/plain")
        return route(request) if callable(route) else route

    def _wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False when the site is stopping."""
        return not self._stopping.wait(seconds) if seconds > 0 else not self._stopping.is_set()


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request, client_address) -> None:
        pass  # clients that hang up early (size limits, timeouts) are expected here


def _make_handler(site: LocalSite) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"
        server_version = "LocalSite/1"

        def do_GET(self) -> None:
            self._serve(send_body=True)

        def do_HEAD(self) -> None:
            self._serve(send_body=False)

        def _serve(self, send_body: bool) -> None:
            request = Request(method=self.command, path=self.path,
                              headers={k.lower(): v for k, v in self.headers.items()}, at=time.monotonic())
            route = site._answer(request)
            if not site._wait(route.delay):
                return
            if _not_modified(route, request.headers):
                self.send_response(304)
                self._validators(route)
                self.end_headers()
                return
            body = gzip_module.compress(route.body) if route.gzip else route.body
            self.send_response(route.status)
            if route.content_type:
                self.send_header("Content-Type", route.content_type)
            if route.gzip:
                self.send_header("Content-Encoding", "gzip")
            if route.content_length:
                self.send_header("Content-Length", str(len(body)))
            self._validators(route)
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            if not send_body:
                return
            for start in range(0, len(body), route.chunk_size):
                if start and not site._wait(route.chunk_delay):
                    return
                self.wfile.write(body[start:start + route.chunk_size])
                self.wfile.flush()

        def _validators(self, route: Route) -> None:
            if route.etag:
                self.send_header("ETag", route.etag)
            if route.last_modified:
                self.send_header("Last-Modified", route.last_modified)

        def log_message(self, format, *args) -> None:
            pass  # the site keeps its own log

    return Handler


def _not_modified(route: Route, headers: dict[str, str]) -> bool:
    if route.status != 200:
        return False
    if route.etag and "if-none-match" in headers:
        tags = [t.strip() for t in headers["if-none-match"].split(",")]
        return "*" in tags or route.etag in tags
    if route.last_modified and "if-modified-since" in headers:
        return headers["if-modified-since"].strip() == route.last_modified
    return False
