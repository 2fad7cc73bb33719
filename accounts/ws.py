"""Websocket authentication: a bearer token (mobile app) or the session cookie (browser)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings

from accounts.auth import user_for_token


@database_sync_to_async
def _user_from_token(raw: str) -> Any:
    found = user_for_token(raw)
    return found[0] if found else None


def _raw_token(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            parts = value.decode(errors="replace").split()
            if len(parts) == 2 and parts[0].lower() in {"bearer", "token"}:
                return parts[1]
    # Browsers cannot set headers on a websocket, so the token may come in the query string.
    query = parse_qs(scope.get("query_string", b"").decode(errors="replace"))
    return query.get("token", [None])[0]


class TokenAuthMiddleware(BaseMiddleware):
    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        raw = _raw_token(scope)
        if raw:
            user = await _user_from_token(raw)
            if user is not None:
                scope["user"] = user
        return await super().__call__(scope, receive, send)


def TokenAuthMiddlewareStack(inner: Any) -> Any:  # noqa: N802 - mirrors channels' naming
    # Session auth runs first; a valid token then takes precedence over the cookie.
    return AuthMiddlewareStack(TokenAuthMiddleware(inner))


class _NativeOrSameOrigin(OriginValidator):
    """Browsers always send Origin, so cross-site hijacking is stopped by checking it; native
    clients send none and authenticate with a token, which a foreign page cannot hold."""

    def valid_origin(self, parsed_origin: Any) -> bool:
        if parsed_origin is None:
            return True
        return self.validate_origin(parsed_origin)


def NativeOrSameOriginValidator(inner: Any) -> Any:  # noqa: N802 - mirrors channels' naming
    allowed = list(settings.ALLOWED_HOSTS) or (["localhost", "127.0.0.1"] if settings.DEBUG else [])
    return _NativeOrSameOrigin(inner, allowed)
