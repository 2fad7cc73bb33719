"""The web process: daphne, with the request-size cap enforced as the headers arrive.

daphne (Twisted) buffers a whole request body, spooling it to a temporary file, before the
ASGI application sees any of it. So the cap also lives here, at the protocol: a request
whose Content-Length is over the cap is answered 413 and closed before a byte of its body
is stored, and a chunked body is cut off as soon as it passes the cap. The ASGI guard in
config/bodylimit.py stays as the second net for any other server.

Run it as daphne: `python -m config.server -b 127.0.0.1 -p 8000 config.asgi:application`.
"""

from __future__ import annotations

import io
import json
import os
import sys
from typing import Any

import django
from daphne import http_protocol
from daphne.cli import CommandLineInterface


def _refusal(limit: int) -> bytes:
    body = json.dumps(
        {
            "code": "upload_too_large",
            "detail": f"The request body is larger than the {limit} bytes allowed.",
            "fields": {},
        }
    ).encode()
    head = (
        "HTTP/1.1 413 Payload Too Large\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


class CappedWebRequest(http_protocol.WebRequest):
    max_bytes: int = 0  # set from settings at start-up

    def gotLength(self, length: int | None) -> None:  # noqa: N802 - Twisted's name
        self._seen = 0
        self._refused = False
        if length is not None and length > self.max_bytes:
            self._refuse()
            return
        super().gotLength(length)

    def handleContentChunk(self, data: bytes) -> None:  # noqa: N802 - Twisted's name
        if self._refused:
            return
        self._seen += len(data)
        if self._seen > self.max_bytes:
            self._refuse()
            return
        super().handleContentChunk(data)

    def requestReceived(self, command: bytes, path: bytes, version: bytes) -> None:  # noqa: N802
        if not self._refused:
            super().requestReceived(command, path, version)

    def _refuse(self) -> None:
        self._refused = True
        self.content = io.BytesIO()
        self.channel.transport.write(_refusal(self.max_bytes))
        self.channel.transport.loseConnection()


class CappedHTTPFactory(http_protocol.HTTPFactory):
    def buildProtocol(self, addr: Any) -> Any:  # noqa: N802 - Twisted's name
        protocol = super().buildProtocol(addr)
        protocol.requestFactory = CappedWebRequest
        return protocol


def database_check_or_exit(timeout_s: int = 5) -> None:
    """Connect once, directly, before serving: a wrong DATABASE_URL stops the server at start
    with the database's own words, instead of every request waiting out the pool."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    import psycopg

    params = {**connection.get_connection_params(), "connect_timeout": timeout_s}
    try:
        psycopg.connect(**params).close()
    except psycopg.Error as exc:
        where = f"{params.get('host', '')}:{params.get('port', '')}/{params.get('dbname', '')}"
        sys.stderr.write(f"Cannot use the database at {where} (DATABASE_URL): {exc}\n")
        raise SystemExit(2) from None


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from daphne import server
    from django.conf import settings

    database_check_or_exit()
    CappedWebRequest.max_bytes = settings.REQUEST_MAX_BYTES
    # daphne's Server builds its factory by this module-level name; point it at ours.
    server.HTTPFactory = CappedHTTPFactory
    CommandLineInterface().run(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
