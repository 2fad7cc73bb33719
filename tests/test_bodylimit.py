from __future__ import annotations

import asyncio
import json
from typing import Any

from django.core.exceptions import RequestAborted

from config.bodylimit import BodySizeLimit


async def _never_called_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("the application must not run for an oversize body")


def _run(app: Any, scope: dict[str, Any], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    incoming = list(messages)

    async def receive() -> dict[str, Any]:
        if not incoming:
            raise AssertionError("the body was read past its end")
        return incoming.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    try:
        asyncio.run(app(scope, receive, send))
    except RequestAborted:
        sent.append({"aborted": True})
    return sent


def test_an_oversize_content_length_is_refused_before_any_body_is_read() -> None:
    guard = BodySizeLimit(_never_called_app, max_bytes=lambda: 1000)
    scope = {"type": "http", "path": "/api/v1/uploads/", "headers": [(b"content-length", b"5000")]}
    sent = _run(guard, scope, messages=[])  # receive() would raise if called
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["code"] == "upload_too_large"


def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_cap() -> None:
    reads: list[int] = []

    async def reading_app(scope: Any, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            reads.append(len(message["body"]))
            if not message.get("more_body"):
                break

    guard = BodySizeLimit(reading_app, max_bytes=lambda: 1000)
    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True} for _ in range(5)]
    scope = {"type": "http", "path": "/", "headers": []}
    sent = _run(guard, scope, chunks)
    assert reads == [600]  # the second chunk took it over the cap and was never handed on
    assert sent[0]["status"] == 413
    assert sent[-1] == {"aborted": True}


def test_a_body_within_the_cap_reaches_the_application() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append((await receive())["body"])

    guard = BodySizeLimit(app, max_bytes=lambda: 1000)
    scope = {"type": "http", "path": "/", "headers": [(b"content-length", b"3")]}
    _run(guard, scope, [{"type": "http.request", "body": b"abc"}])
    assert seen == [b"abc"]
