"""The automated checks' meeting points: the app that owns a moment calls `screen`, the app
that owns a check registers it (in its AppConfig.ready), and neither learns the other's name.

Three moments: a generation or remix request before it is submitted (REQUEST), a rendered
output before it is kept as a draft (OUTPUT), and a post before it goes live (PUBLISH). Each
check returns a verdict: pass, refuse (the request fails with the verdict's code and says what
to change) or hold (it goes ahead, but a moderator looks first). Callers record every verdict
on the job, the video or the post.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from config.errors import ApplicationError


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


Check = Callable[[Subject], Verdict | list[Verdict]]
_CHECKS: dict[Point, dict[str, Check]] = {point: {} for point in Point}


def register(point: Point, name: str, check: Check) -> None:
    """Add a check at a point; registering a name again replaces it (tests, reloads)."""
    _CHECKS[point][name] = check


def unregister(point: Point, name: str) -> None:
    _CHECKS[point].pop(name, None)


def registered(point: Point) -> list[str]:
    return list(_CHECKS[point])


def screen(subject: Subject) -> list[Verdict]:
    """Every check registered at the subject's point, in registration order."""
    verdicts: list[Verdict] = []
    for check in _CHECKS[subject.point].values():
        found = check(subject)
        verdicts.extend(found if isinstance(found, list) else [found])
    return verdicts


def refuse_if_any(verdicts: list[Verdict]) -> None:
    """Fail the request on the first refusal: 422 with its code and reason, and every
    verdict in `checks` so the client can show all that must change."""
    refusal = next((v for v in verdicts if v.outcome == "refuse"), None)
    if refusal is not None:
        raise ApplicationError(
            refusal.code, refusal.reason, 422, checks=[v.as_dict() for v in verdicts]
        )


def holds(verdicts: list[Verdict]) -> list[Verdict]:
    return [v for v in verdicts if v.outcome == "hold"]
