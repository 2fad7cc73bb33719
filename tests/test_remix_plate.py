"""The steady plate (old background seen bare) and the body carried through a lost pose.

Frames are made here from a real photo (skimage's coffee) so the textures are real; the
'person' is a patch of another real photo (skimage's astronaut) moving over it."""

from __future__ import annotations

import numpy as np
import pytest

from remix.pipeline.people import Body, BodyCarrier
from remix.pipeline.plate import clear_old_background, learn_plate

SIZE = (120, 200)  # working size: width, height


@pytest.fixture(scope="module")
def photos() -> tuple[np.ndarray, np.ndarray]:
    import cv2
    from skimage import data

    scene = cv2.resize(data.coffee()[:, :, ::-1], SIZE, interpolation=cv2.INTER_AREA)
    person = cv2.resize(data.astronaut()[:, :, ::-1], (40, 90), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(scene), np.ascontiguousarray(person)


def _frames(
    scene: np.ndarray, person: np.ndarray, *, count: int = 24, camera_moves: bool = False
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The person sliding across the scene; masks that also keep a patch of old background
    while the person is near it (the leak a segmenter makes: a thing touching the person)."""
    rng = np.random.default_rng(7)
    frames, masks = [], []
    for i in range(count):
        backdrop = np.roll(scene, 3 * i, axis=1) if camera_moves else scene
        frame = backdrop.copy()
        x = 10 + 3 * i
        frame[100:190, x : x + 40] = person
        noise = rng.normal(0, 2.5, frame.shape)
        frame = np.clip(frame + noise, 0, 255).astype(np.uint8)
        mask = np.zeros(frame.shape[:2], np.uint8)
        mask[100:190, x : x + 40] = 255
        if 50 <= x <= 110:
            mask[60:80, 90:110] = 255  # old background kept as person, 20 px above them
        frames.append(frame)
        masks.append(mask)
    return frames, masks


def test_old_background_kept_beside_a_moving_person_is_cleared(photos) -> None:
    # given
    frames, masks = _frames(*photos)
    # when
    plate = learn_plate(frames, masks)
    cleared = [clear_old_background(m, f, None, plate) for m, f in zip(masks, frames, strict=True)]
    # then: the leak is gone in every frame and the person is all there
    near = [i for i in range(len(frames)) if 50 <= 10 + 3 * i <= 110]
    assert near and all(masks[i][62:78, 92:108].min() == 255 for i in near)
    for mask in cleared:
        assert mask[62:78, 92:108].max() < 64
    person_kept = [
        m[102:188, 10 + 3 * i + 2 : 10 + 3 * i + 38].mean() for i, m in enumerate(cleared)
    ]
    assert min(person_kept) > 250


def test_the_pose_models_confident_body_is_never_cleared(photos) -> None:
    frames, masks = _frames(*photos)
    plate = learn_plate(frames, masks)
    core = np.zeros(masks[0].shape, bool)
    core[60:80, 90:110] = True  # the pose model says: a person is there
    assert clear_old_background(masks[15], frames[15], None, plate)[62:78, 92:108].max() < 64
    assert clear_old_background(masks[15], frames[15], core, plate)[62:78, 92:108].min() == 255


def test_nothing_is_cleared_when_the_camera_moves(photos) -> None:
    frames, masks = _frames(*photos, camera_moves=True)
    plate = learn_plate(frames, masks)
    for mask, frame in zip(masks, frames, strict=True):
        assert np.array_equal(clear_old_background(mask, frame, None, plate), mask)


def _body(mask: np.ndarray, **kinds: bool) -> Body:
    return Body(mask.astype(np.float32), (0.0, 0.0), mask.astype(np.float32), **kinds)


def test_a_body_the_pose_model_lost_is_carried_where_its_pixels_went(photos) -> None:
    scene, person = photos
    frames, masks = _frames(scene, person)
    carrier = BodyCarrier(fps=24)
    selfie = np.zeros(masks[0].shape, np.float32)  # the selfie model sees nothing useful
    assert carrier.body(frames[0], selfie, _body(masks[0] > 0, anchored=True)) is not None
    # when: the pose model has lost the body three frames later (it moved 9 px)
    carried = carrier.body(frames[3], selfie, None)
    # then
    assert carried is not None and carried.held
    ys, xs = np.nonzero(carried.mask[100:190] > 0.5)
    assert abs(xs.min() - (10 + 9)) <= 1 and abs(ys.min()) <= 1


def test_a_carried_body_is_let_go_once_its_pixels_are_gone(photos) -> None:
    scene, person = photos
    frames, masks = _frames(scene, person)
    carrier = BodyCarrier(fps=24)
    selfie = np.zeros(masks[0].shape, np.float32)
    carrier.body(frames[0], selfie, _body(masks[0] > 0, anchored=True))
    empty = np.ascontiguousarray(np.roll(scene, 60, axis=0))  # someone else's picture entirely
    assert carrier.body(empty, selfie, None) is None
    assert carrier.body(frames[2], selfie, None) is None  # and not picked up again
