"""An ASGI guard that refuses oversize request bodies before anything reads them.

Django's ASGI handler reads the whole body before a view runs, so a size check in a view
comes too late: the bytes are already spooled. This guard answers 413 from the headers
when Content-Length is over the cap, and counts chunked bodies as they arrive.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from django.core.exceptions import RequestAborted

Scope = dict[str, Any]
Message = Mapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TOO_LARGE: dict[str, Any] = {
    "code": "upload_too_large",
    "detail": "The request body is larger than the {limit} bytes allowed.",
    "fields": {},
}


async def _send_too_large(send: Send, limit: int) -> None:
    body = json.dumps({**TOO_LARGE, "detail": TOO_LARGE["detail"].format(limit=limit)}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


class BodySizeLimit:
    def __init__(self, app: ASGIApp, max_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes()
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _send_too_large(send, limit)
            return
        seen = 0

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    await _send_too_large(send, limit)
                    raise RequestAborted()
            return message

        await self.app(scope, counted_receive, send)
