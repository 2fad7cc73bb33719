"""The programs the pipeline runs, and the one error for a program that is not there."""

from __future__ import annotations


class ToolUnavailable(RuntimeError):
    """A program the pipeline shells out to is missing on this machine.

    The operator's problem, not the request's: the job fails with `code` (never a code that
    blames the user's input), and can be retried once the program is installed."""

    code = "tool_unavailable"
    retryable = False  # the job runner fails the job with `code` instead of retrying it

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.code
