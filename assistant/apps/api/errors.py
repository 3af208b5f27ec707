"""Every API error as JSON ``{"error": {"message", "type", "status", "details"}}``, never a traceback.

Only here do the assistant's errors become HTTP statuses. An index that cannot be reached (a
Chroma server down) is 503 with the server named and ``Retry-After``; ``/api/health`` then also says
``"status": "unavailable"``. No exception ever escapes to the web server: :class:`ErrorBoundary`
answers it (500, or 503 for a lost connection), so the client's connection stays open.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import AssistantError, ConfigError, IndexUnavailable, InputError, NotAvailableHere
from assistant.index.store import is_connection_error, unreachable
from assistant.apps.web.uploads import UnsupportedFile, UploadTooLarge

log = logging.getLogger(__name__)

_TYPES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
          429: "too_many_requests",
          413: "too_large", 415: "unsupported_media_type", 422: "validation_error", 500: "internal_error",
          503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[dict] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details or [], headers


RETRY_AFTER_SECONDS = 5  # what a 503 for an unreachable index suggests


def error_response(status: int, message: str, details: list[dict] | None = None,
                   headers: dict | None = None, path: str = "") -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "error"), "status": status,
                      "details": details or []}}
    if status == 503:
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS), **(headers or {})}
        if path.rstrip("/") == "/api/health":
            body = {"status": "unavailable", **body}
    return JSONResponse(body, status_code=status, headers=headers)


def unexpected_response(exc: BaseException, settings, path: str) -> JSONResponse:
    """The answer to an exception nothing else handled: 503 when a server stopped answering, else 500."""
    if isinstance(exc, AssistantError):
        return error_response(status_of(exc), str(exc), path=path)
    if is_connection_error(exc) and settings is not None:
        return error_response(503, str(unreachable(settings, exc)), path=path)
    return error_response(500, "Internal error; the server log has the details.", path=path)


class ErrorBoundary:
    """ASGI middleware: an exception no handler took becomes a JSON answer here.

    Starlette's own last-resort handler answers too, but then re-raises, and uvicorn closes the
    connection of any request whose application raised: under load every such error cost the
    client its connection. Here the exception stops."""

    def __init__(self, app, settings=None):
        self.app, self.settings = app, settings

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:  # noqa: BLE001 - the point of this middleware
            path = scope.get("path", "")
            if is_connection_error(exc) or isinstance(exc, IndexUnavailable):
                log.warning("index unavailable on %s %s: %s", scope.get("method"), path, exc)
            else:
                log.error("unhandled error on %s %s", scope.get("method"), path, exc_info=exc)
            if not started:  # a response already begun cannot be replaced; it ends here
                await unexpected_response(exc, self.settings, path)(scope, receive, send)


def status_of(error: AssistantError) -> int:
    if isinstance(error, UnsupportedFile):
        return 415
    if isinstance(error, UploadTooLarge):
        return 413
    if isinstance(error, NotAvailableHere):
        return 422
    if isinstance(error, (IndexUnavailable, ConfigError)):
        return 503
    return 400


def validation_details(errors: list[dict]) -> list[dict]:
    """Location and message of each problem (not the rejected input, which may be huge)."""
    return [{"loc": [str(part) for part in e.get("loc", ())],
             "msg": "unknown field: this request has no such field (see /docs)" if e.get("type") == "extra_forbidden"
             else e.get("msg", "")} for e in errors]


def _summary(details: list[dict]) -> str:
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(part for part in first["loc"] if part not in ("body", "query", "path"))
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"{where + ': ' if where else ''}{first['msg']}{more}"


def install_error_handlers(app: FastAPI, settings=None) -> None:
    app.add_middleware(ErrorBoundary, settings=settings)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.details, exc.headers, path=request.url.path)

    @app.exception_handler(AssistantError)
    async def _assistant_error(request: Request, exc: AssistantError):
        details = [{"where": exc.where, "problem": exc.problem, "fix": exc.fix}] if isinstance(exc, InputError) else []
        return error_response(status_of(exc), str(exc), details, path=request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _request_invalid(_request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(400, "The request body is not valid JSON.", validation_details(errors))
        details = validation_details(errors)
        return error_response(422, _summary(details), details)

    @app.exception_handler(ValidationError)
    async def _model_invalid(_request: Request, exc: ValidationError):
        details = validation_details(exc.errors())
        return error_response(422, _summary(details), details)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else _TYPES.get(exc.status_code, "error")
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        return unexpected_response(exc, settings, request.url.path)
