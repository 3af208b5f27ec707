"""Every API error as JSON ``{"error": {"message", "type", "status", "details"}}``, never a traceback.

Only here do the assistant's errors become HTTP statuses.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.errors import AssistantError, ConfigError, IndexUnavailable, InputError
from assistant.apps.web.uploads import UnsupportedFile, UploadTooLarge

log = logging.getLogger(__name__)

_TYPES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
          413: "too_large", 415: "unsupported_media_type", 422: "validation_error", 500: "internal_error",
          503: "unavailable"}


class ApiError(Exception):
    def __init__(self, status: int, message: str, details: list[dict] | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details or [], headers


def error_response(status: int, message: str, details: list[dict] | None = None,
                   headers: dict | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": _TYPES.get(status, "error"), "status": status,
                      "details": details or []}}
    return JSONResponse(body, status_code=status, headers=headers)


def status_of(error: AssistantError) -> int:
    if isinstance(error, UnsupportedFile):
        return 415
    if isinstance(error, UploadTooLarge):
        return 413
    if isinstance(error, (IndexUnavailable, ConfigError)):
        return 503
    return 400


def validation_details(errors: list[dict]) -> list[dict]:
    """Location and message of each problem (not the rejected input, which may be huge)."""
    return [{"loc": [str(part) for part in e.get("loc", ())], "msg": e.get("msg", "")} for e in errors]


def _summary(details: list[dict]) -> str:
    first = details[0] if details else {"loc": [], "msg": "invalid request"}
    where = ".".join(part for part in first["loc"] if part not in ("body", "query", "path"))
    more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
    return f"{where + ': ' if where else ''}{first['msg']}{more}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError):
        return error_response(exc.status, exc.message, exc.details, exc.headers)

    @app.exception_handler(AssistantError)
    async def _assistant_error(_request: Request, exc: AssistantError):
        details = [{"where": exc.where, "problem": exc.problem, "fix": exc.fix}] if isinstance(exc, InputError) else []
        return error_response(status_of(exc), str(exc), details)

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
        return error_response(500, "Internal error; the server log has the details.")
