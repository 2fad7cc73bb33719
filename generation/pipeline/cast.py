"""Cast: put consented people into the scene.

Each cast cameo is authorised again through the caller's callback just before rendering (the
owner may have said no since submission), its person cutout becomes a texture the renderer
places in the world, its voice profile sets the speaker's pitch, and the owner's portrayal
instructions are applied to what the storyboard asks of the subject.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from generation.pipeline.render import CastTexture
from generation.pipeline.storyboard import Storyboard
from generation.pipeline.timeline import VoiceSpec

# Verbs an owner can rule out in plain words ("no jumping", "don't make me dance").
VERB_FORMS = {
    "jump": ("jump", "jumping", "jumps"),
    "run": ("run", "running", "runs"),
    "walk": ("walk", "walking", "walks"),
    "wave": ("wave", "waving", "waves"),
    "dance": ("dance", "dancing", "dances"),
    "sit": ("sit", "sitting", "sits"),
    "knock_over": ("knock", "knocking", "knocks", "break", "breaking", "smash"),
}
NO_SPEECH = re.compile(
    r"\b(no|never|don'?t|do not)\b[^.]*\b(speak|speaking|talk|talking|lines?|dialogue)\b"
)


class CastRefused(Exception):
    """The double may no longer be cast: the job must stop before any frame is drawn."""

    retryable = False  # the job runner fails the job with `code` instead of retrying it

    def __init__(self, cameo_id: str, code: str, message: str) -> None:
        super().__init__(message)
        self.cameo_id, self.code, self.message = cameo_id, code, message


@dataclass(frozen=True)
class CastMember:
    cameo_id: str
    subject: str  # the storyboard subject this person plays
    cutout_png: bytes  # RGBA person cutout from the double's biometrics
    voice_pitch_hz: float | None = None
    instructions: str = ""


@dataclass
class CastPlan:
    textures: dict[str, CastTexture] = field(default_factory=dict)
    voices: dict[str, VoiceSpec] = field(default_factory=dict)
    receipts: dict[str, dict[str, Any]] = field(default_factory=dict)
    honoured: dict[str, list[str]] = field(default_factory=dict)  # subject -> what was removed
    timings: dict[str, float] = field(default_factory=dict)


def forbidden_verbs(instructions: str) -> set[str]:
    lowered = instructions.lower()
    banned = set()
    for verb, forms in VERB_FORMS.items():
        for form in forms:
            if re.search(rf"\b(no|never|don'?t|do not|without)\b[^.]*\b{form}\b", lowered):
                banned.add(verb)
    return banned


def honour_instructions(board: Storyboard, subject: str, instructions: str) -> list[str]:
    """Remove what the owner ruled out for their double; returns what was removed."""
    banned = forbidden_verbs(instructions)
    silent = bool(NO_SPEECH.search(instructions.lower()))
    removed = []
    for shot in board.shots:
        for action in [a for a in shot.actions if a.subject == subject and a.verb in banned]:
            shot.actions.remove(action)
            removed.append(f"action:{action.verb}")
        if silent:
            for line in [d for d in shot.dialogue if d.speaker == subject]:
                shot.dialogue.remove(line)
                removed.append("dialogue")
    return removed


def cutout_texture(png: bytes) -> CastTexture:
    """Decode an RGBA cutout and trim it to the person's extent (alpha > 0)."""
    import cv2

    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    if image is None or image.ndim != 3 or image.shape[2] != 4:
        raise ValueError("The cutout is not an RGBA image.")
    rgba = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    ys, xs = np.nonzero(rgba[:, :, 3] > 8)
    if len(ys) == 0:
        raise ValueError("The cutout has no person in it.")
    return CastTexture(cutout=rgba[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].copy())


def prepare_cast(
    board: Storyboard,
    members: list[CastMember],
    authorize: Callable[[str], dict[str, Any]],
) -> CastPlan:
    """Authorise every member again, then build textures, voices and the honoured board."""
    plan = CastPlan()
    started = time.perf_counter()
    for member in members:
        # The last check before pixels: a refusal raises and nothing is rendered.
        plan.receipts[member.cameo_id] = authorize(member.cameo_id)
    plan.timings["authorize"] = time.perf_counter() - started
    started = time.perf_counter()
    subjects = {s.name: s for s in board.subjects}
    for member in members:
        subject = subjects.get(member.subject)
        if subject is None:
            raise ValueError(f"No subject {member.subject!r} to cast {member.cameo_id} as.")
        subject.cameo_id = member.cameo_id
        plan.textures[member.cameo_id] = cutout_texture(member.cutout_png)
        if member.voice_pitch_hz:
            plan.voices[member.subject] = VoiceSpec(pitch_hz=member.voice_pitch_hz)
        plan.honoured[member.subject] = honour_instructions(
            board, member.subject, member.instructions
        )
    plan.timings["textures"] = time.perf_counter() - started
    return plan
