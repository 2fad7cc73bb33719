"""Middleware: outages answered as 503 with a code, and the Content-Security-Policy header."""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.db import OperationalError as DatabaseError
from django.http import HttpRequest, HttpResponse

from config.api import json_error

logger = logging.getLogger(__name__)


def _outage_code(exc: Exception) -> str | None:
    """Which backing service an exception says is down, if it says so."""
    import kombu.exceptions
    import redis.exceptions

    if isinstance(exc, DatabaseError):
        return "database_unavailable"
    if isinstance(exc, kombu.exceptions.OperationalError):
        return "queue_unavailable"
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return "cache_unavailable"
    return None


class ServiceUnavailableMiddleware:
    """A backing service that is down is the server's problem, not the client's, and not a
    bug either: 503 with a stable code and Retry-After, never a traceback. Any view, API or
    not, reaches this when it lets such an error out."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        code = _outage_code(exc)
        if code is None:
            return None
        logger.error("%s on %s %s: %s", code, request.method, request.path, exc)
        what = code.removesuffix("_unavailable")
        response = json_error(code, f"The {what} is unavailable; try again shortly.", 503)
        response["Retry-After"] = "5"
        return response


def content_security_policy() -> str:
    """Same-origin everything; media may also come from the configured object storage."""
    media = ["'self'", "blob:"]
    if settings.S3_BUCKET:
        # media links redirect to presigned URLs on the storage's own host
        endpoint = settings.STORAGES["default"].get("OPTIONS", {}).get("endpoint_url") or ""
        parts = urlsplit(endpoint)
        media.append(
            f"{parts.scheme}://{parts.netloc}" if parts.netloc else "https://*.amazonaws.com"
        )
    sources = " ".join(media)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            # The admin and Swagger UI set style attributes; no script may run inline.
            "style-src 'self' 'unsafe-inline'",
            f"img-src 'self' data: {sources}",
            f"media-src {sources}",
            "connect-src 'self' ws: wss:",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class ContentSecurityPolicyMiddleware:
    """The header on every response (the preview page, the admin, the API docs)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = content_security_policy()

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
