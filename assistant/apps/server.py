"""One web server: the REST API under /api (OpenAPI at /docs) and the web chat at /.

    from assistant import Settings, build_assistant
    from assistant.apps.server import create_app
    app = create_app(build_assistant(settings), settings)   # then: uvicorn.run(app)
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time

from assistant.service.shared import SharedAssistant

log = logging.getLogger(__name__)
SHUTDOWN_GRACE_SECONDS = 2


def create_app(assistant, settings=None, *, ui: bool = True):
    """FastAPI app over ``assistant``: REST under /api and, with ``ui``, the Gradio chat at /."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from assistant.apps.api import create_api

    shared = SharedAssistant.wrap(assistant)
    settings = settings or shared.settings
    app = create_api(shared, settings)
    if ui:
        import gradio as gr

        from assistant.apps.web.ui import build_ui, mount_options

        from assistant.apps.api.guards import CrossSiteGuard, UploadCap
        from assistant.apps.web.uploads import max_upload_bytes

        app = gr.mount_gradio_app(app, build_ui(shared, settings), path="/", **mount_options(settings))
        if settings.api_key is not None:
            app.add_middleware(LoginWall, chat=_mounted_gradio(app))
        app.add_middleware(UploadCap, max_bytes=max_upload_bytes(settings) + 64 * 1024,
                           max_files=settings.max_upload_files,
                           message=f"At most {settings.max_upload_files} files and {settings.max_upload_mb:g} MB in "
                                   "one upload (ASSISTANT_MAX_UPLOAD_FILES, ASSISTANT_MAX_UPLOAD_MB).")
        app.add_middleware(CrossSiteGuard)  # again outermost, now around the web chat's endpoints too
    return app


def _mounted_gradio(app):
    from gradio.routes import App

    for route in app.routes:
        if isinstance(getattr(route, "app", None), App):
            return route.app
    raise RuntimeError("the web chat is not mounted")


# Paths of the whole app that are not the web chat's (they guard themselves: API key, or public docs).
_NOT_THE_CHAT = ("/api/", "/docs", "/openapi.json", "/redoc")
_API_INFO = re.compile(r"window\.gradio_api_info\s*=\s*.*?;?\s*</script>", re.DOTALL)
_EMPTY_API_INFO = 'window.gradio_api_info = {"named_endpoints": {}, "unnamed_endpoints": {}};</script>'


class LoginWall:
    """With an API key set, the web chat serves nothing about the index to a client that has not
    logged in (ASGI middleware around the whole app).

    Gradio already refuses its config, info and queue endpoints to such a client, but its pages
    embed ``gradio_api_info`` (every endpoint with example values: outlet names, install paths)
    and its heartbeat endpoint holds event streams open for anyone. So, before login: HTML pages
    are served with that script emptied (the login form needs nothing from it), and
    ``/gradio_api/heartbeat/…`` is refused (401) at once.
    """

    def __init__(self, app, chat):
        self.app, self.chat = app, chat

    def _logged_in(self, scope) -> bool:
        cookies = {}
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    key, _, val = part.strip().partition("=")
                    cookies[key] = val
        cookie_id = getattr(self.chat, "cookie_id", "")
        tokens = getattr(self.chat, "tokens", {})
        return any(cookies.get(f"{prefix}-{cookie_id}") in tokens
                   for prefix in ("access-token", "access-token-unsecure"))

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(_NOT_THE_CHAT) or self._logged_in(scope):
            await self.app(scope, receive, send)
            return
        if "/heartbeat/" in path:
            body = json.dumps({"detail": {"error": "Not authenticated",
                                          "auth_message": "Log in to the web chat first."}}).encode()
            await send({"type": "http.response.start", "status": 401,
                        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})
            return
        if scope["method"] not in ("GET", "HEAD") or "." in path.rsplit("/", 1)[-1]:  # not a page (an asset)
            await self.app(scope, receive, send)
            return
        # A page: served uncompressed so that its scripts can be read, with the API description emptied.
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"accept-encoding"]}
        start: dict | None = None
        chunks: list[bytes] = []
        passing = False

        async def filtering_send(message):
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if message["type"] == "http.response.start":
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if not kind.startswith(b"text/html"):
                    passing = True
                    await send(message)
                    return
                start = message
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body"):
                    return
                text = _API_INFO.sub(lambda _m: _EMPTY_API_INFO, b"".join(chunks).decode("utf-8", "replace"))
                body = text.encode("utf-8")
                headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, filtering_send)


def prepare_index(assistant, echo=print) -> None:
    """Finish an ingest that was interrupted (a crash, a lost Chroma server: its journal is written
    again); index the bundled corpus (with a progress bar) when the index is empty, so the chat has
    content; give an index built by an earlier version the sentence vectors retrieval now reads."""
    recovered = assistant.indexer.recover(progress=True)
    if recovered is not None:
        echo(f"Finished an interrupted ingest: {recovered.summary()}")
    if assistant.is_empty():
        echo(f"The index is empty; indexing {assistant.settings.corpus_dir} first …")
        report = assistant.ingest(progress=True)
        for error in report.errors:
            echo(f"  ✗ {error}")
        echo(report.summary())
        return
    report = assistant.indexer.complete_sentence_vectors(progress=True)
    if report.sentences_backfilled or report.sentences_repacked:
        echo(report.summary())


def warm_up(shared) -> None:
    """One search in the background once the server is starting, so that the first user's question
    does not pay for loading the vector indexes from disk (8 s at 99k chunks, docs/research/speed.md "Scale")."""
    try:
        shared.search("news", 1)
    except Exception:  # noqa: BLE001 - a failure here is the first request's to report
        log.info("warm-up search failed; the first question loads the index instead", exc_info=True)


def serve(settings=None, host: str | None = None, port: int | None = None, echo=print) -> None:
    """Build the assistant from settings, fill an empty index, and serve until interrupted."""
    import uvicorn

    from assistant.service.factory import build_assistant
    from assistant.settings import Settings

    settings = settings or Settings()
    marks = [("", time.perf_counter())]
    assistant = build_assistant(settings)
    marks.append(("assistant", time.perf_counter()))
    prepare_index(assistant, echo)
    marks.append(("index checks", time.perf_counter()))
    host, port = host or settings.web_host, port or settings.web_port
    shared = SharedAssistant.wrap(assistant)
    app = create_app(shared, settings)
    marks.append(("web app", time.perf_counter()))
    echo(f"Started in {marks[-1][1] - marks[0][1]:.1f} s (" + ", ".join(
        f"{name} {at - before:.1f} s" for (_, before), (name, at) in zip(marks, marks[1:])) + ")")
    scheduler = None
    if settings.feed_refresh_minutes > 0:
        from assistant.live.schedule import FeedScheduler

        scheduler = FeedScheduler(shared.refresh_feeds, settings.feed_refresh_minutes).start()
        echo(f"Subscribed feeds are refreshed every {settings.feed_refresh_minutes:g} minutes "
             "(ASSISTANT_FEED_REFRESH_MINUTES).")
    echo(f"Web chat on http://{host}:{port}/  ·  REST API on /api  ·  API docs on /docs")
    threading.Thread(target=warm_up, args=(shared,), name="warm-up", daemon=True).start()
    try:
        # Ctrl-C: requests in flight get SHUTDOWN_GRACE_SECONDS to finish; the web chat's event streams
        # (which never end by themselves) are then closed, instead of holding the exit for good.
        uvicorn.run(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS)
    finally:
        if scheduler is not None:
            scheduler.stop()
