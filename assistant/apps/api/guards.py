"""What every API request passes first: the API key (when one is set) and the upload size cap."""

from __future__ import annotations

import hmac

from fastapi import HTTPException, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from assistant.apps.api.errors import ApiError, error_response

KEY_HINT = "send it in the X-API-Key header or as 'Authorization: Bearer <key>'"


def api_key_dependency(settings):
    """A FastAPI dependency checking the API key, or None when no key is configured."""
    if settings.api_key is None:
        return None
    expected = settings.api_key.get_secret_value().encode()
    header = APIKeyHeader(name="X-API-Key", auto_error=False, description="The server's ASSISTANT_API_KEY.")
    bearer = HTTPBearer(auto_error=False, description="The server's ASSISTANT_API_KEY as a bearer token.")

    def require_api_key(x_api_key: str | None = Security(header),
                        credentials: HTTPAuthorizationCredentials | None = Security(bearer)) -> None:
        given = x_api_key or (credentials.credentials if credentials else None)
        if not given:
            raise ApiError(401, f"This server needs an API key: {KEY_HINT}.", headers={"WWW-Authenticate": "Bearer"})
        if not hmac.compare_digest(given.encode(), expected):
            raise ApiError(401, f"Wrong API key; {KEY_HINT} with the server's ASSISTANT_API_KEY.",
                           headers={"WWW-Authenticate": "Bearer"})
    return require_api_key


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
