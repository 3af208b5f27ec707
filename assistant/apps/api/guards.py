"""What every request passes first: the API key (when one is set, with failed checks throttled),
the refusal of cross-site writes, and the upload caps (the API's and the web chat's uploads)."""

from __future__ import annotations

import hmac
import re
import threading
import time
from collections import deque

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.apps.api.errors import ApiError, error_response

KEY_HINT = "send it in the X-API-Key header or as 'Authorization: Bearer <key>'"


class Throttle:
    """Failed attempts (logins, API key checks) slow down after a few: per ``who`` (a client's
    address, or one shared name), the ``free`` failures in the last ``window`` seconds cost nothing;
    each one past them makes the next attempt wait ``step`` seconds more, up to ``longest``."""

    def __init__(self, free: int = 5, window: float = 60.0, step: float = 0.5, longest: float = 5.0,
                 clock=time.monotonic, sleep=time.sleep):
        self.free, self.window, self.step, self.longest = free, window, step, longest
        self.clock, self.sleep = clock, sleep
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def wait_for(self, who: str) -> float:
        """Seconds ``who`` must wait before its next attempt is looked at (0: at once)."""
        with self._lock:
            recent = self._failures.get(who)
            if not recent:
                return 0.0
            now = self.clock()
            while recent and now - recent[0] > self.window:
                recent.popleft()
            over = len(recent) - self.free
            if over < 0:
                return 0.0
            return max(0.0, min(self.step * (over + 1), self.longest) - (now - recent[-1]))

    def failed(self, who: str) -> None:
        with self._lock:
            self._failures.setdefault(who, deque(maxlen=1000)).append(self.clock())
            if len(self._failures) > 10_000:  # many addresses: forget the oldest
                self._failures.pop(next(iter(self._failures)))

    def check(self, who: str, attempt) -> bool:
        """Wait as long as ``who`` must, then ``attempt()``; a False result counts as a failure."""
        delay = self.wait_for(who)
        if delay:
            self.sleep(delay)
        ok = bool(attempt())
        if not ok:
            self.failed(who)
        return ok


def password_check(key: str, throttle: Throttle | None = None):
    """The web chat's login check (any user name, the API key as password), slowed down after a few
    failures (Gradio does not tell the check who is asking: all logins share one throttle)."""
    throttle = throttle or Throttle()
    expected = key.encode()
    return lambda _user, password: throttle.check("login", lambda: hmac.compare_digest(
        str(password).encode(), expected))


def api_key_dependency(settings, throttle: Throttle | None = None):
    """A FastAPI dependency checking the API key, or None when no key is configured. After a few
    wrong keys from one address, that address gets 429 with ``Retry-After`` until it may try again."""
    if settings.api_key is None:
        return None
    throttle = throttle or Throttle()
    expected = settings.api_key.get_secret_value().encode()
    header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's ASSISTANT_API_KEY.")
    bearer = HTTPBearer(auto_error=False, description="The server's ASSISTANT_API_KEY as a bearer token.")

    def require_api_key(request: Request, x_api_key: str | None = Security(header),
                        credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        given = x_api_key or (credentials.credentials if credentials else None)
        if not given:
            raise ApiError(401, f"This server needs an API key: {KEY_HINT}.", headers={"WWW-Authenticate": "Bearer"})
        who = request.client.host if request.client else "?"
        wait = throttle.wait_for(who)
        if wait > 0:
            raise ApiError(429, f"Too many wrong API keys from this address; try again in {wait:.1f} s.",
                           headers={"Retry-After": str(max(1, round(wait + 0.5)))})
        if not hmac.compare_digest(given.encode(), expected):
            throttle.failed(who)
            raise ApiError(401, f"Wrong API key; {KEY_HINT} with the server's ASSISTANT_API_KEY.",
                           headers={"WWW-Authenticate": "Bearer"})
    return require_api_key


UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class CrossSiteGuard:
    """ASGI middleware: a write (POST, PUT, PATCH, DELETE) a browser sends from another site is
    refused (403) unless it carries an API key header, whatever path it is for (the API, the web
    chat's own endpoints). A page elsewhere can make a browser send a form or a multipart upload
    without asking first, so the server cannot rely on CORS to stop it.

    "From another site": the browser's ``Sec-Fetch-Site`` is anything but ``same-origin`` or
    ``none``, or (older browsers) the ``Origin`` header names another host than the request's.
    Requests without either header (curl, scripts, other servers) are not a browser's: they pass,
    and an API key, when set, is what guards them."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] in UNSAFE_METHODS and _cross_site(scope):
            await error_response(403, "A write from another site's page is refused: send it from this server's "
                                      "own pages, or with the API key (X-API-Key).")(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _cross_site(scope) -> bool:
    headers = {}
    for name, value in scope.get("headers", []):
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    if "x-api-key" in headers or headers.get("authorization", "").lower().startswith("bearer "):
        return False  # a browser sends these cross-site only after a preflight; the key check decides
    fetch_site = headers.get("sec-fetch-site", "").strip().lower()
    if fetch_site:
        return fetch_site not in ("same-origin", "none")
    origin = headers.get("origin", "").strip().lower()
    if not origin:
        return False
    if origin == "null":
        return True
    host = (headers.get("x-forwarded-host") or headers.get("host", "")).split(",")[0].strip().lower()
    return re.sub(r"^[a-z][a-z0-9+.-]*://", "", origin).rstrip("/") != host


class UploadCap:
    """ASGI middleware for the web chat's upload endpoint (Gradio's ``…/upload``): at most
    ``max_bytes`` in one request and ``max_files`` files, as for the API's uploads (413 beyond),
    counted while the body streams in, so nothing over the caps is written to disk."""

    def __init__(self, app, max_bytes: int, max_files: int, message: str):
        self.app, self.max_bytes, self.max_files, self.message = app, max_bytes, max_files, message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].rstrip("/").endswith("/upload") \
                or scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_bytes:
            await error_response(413, self.message)(scope, receive, send)
            return
        boundary = re.search(rb'boundary="?([^";]+)', headers.get(b"content-type", b""))
        marker = b"--" + boundary.group(1) if boundary else None
        received, parts, tail = 0, 0, b""
        refused = False

        async def counted_receive():
            nonlocal received, parts, tail, refused
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                if marker:
                    window = tail + body
                    parts += window.count(marker) - tail.count(marker)
                    tail = window[-(len(marker) - 1):] if len(marker) > 1 else b""
                # The closing boundary is one marker more than the files.
                if received > self.max_bytes or parts - 1 > self.max_files:
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        started = False

        async def tracking_send(message):
            nonlocal started
            if refused and not started:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracking_send)
        except Exception:  # noqa: BLE001 - the upload handler's reaction to the cut body
            if not refused:
                raise
        if refused and not started:
            await error_response(413, self.message)(scope, receive, send)


class BodyLimit:
    """ASGI middleware: POST bodies under ``prefix`` larger than ``max_bytes`` get a 413.

    Refused from Content-Length before anything is read, or as soon as a body without one
    grows past the limit, so an oversized upload is never written to disk.
    """

    def __init__(self, app, prefix: str, max_bytes: int, message: str):
        self.app, self.prefix, self.max_bytes, self.message = app, prefix, max_bytes, message

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await error_response(413, self.message)(scope, receive, send)
            return
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # FastAPI re-raises HTTPException from body parsing; the handler makes it JSON.
                    raise HTTPException(413, self.message)
            return message

        await self.app(scope, limited_receive, send)


STANDARD_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})


class OtherMethods:
    """ASGI middleware: a request under ``prefix`` with a method no route could take (``QUERY``,
    ``PROPFIND``…) goes to the API's catch-all route as a TRACE (which no route takes either), the
    method it came with kept in the scope: so it gets the API's 405 error with ``Allow`` (or 404),
    not whatever the app mounted at ``/`` would say."""

    def __init__(self, app, prefix: str):
        self.app, self.prefix = app, prefix

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] not in STANDARD_METHODS and scope["path"].startswith(self.prefix):
            scope = {**scope, "method": "TRACE", "original_method": scope["method"][:20]}
        await self.app(scope, receive, send)
