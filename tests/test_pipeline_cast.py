from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from generation.pipeline.cast import (
    CastMember,
    CastRefused,
    cutout_texture,
    forbidden_verbs,
    prepare_cast,
)
from generation.pipeline.render import ProceduralRenderer
from generation.pipeline.scene import build_scene
from generation.pipeline.storyboard import Action, Line, Shot, Storyboard, Subject


def cutout_png(color: tuple[int, int, int] = (255, 0, 255)) -> bytes:
    """A 'person' cutout: an opaque magenta figure inside a transparent margin."""
    rgba = np.zeros((200, 100, 4), np.uint8)
    rgba[20:190, 30:70] = (*color, 255)  # BGRA order for OpenCV
    ok, data = cv2.imencode(".png", rgba)
    assert ok
    return data.tobytes()


def board() -> Storyboard:
    return Storyboard(
        shots=[
            Shot(
                framing="wide",
                duration_s=1.0,
                subjects=["maya"],
                actions=[Action("maya", "jump", 0.2), Action("maya", "wave", 0.5)],
                dialogue=[Line("maya", "Hi!", 0.1)],
            )
        ],
        subjects=[Subject("maya")],
    )


def test_plain_words_rule_out_verbs() -> None:
    assert forbidden_verbs("No jumping please, and don't make me dance.") == {"jump", "dance"}
    assert forbidden_verbs("Make me look heroic!") == set()


def test_the_owners_instructions_are_honoured_and_reported() -> None:
    story = board()
    member = CastMember(
        "c1",
        "maya",
        cutout_png(),
        voice_pitch_hz=210.0,
        instructions="Never jumping. Don't give me any lines.",
    )
    plan = prepare_cast(story, [member], authorize=lambda cameo: {"cameo": cameo, "ok": True})
    assert [a.verb for a in story.shots[0].actions] == ["wave"]
    assert story.shots[0].dialogue == []
    assert sorted(plan.honoured["maya"]) == ["action:jump", "dialogue"]
    assert plan.voices["maya"].pitch_hz == 210.0
    assert plan.receipts == {"c1": {"cameo": "c1", "ok": True}}
    assert story.subjects[0].cameo_id == "c1"


def test_a_refusal_at_the_last_check_stops_the_cast() -> None:
    def refuse(cameo: str) -> dict[str, Any]:
        raise CastRefused(cameo, "cameo_revoked", "revoked")

    with pytest.raises(CastRefused):
        prepare_cast(board(), [CastMember("c1", "maya", cutout_png())], authorize=refuse)


def test_a_cutout_is_trimmed_to_the_person() -> None:
    texture = cutout_texture(cutout_png())
    assert texture.cutout.shape == (170, 40, 4)
    assert (texture.cutout[:, :, 3] == 255).all()


def test_the_cast_person_appears_in_the_rendered_frames() -> None:
    story = board()
    plan = prepare_cast(story, [CastMember("c1", "maya", cutout_png())], authorize=lambda c: {})
    scene = build_scene(story, size=(144, 256))
    frames = list(ProceduralRenderer(blur_samples=1).render(scene, casts=plan.textures))
    magenta = (np.abs(frames[0].astype(int) - (255, 0, 255)).sum(axis=2) < 40).sum()
    assert magenta > 100  # the cameo's pixels, not a stick figure
    uncast = list(ProceduralRenderer(blur_samples=1).render(build_scene(board(), size=(144, 256))))
    assert (np.abs(uncast[0].astype(int) - (255, 0, 255)).sum(axis=2) < 40).sum() == 0
