"""The storyboard: what the planner produces, the client may edit, and the scene consumes."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

FRAMINGS = ("establishing", "wide", "medium", "close_up")
CAMERA_MOVES = ("static", "pan", "push_in", "pull_out")
VERBS = ("stand", "walk", "run", "jump", "wave", "dance", "sit", "knock_over")
SETTINGS = ("studio", "street", "park", "kitchen", "beach", "forest", "office")
LIGHTINGS = ("day", "night", "golden_hour", "studio")
MOODS = ("upbeat", "calm", "tense", "sad", "epic", "funny")
STYLES = ("natural", "cinematic", "vivid", "noir", "pastel")
ASPECTS = {"9:16": (720, 1280), "16:9": (1280, 720), "1:1": (1024, 1024)}


class StoryboardError(ValueError):
    """A storyboard that cannot be rendered; `field` names the part at fault."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass
class Subject:
    name: str
    kind: str = "person"  # person | dog | cat | robot
    cameo_id: str | None = None  # a cast cameo plays this subject
    color: tuple[int, int, int] = (220, 90, 60)


@dataclass
class Prop:
    name: str  # vase | chair | ball | cup | box | lamp
    x: float = 1.0  # metres from the scene centre, on the ground


@dataclass
class Action:
    subject: str
    verb: str
    at_s: float = 0.0  # seconds into the shot
    target: str | None = None  # a prop, for knock_over


@dataclass
class Line:
    speaker: str
    text: str
    at_s: float = 0.3  # seconds into the shot


@dataclass
class Shot:
    framing: str = "medium"
    camera_move: str = "static"
    duration_s: float = 3.0
    subjects: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    dialogue: list[Line] = field(default_factory=list)
    sounds: list[str] = field(default_factory=list)  # extra sound events asked for


@dataclass
class Storyboard:
    shots: list[Shot]
    subjects: list[Subject] = field(default_factory=list)
    props: list[Prop] = field(default_factory=list)
    setting: str = "studio"
    lighting: str = "day"
    mood: str = "upbeat"
    style: str = "natural"
    aspect: str = "9:16"
    fps: int = 24
    planner: str = ""  # which planner backend wrote it

    @property
    def duration_s(self) -> float:
        return sum(shot.duration_s for shot in self.shots)

    @property
    def size(self) -> tuple[int, int]:
        return ASPECTS[self.aspect]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Storyboard:
        """Build and validate a storyboard a client sent back (possibly edited)."""
        try:
            board = cls(
                shots=[
                    Shot(
                        **{
                            **shot,
                            "actions": [Action(**a) for a in shot.get("actions", [])],
                            "dialogue": [Line(**d) for d in shot.get("dialogue", [])],
                        }
                    )
                    for shot in data["shots"]
                ],
                subjects=[
                    Subject(**{**s, "color": tuple(s.get("color", (220, 90, 60)))})
                    for s in data.get("subjects", [])
                ],
                props=[Prop(**p) for p in data.get("props", [])],
                **{
                    k: data[k]
                    for k in ("setting", "lighting", "mood", "style", "aspect", "fps", "planner")
                    if k in data
                },
            )
        except (KeyError, TypeError) as exc:
            raise StoryboardError("storyboard", f"Malformed storyboard: {exc}") from None
        board.validate()
        return board

    def validate(self, max_seconds: float = 20.0) -> None:
        if not self.shots:
            raise StoryboardError("shots", "A storyboard needs at least one shot.")
        _one_of("setting", self.setting, SETTINGS)
        _one_of("lighting", self.lighting, LIGHTINGS)
        _one_of("mood", self.mood, MOODS)
        _one_of("style", self.style, STYLES)
        _one_of("aspect", self.aspect, tuple(ASPECTS))
        if not 12 <= self.fps <= 60:
            raise StoryboardError("fps", "fps must be between 12 and 60.")
        names = {s.name for s in self.subjects}
        props = {p.name for p in self.props}
        for i, shot in enumerate(self.shots):
            _one_of(f"shots[{i}].framing", shot.framing, FRAMINGS)
            _one_of(f"shots[{i}].camera_move", shot.camera_move, CAMERA_MOVES)
            if not 0.5 <= shot.duration_s <= 20:
                raise StoryboardError(f"shots[{i}].duration_s", "Shots last 0.5 to 20 s.")
            for name in shot.subjects:
                if name not in names:
                    raise StoryboardError(f"shots[{i}].subjects", f"Unknown subject {name!r}.")
            for action in shot.actions:
                _one_of(f"shots[{i}].actions.verb", action.verb, VERBS)
                if action.subject not in names:
                    raise StoryboardError(f"shots[{i}].actions", f"Unknown {action.subject!r}.")
                if action.target is not None and action.target not in props:
                    raise StoryboardError(f"shots[{i}].actions", f"Unknown prop {action.target!r}.")
            for line in shot.dialogue:
                if line.speaker not in names or not line.text.strip():
                    raise StoryboardError(f"shots[{i}].dialogue", "Lines need a known speaker.")
        if self.duration_s > max_seconds:
            raise StoryboardError("shots", f"{self.duration_s:.1f} s is over {max_seconds:.0f} s.")


def _one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise StoryboardError(name, f"{value!r} is not one of {', '.join(allowed)}.")
