"""The timeline every stage after motion reads: shots, dialogue and sound events in seconds.

Plain data, no Django: the render, audio, subtitle and encode stages agree on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LINE_GAP_S = 0.15  # breath left between two lines when a later one is pushed back


@dataclass(frozen=True)
class ShotSpan:
    index: int
    start_s: float
    end_s: float
    framing: str  # close_up | medium | wide | establishing
    camera_move: str  # static | pan | push_in | pull_out


@dataclass(frozen=True)
class DialogueLine:
    speaker: str  # a subject name from the storyboard
    text: str
    start_s: float  # when the line should begin


@dataclass(frozen=True)
class SoundEvent:
    kind: str  # landing | footstep | takeoff | whoosh | impact
    time_s: float
    subject: str | None = None
    strength: float = 1.0  # 0..1, scales loudness


@dataclass(frozen=True)
class VoiceSpec:
    """How a speaker should sound. pitch_hz comes from a cast cameo's voice profile."""

    pitch_hz: float | None = None
    rate_wpm: int = 165
    variant: str = "m3"  # espeak-ng voice variant


@dataclass
class Timeline:
    fps: int
    duration_s: float
    width: int
    height: int
    shots: list[ShotSpan]
    dialogue: list[DialogueLine] = field(default_factory=list)
    events: list[SoundEvent] = field(default_factory=list)
    setting: str = "studio"  # drives ambience: street, park, kitchen, beach, forest, office, studio
    mood: str = "upbeat"  # drives music: upbeat, calm, tense, sad, epic, funny
    voices: dict[str, VoiceSpec] = field(default_factory=dict)


@dataclass(frozen=True)
class SpokenLine:
    """A dialogue line as it was actually voiced: the span subtitles must match."""

    speaker: str
    text: str
    start_s: float
    end_s: float
