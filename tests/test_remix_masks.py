"""The background swap's person masks on held-out real photos (tests/remix_photos.py).

People and scenes the segmentation's thresholds were never set on (the held-out split);
floors set from bench/remix_masks.py's figures on them, with a margin. Where the issue's
targets are not met yet (min IoU 0.90, no frame over 0.5 % far old background), the floors
say what is: they keep it from getting worse, not from being better.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests import remix_photos

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def scores() -> list[remix_photos.MaskScore]:
    return remix_photos.evaluate("held_out", size=(270, 480), seconds=3.0, fps=12)


def test_the_held_out_set_has_people_over_scenes_in_every_kind_of_clip() -> None:
    chosen = remix_photos.clips("held_out", size=(270, 480), seconds=3.0, fps=12)
    assert len(chosen) >= 8
    names = " ".join(name for name, _ in chosen)
    assert all(variant in names for variant in remix_photos.VARIANTS)
    assert all(scene in names for scene in remix_photos.scenes("held_out"))
    tuning = {p.person for p in remix_photos.people("tuning")}
    assert not tuning & {p.person for p in remix_photos.people("held_out")}


def test_masks_match_the_true_person_on_held_out_photos(
    scores: list[remix_photos.MaskScore],
) -> None:
    mean = float(np.mean([s.iou_mean for s in scores]))
    worst = min(s.iou_min for s in scores)
    for s in scores:
        print(f"{s.name}: IoU {s.iou_mean:.3f} min {s.iou_min:.3f}")
    assert mean >= 0.95  # measured 0.971 (the target: 0.95)
    assert worst >= 0.85  # measured 0.882 (target 0.90: not met; a board over the face)
    assert all(s.iou_mean >= 0.93 for s in scores)  # measured 0.95 at worst


def test_little_old_background_survives_far_from_the_person(
    scores: list[remix_photos.MaskScore],
) -> None:
    frames = sum(s.frames for s in scores)
    over = sum(s.leak_frames for s in scores)
    print(f"frames over 0.5 %: {over} of {frames}; worst {max(s.leak_max for s in scores):.4f}")
    assert max(s.leak_max for s in scores) <= 0.03  # measured 0.017 (target 0.005: not met)
    assert over <= 0.12 * frames  # measured 25 of 324 (50 before the steady plate)


def test_the_edge_does_not_flicker_beyond_the_truths_own_motion(
    scores: list[remix_photos.MaskScore],
) -> None:
    flicker = float(np.mean([s.flicker for s in scores]))
    assert flicker <= 0.12  # measured 0.082 (mean alpha change at the outline, 0-1)
