"""The one domain error. Services raise it; the API edge (config.api) turns it into the
error body, and the job runner records its code. Nothing below the edge raises HTTP types."""

from __future__ import annotations

from typing import Any


class ApplicationError(Exception):
    """Something the caller asked for cannot be done, with a stable machine-readable `code`
    and the HTTP `status` it answers with at the API edge."""

    def __init__(self, code: str, message: str, status: int = 400, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.extra = extra

    def __str__(self) -> str:
        return self.message


class NotFoundError(ApplicationError):
    """What the caller may not see looks exactly like what does not exist."""

    def __init__(self, message: str = "Not found.") -> None:
        super().__init__("not_found", message, 404)
