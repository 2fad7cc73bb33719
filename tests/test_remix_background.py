"""Background swap on encoded synthetic sources: the tracked mask against the known truth, and
what the compositor keeps and replaces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cameo.biometrics.faces import face_backend
from remix.pipeline.background import BackgroundCompositor, background_plate
from remix.pipeline.track import SubjectTrack, track_subject
from tests.remix_media import SourceSpec, SourceTruth, build_source, mask_iou, new_background

pytestmark = pytest.mark.slow

# Clip kinds, with the IoU floors (mean, min) set from measurement with a margin.
KINDS = {
    "moving": (SourceSpec(), (0.93, 0.88)),
    "cut_and_occlusion": (
        SourceSpec(seconds=3.0, background="rocket", cut_at=1.5, occlude=(0.6, 0.9)),
        (0.90, 0.62),  # the board hides the head: measured 0.70 there (0.58 before held masks)
    ),
    "two_people": (
        SourceSpec(
            seconds=2.0,
            second="rachel",
            second_from=0.5,
            center_x=0.64,
            sway=0.04,
            face_width=0.22,
        ),
        (0.87, 0.80),
    ),
}


def decoded(path: Path) -> list[np.ndarray]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


@pytest.fixture(scope="module")
def sources(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[SourceTruth, list[np.ndarray], SubjectTrack]]:
    faces = face_backend(None)
    built = {}
    for kind, (spec, _) in KINDS.items():
        truth = build_source(tmp_path_factory.mktemp(kind) / "source.mp4", spec)
        frames = decoded(truth.path)
        track = track_subject(iter(frames), faces=faces, fps=spec.fps)
        built[kind] = (truth, frames, track)
    return built


def test_the_source_is_an_h264_and_aac_clip_with_truth_for_every_frame(
    sources: dict[str, tuple[SourceTruth, list[np.ndarray], SubjectTrack]],
) -> None:
    import av

    truth, frames, _ = sources["moving"]
    with av.open(str(truth.path)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
    assert len(frames) == len(truth.masks) == len(truth.boxes) == 24
    assert frames[0].shape == (320, 180, 3) and truth.masks[0].shape == (320, 180)
    assert truth.masks[0].dtype == bool and 0.2 < truth.masks[0].mean() < 0.8
    assert truth.background.shape == (320, 180, 3)


@pytest.mark.parametrize("kind", list(KINDS))
def test_the_tracked_mask_matches_the_true_person_in_every_frame(
    kind: str, sources: dict[str, tuple[SourceTruth, list[np.ndarray], SubjectTrack]]
) -> None:
    truth, _, track = sources[kind]
    floor_mean, floor_min = KINDS[kind][1]

    scores = [mask_iou(f.mask, t) for f, t in zip(track.frames, truth.masks, strict=True)]

    print(f"{kind}: mask IoU mean {np.mean(scores):.3f} min {min(scores):.3f}")
    assert np.mean(scores) >= floor_mean
    assert min(scores) >= floor_min


def test_the_person_is_kept_and_everything_else_becomes_the_new_plate(
    sources: dict[str, tuple[SourceTruth, list[np.ndarray], SubjectTrack]],
) -> None:
    import cv2

    # given
    truth, frames, track = sources["moving"]
    plate = new_background(180, 320)
    compositor = BackgroundCompositor(plate)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (11, 11))
    kept, replaced = [], []

    for frame, tracked, true in zip(frames, track.frames, truth.masks, strict=True):
        # when
        out = compositor.composite(frame, tracked.mask)

        # then
        assert out.shape == frame.shape and out.dtype == np.uint8
        core = cv2.erode(true.astype(np.uint8), kernel).astype(bool)
        away = ~cv2.dilate(true.astype(np.uint8), kernel).astype(bool)
        kept.append(_mean_abs(out, frame, core))
        replaced.append(_mean_abs(out, plate, away))
    print(f"inside the person {np.mean(kept):.1f}, outside {np.mean(replaced):.1f} grey levels")
    # The colour match moves the person, moderately: measured mean 15.5, worst frame 20.
    assert np.mean(kept) <= 18 and max(kept) <= 24
    assert max(replaced) <= 3


def test_the_colour_match_moves_the_person_toward_the_plate_but_not_all_the_way(
    sources: dict[str, tuple[SourceTruth, list[np.ndarray], SubjectTrack]],
) -> None:
    import cv2

    truth, frames, track = sources["moving"]
    plate = new_background(180, 320)
    core = cv2.erode(truth.masks[5].astype(np.uint8), np.ones((21, 21), np.uint8)).astype(bool)

    def person_lab(image: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(image, cv2.COLOR_BGR2LAB)[core].astype(np.float32).mean(axis=0)

    matched = BackgroundCompositor(plate, match_strength=0.5)
    unmatched = BackgroundCompositor(plate, match_strength=0.0)
    for i in range(6):
        graded = matched.composite(frames[i], track.frames[i].mask)
        plain = unmatched.composite(frames[i], track.frames[i].mask)

    source, moved, target = person_lab(frames[5]), person_lab(graded), person_lab(plate)
    gap = target - source
    assert np.linalg.norm(gap) > 20  # the beach is far from the astronaut's orange suit
    toward = float((moved - source) @ gap) / float(gap @ gap)
    print(f"LAB mean moved {toward:.2f} of the way to the plate's")
    assert 0.05 < toward < 0.6
    assert np.abs(person_lab(plain) - source).max() < 3  # only where the mask missed (helmet)


def test_the_compositor_does_not_change_its_inputs() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    mask = np.zeros((64, 48), np.uint8)
    mask[10:50, 10:40] = 255
    plate = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    moving_plate = rng.integers(0, 256, (64, 48, 3), dtype=np.uint8)
    copies = [a.copy() for a in (frame, mask, plate, moving_plate)]

    compositor = BackgroundCompositor(plate)
    still = compositor.composite(frame, mask)
    moved = compositor.composite(frame, mask, moving_plate)

    for original, copy in zip((frame, mask, plate, moving_plate), copies, strict=True):
        assert (original == copy).all()
    assert (still[0, 0] == plate[0, 0]).all() and (moved[0, 0] == moving_plate[0, 0]).all()
    assert compositor.name == "mask-composite+lab-match+light-wrap"


def test_the_background_plate_cover_crops_to_the_exact_size() -> None:
    # given: a landscape image, left third red, middle green, right third blue
    image = np.zeros((400, 600, 3), np.uint8)
    image[:, :200] = (0, 0, 255)
    image[:, 200:400] = (0, 255, 0)
    image[:, 400:] = (255, 0, 0)

    # when: a portrait plate, and one larger than the image
    portrait = background_plate(image, 180, 320)
    large = background_plate(image, 1280, 720)

    # then: filled edge to edge (no bars), centred on the middle of the picture
    assert portrait.shape == (320, 180, 3) and large.shape == (720, 1280, 3)
    assert (portrait[:, 20:160] == (0, 255, 0)).all()
    assert (large[:, :400].max(axis=2) > 200).all()
    assert (large[360, 640] == (0, 255, 0)).all()


def _mean_abs(a: np.ndarray, b: np.ndarray, where: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16))[where].mean())


def test_after_a_reset_the_grade_follows_the_new_shot_at_once() -> None:
    plate = np.full((64, 48, 3), 200, np.uint8)  # the new setting: as light as shot two
    mask = np.zeros((64, 48), np.uint8)
    mask[8:56, 8:40] = 255
    dark = np.full((64, 48, 3), 40, np.uint8)
    bright = np.full((64, 48, 3), 200, np.uint8)

    def centre_after(reset: bool) -> int:
        compositor = BackgroundCompositor(plate)
        for _ in range(10):
            compositor.composite(dark, mask)  # a long first shot, in the dark
        if reset:
            compositor.reset()  # the cut
        return int(compositor.composite(bright, mask)[32, 24, 0])

    # Shot two already matches the setting: graded by its own statistics it is left alone;
    # graded by the first shot's stale ones, it is pushed off.
    assert abs(centre_after(reset=True) - 200) <= 1
    assert abs(centre_after(reset=False) - 200) > 3
