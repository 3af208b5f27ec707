"""The REST API as a FastAPI app, built from an Assistant passed in (nothing global)."""

from __future__ import annotations

from fastapi import FastAPI

from assistant.service.shared import SharedAssistant
from assistant.apps.web.uploads import max_upload_bytes
from assistant.apps.api.errors import install_error_handlers
from assistant.apps.api.guards import BodyLimit, CrossSiteGuard, OtherMethods
from assistant.apps.api.routes import build_router

MULTIPART_OVERHEAD = 64 * 1024
DOCS_FILES = "/api-docs-files"  # where the Swagger UI and ReDoc scripts are served from  # boundaries and part headers around the files' bytes

DESCRIPTION = """Question answering over news articles; every answer cites the sentences it quotes.

Errors are JSON: `{"error": {"message": ..., "type": ..., "status": ..., "details": [...]}}`.
When the index cannot be reached (e.g. the Chroma server is down) the answer is 503 with the server
named and a `Retry-After` header; the connection stays open and the next call works once it is back.
When the server has an API key (ASSISTANT_API_KEY), send it on every call as `X-API-Key`
or `Authorization: Bearer <key>`; after 5 wrong keys in a minute from one address, further tries
get 429 with `Retry-After`. A write (POST, DELETE) that a browser sends from another site's page
is refused (403) unless it carries the key.

Request bodies are JSON objects whose fields are listed below: a field not listed is refused (422
naming it). `answer` in a response is plain text (it quotes article text, which is untrusted):
escape it before putting it in HTML.
"""


def serve_docs_offline(app: FastAPI) -> None:
    """/docs (Swagger UI) and /redoc from files installed with the package (fastapi-offline ships
    them), not from a CDN: the pages work on a machine without internet and fetch nothing."""
    from pathlib import Path

    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    files = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_FILES, StaticFiles(directory=files), name="docs-files")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui():
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{app.title} — API",
                                   swagger_js_url=f"{DOCS_FILES}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_FILES}/swagger-ui.css",
                                   swagger_favicon_url=f"{DOCS_FILES}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc():
        return get_redoc_html(openapi_url="/openapi.json", title=f"{app.title} — API",
                              redoc_js_url=f"{DOCS_FILES}/redoc.standalone.js",
                              redoc_favicon_url=f"{DOCS_FILES}/favicon.png", with_google_fonts=False)


def state_limits(app: FastAPI, settings) -> None:
    """The OpenAPI spec states this server's limits where a client's tooling reads them (maxLength,
    maxItems, formats), not only in prose: the question's length, the files of one upload, a feed's
    URL, the date forms the filters accept."""
    from assistant.ingest.dates import EXPECTED

    build = app.openapi

    def openapi():
        if app.openapi_schema is not None:
            return app.openapi_schema
        spec = build()
        schemas = spec.get("components", {}).get("schemas", {})
        question = schemas.get("AskRequest", {}).get("properties", {}).get("question")
        if question is not None:
            question["maxLength"] = settings.max_question_chars
        for name, body in schemas.items():
            files = body.get("properties", {}).get("files") if name.startswith("Body_upload_articles") else None
            if files is not None:
                files["maxItems"] = settings.max_upload_files
                files["description"] = (f"Article files: at most {settings.max_upload_files}, "
                                        f"{settings.max_upload_mb:g} MB in all.")
        for name in ("FeedRequest",):
            url = schemas.get(name, {}).get("properties", {}).get("url")
            if url is not None:
                url.update(format="uri", pattern="^[Hh][Tt][Tt][Pp][Ss]?://")
        for field in ("since", "until"):
            prop = schemas.get("RequestFilters", {}).get("properties", {}).get(field)
            if prop is not None:
                prop["description"] = f"{prop.get('description', '')} Accepted: YYYY-MM-DD, {EXPECTED}.".strip()
        app.openapi_schema = spec
        return spec

    app.openapi = openapi


def create_api(assistant, settings=None) -> FastAPI:
    """The API over ``assistant`` (an Assistant, or a SharedAssistant to share with the web chat)."""
    shared = SharedAssistant.wrap(assistant)
    settings = settings or shared.settings
    app = FastAPI(title="News assistant", version="1", description=DESCRIPTION, docs_url=None,
                  redoc_url=None, openapi_url="/openapi.json")
    app.state.assistant = shared
    serve_docs_offline(app)
    install_error_handlers(app, settings)
    app.include_router(build_router(shared, settings))
    app.add_middleware(
        BodyLimit, prefix="/api/", max_bytes=max_upload_bytes(settings) + MULTIPART_OVERHEAD,
        message=f"The upload is over the {settings.max_upload_mb:g} MB limit; send fewer or smaller files "
                "(or raise ASSISTANT_MAX_UPLOAD_MB).",
    )
    app.add_middleware(OtherMethods, prefix="/api/")
    app.add_middleware(CrossSiteGuard)  # outermost: a cross-site write is refused before anything reads it
    state_limits(app, settings)
    return app
