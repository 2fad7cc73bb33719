"""The automated checks' meeting points: the app that owns a moment calls `screen`, the app
that owns a check registers it (in its AppConfig.ready), and neither learns the other's name.

Three moments: a generation or remix request before it is submitted (REQUEST), a rendered
output before it is kept as a draft (OUTPUT), and a post before it goes live (PUBLISH). Each
check returns a verdict: pass, refuse (the request fails with the verdict's code and says what
to change) or hold (it goes ahead, but a moderator looks first). Callers record every verdict
on the job, the video or the post.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from config.errors import ApplicationError

logger = logging.getLogger(__name__)


class Point(StrEnum):
    REQUEST = "request"
    OUTPUT = "output"
    PUBLISH = "publish"


Outcome = Literal["pass", "refuse", "hold"]


@dataclass(frozen=True)
class Subject:
    """What a check looks at. Django objects are typed Any: config imports none of ours."""

    point: Point
    user: Any  # the requester or author
    texts: Mapping[str, str] = field(
        default_factory=dict
    )  # "prompt", "caption", "shot[0].dialogue"...
    video: Any = None  # media.Video: the kept output (OUTPUT) or the draft being posted
    path: Path | None = None  # OUTPUT: the rendered file
    post: Any = None  # PUBLISH: the post being created
    source: Any = None  # a remix's source post
    cast: tuple[Any, ...] = ()  # the cameo ids cast in it


@dataclass(frozen=True)
class Verdict:
    check: str  # "screening.terms", "rights.marks", "copies.hash_list", "faces.unknown", ...
    outcome: Outcome
    code: str = ""  # stable, for a refusal or a hold
    reason: str = ""  # for a person: what was found and what to change
    detail: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "outcome": self.outcome,
            "code": self.code,
            "reason": self.reason,
            "detail": dict(self.detail),
        }

    @classmethod
    def from_dict(cls, recorded: Mapping[str, Any]) -> Verdict:
        """A verdict as recorded on a job, a video or a post, read back."""
        return cls(
            check=recorded["check"],
            outcome=recorded["outcome"],
            code=recorded.get("code", ""),
            reason=recorded.get("reason", ""),
            detail=recorded.get("detail") or {},
        )


Check = Callable[[Subject], Verdict | list[Verdict]]
HoldListener = Callable[[Subject, list[Verdict]], None]
_CHECKS: dict[Point, dict[str, Check]] = {point: {} for point in Point}
_HOLD_LISTENERS: dict[str, HoldListener] = {}


def register(point: Point, name: str, check: Check) -> None:
    """Add a check at a point; registering a name again replaces it (tests, reloads)."""
    _CHECKS[point][name] = check


def unregister(point: Point, name: str) -> None:
    _CHECKS[point].pop(name, None)


def registered(point: Point) -> list[str]:
    return list(_CHECKS[point])


def checks_at(point: Point) -> dict[str, Check]:
    """The checks at a point by name, in registration order (for benchmarks that time each)."""
    return dict(_CHECKS[point])


def screen(subject: Subject) -> list[Verdict]:
    """Every check registered at the subject's point, in registration order."""
    verdicts: list[Verdict] = []
    for check in _CHECKS[subject.point].values():
        found = check(subject)
        verdicts.extend(found if isinstance(found, list) else [found])
    return verdicts


class Refusal(ApplicationError):
    """A request an automated check refused (422, the refusal's code and reason, and every
    verdict in `checks`). The API edge tells the refusal listeners once the refused request's
    transaction is over: what was asked for is rolled back, the record of the refusal is not."""

    def __init__(self, refusal: Verdict, verdicts: list[Verdict]) -> None:
        super().__init__(refusal.code, refusal.reason, 422, checks=[v.as_dict() for v in verdicts])
        self.verdicts = verdicts


def refuse_if_any(verdicts: list[Verdict]) -> None:
    """Fail the request on the first refusal, so the client can show all that must change."""
    refusal = next((v for v in verdicts if v.outcome == "refuse"), None)
    if refusal is not None:
        raise Refusal(refusal, verdicts)


RefusalListener = Callable[[Any, list[Verdict]], None]
_REFUSAL_LISTENERS: dict[str, RefusalListener] = {}


def on_refusal(name: str, listener: RefusalListener) -> None:
    """Be told of every refusal that reached the API edge: `listener(user, refusals)`, outside
    the refused request's transaction (moderation counts blocked re-uploads)."""
    _REFUSAL_LISTENERS[name] = listener


def refused(user: Any, refusal: Refusal) -> None:
    found = [v for v in refusal.verdicts if v.outcome == "refuse"]
    for listener in _REFUSAL_LISTENERS.values():
        try:
            listener(user, found)
        except Exception:  # the refusal's answer must not turn into a 500
            logger.exception("refusal listener failed")


def holds(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.outcome == "hold"]


def as_dicts(verdicts: list[Verdict]) -> list[dict[str, Any]]:
    return [v.as_dict() for v in verdicts]


def on_hold(name: str, listener: HoldListener) -> None:
    """Be told of every hold (moderation opens a case): `listener(subject, holds)` runs in the
    caller's transaction, after the held thing is saved. Registering a name again replaces it."""
    _HOLD_LISTENERS[name] = listener


def held(subject: Subject, verdicts: list[Verdict]) -> None:
    """The caller of `screen` saved a held thing (a post): tell every hold listener. Called
    with no holds it does nothing, so callers may pass every verdict."""
    found = holds(verdicts)
    if found:
        for listener in _HOLD_LISTENERS.values():
            listener(subject, found)
