"""The remix pipeline end to end, on clips whose truth is known, scored on the decoded output.

No database: the library is called directly with a consent callback, as the job does.
Figures are printed (run with -s to read them): mask IoU, identity similarities.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generation.pipeline.cast import CastRefused
from generation.pipeline.provenance import SigningKeys, watermark_box
from remix.pipeline.pipeline import CameoDouble, RemixError, RemixRequest, decode_frames, run
from remix.pipeline.score import face_embedding, identity_scores, mask_ious
from tests import remix_media as rm

pytestmark = pytest.mark.slow

SPEC = rm.SourceSpec(seconds=2.0, size=(240, 432), fps=12)


@functools.cache
def keys() -> SigningKeys:
    return SigningKeys.generate("remix tests")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> rm.SourceTruth:
    return rm.build_source(tmp_path_factory.mktemp("remix") / "source.mp4", SPEC)


@pytest.fixture(scope="module")
def cut_source(tmp_path_factory: pytest.TempPathFactory) -> rm.SourceTruth:
    """Two shots, and a board hiding the face for a moment in the first."""
    spec = rm.SourceSpec(seconds=2.5, size=(240, 432), fps=12, cut_at=1.5, occlude=(0.5, 0.8))
    return rm.build_source(tmp_path_factory.mktemp("remix-cut") / "source.mp4", spec)


def allow(cameo_id: str) -> dict[str, Any]:
    return {"cameo": cameo_id, "basis": "test"}


def remix(source: rm.SourceTruth, workdir: Path, **fields: Any) -> Any:
    authorize = fields.pop("authorize", allow)
    request = RemixRequest(
        source=source.path,
        job_id="test-job",
        source_ref={"post": 1, "video": "v-1", "author": "ana"},
        lineage=[{"post": 1, "video": "v-1", "author": "ana"}],
        **fields,
    )
    seen: list[tuple[str, float]] = []
    result = run(
        request,
        workdir=workdir,
        on_progress=lambda s, f: seen.append((s, f)),
        authorize=authorize,
        keys=keys(),
    )
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] < 1.0
    return result


def tom_hanks_png() -> bytes:
    import cv2

    from tests.cameo_media import load_photo

    return cv2.imencode(".png", load_photo("tom_hanks").image)[1].tobytes()


def _band(mask: np.ndarray, pixels: int, grow: bool) -> np.ndarray:
    import cv2

    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pixels + 1, 2 * pixels + 1))
    op = cv2.dilate if grow else cv2.erode
    return op(mask.astype(np.uint8), kernel).astype(bool)


def test_a_background_swap_keeps_the_person_and_shows_the_new_setting(
    source: rm.SourceTruth, tmp_path: Path
) -> None:
    import cv2

    width, height = SPEC.size
    plate = rm.new_background(width, height)
    image = tmp_path / "plate.png"
    cv2.imwrite(str(image), plate)
    result = remix(source, tmp_path / "work", operation="swap_background", background_image=image)

    ious = mask_ious([f.mask for f in result.track.frames], source.masks)
    print(
        f"\nbackground swap {width}x{height}: mask IoU mean {np.mean(ious):.3f} "
        f"min {np.min(ious):.3f} over {len(ious)} frames"
    )
    assert np.mean(ious) >= 0.85 and np.min(ious) >= 0.75

    frames = list(decode_frames(result.video))
    sources = list(decode_frames(source.path))
    assert len(frames) == len(sources) == len(source.masks)
    kept, replaced = [], []
    for index, (out, src, truth) in enumerate(zip(frames, sources, source.masks, strict=True)):
        # The moving watermark is new in the remix: leave its box out of the comparison.
        x, y, w, h = watermark_box(index / SPEC.fps, height, width)
        free = np.ones(truth.shape, bool)
        free[max(0, y - 4) : y + h + 4, max(0, x - 4) : x + w + 4] = False
        inside = _band(truth, 4, grow=False) & free
        outside = ~_band(truth, 6, grow=True) & free
        diff = np.abs(out.astype(np.int16) - src.astype(np.int16)).mean(axis=2)
        kept.append(float(diff[inside].mean()))
        new = np.abs(out.astype(np.int16) - plate.astype(np.int16)).mean(axis=2)
        replaced.append(float(new[outside].mean()))
    print(
        f"person kept: mean abs diff {np.mean(kept):.1f}; background vs new plate: "
        f"{np.mean(replaced):.1f} grey levels"
    )
    assert max(kept) < 25  # colour-matched toward the new light, not repainted
    assert max(replaced) < 8  # H.264 at crf 20 and the plate's fine texture
    assert result.manifest["remix"]["method"] == result.backends["composite"]
    assert result.backends["audio"] == "source (stream copy)"
    assert (result.width, result.height, result.frames) == (width, height, len(sources))


def test_a_subject_swap_puts_the_cameo_s_face_on_every_frame_where_a_face_is_seen(
    cut_source: rm.SourceTruth, tmp_path: Path
) -> None:
    source = cut_source
    import cv2

    from cameo.biometrics.faces import face_backend
    from tests.cameo_media import load_photo

    double = CameoDouble("cameo-1", tom_hanks_png(), voice_pitch_hz=110.0)
    result = remix(
        source,
        tmp_path / "work",
        operation="swap_subject",
        cameo=double,
        dialogue=["Nice to meet you."],
    )

    faces = face_backend(None)
    cameo = face_embedding(faces, load_photo("tom_hanks").image)
    first = next(decode_frames(source.path))
    subject = face_embedding(faces, first)
    near = [f.face.box if f.face else None for f in result.track.frames]
    scores = identity_scores(
        decode_frames(result.video), faces, cameo, subject, source.face_visible, near
    )
    print(f"\nsubject swap ({result.backends['swap']}): {scores.summary()}")
    visible = sum(source.face_visible)
    assert result.counts["cuts"] == 1
    assert len(scores.frames) >= 0.8 * visible and len(scores.missed) <= 0.2 * visible
    assert scores.closer_to_cameo == len(scores.frames)  # in every frame with a face
    assert result.manifest["cast"] == [
        {"cameo": "cameo-1", "consent_receipt": allow("cameo-1"), "role": "swapped_in"}
    ]
    assert result.spoken and result.spoken[0].text == "Nice to meet you."
    assert result.backends["audio"] == "source+espeak-ng"
    assert cv2.imread(str(result.poster)) is not None
    # the offline swap says it is a preview, in the result and in the signed manifest
    assert result.quality["method"] == result.backends["swap"] == "opencv:mesh-warp+seamless-clone"
    assert result.quality["level"] == "preview" and result.quality["limitation"]
    assert result.manifest["remix"]["quality"] == result.quality


def test_a_cast_refused_just_before_rendering_stops_before_any_frame(
    source: rm.SourceTruth, tmp_path: Path
) -> None:
    def refuse(cameo_id: str) -> dict[str, Any]:
        raise CastRefused(cameo_id, "cameo_not_permitted", "You may not use this cameo.")

    double = CameoDouble("cameo-1", tom_hanks_png())
    with pytest.raises(CastRefused):
        remix(source, tmp_path / "work", operation="swap_subject", cameo=double, authorize=refuse)
    assert not list((tmp_path / "work").glob("*.mp4"))


def test_a_retry_after_a_late_failure_goes_on_from_the_encoded_video(
    source: rm.SourceTruth, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from generation.pipeline import provenance
    from remix.pipeline import track

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the disk filled up while signing")

    work = tmp_path / "work"
    with monkeypatch.context() as patch:
        patch.setattr(provenance, "sign", broken)
        with pytest.raises(OSError):
            remix(source, work, operation="swap_background", background_prompt="a beach")
    assert (work / "video.mp4").exists()

    def untouchable(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the retry tracked the source again")

    monkeypatch.setattr(track, "track_subject", untouchable)
    result = remix(source, work, operation="swap_background", background_prompt="a beach")
    assert result.track is None and result.frames == len(source.masks)
    assert result.backends["composite"] and result.manifest["remix"]["method"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"operation": "swap_background", "background_prompt": "the moon"}, "background_unknown"),
        ({"operation": "swap_subject"}, "cameo_required"),
        ({"operation": "rotate"}, "operation_unknown"),
    ],
)
def test_inputs_that_cannot_remix_fail_first_with_their_code(
    source: rm.SourceTruth, tmp_path: Path, fields: dict[str, Any], code: str
) -> None:
    with pytest.raises(RemixError) as raised:
        remix(source, tmp_path / "work", **fields)
    assert raised.value.code == code


def test_a_source_that_is_not_a_video_is_refused_as_unreadable(tmp_path: Path) -> None:
    bogus = tmp_path / "source.mp4"
    bogus.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    truth = rm.SourceTruth(bogus, [], [], [], np.zeros((2, 2, 3), np.uint8))
    with pytest.raises(RemixError) as raised:
        remix(truth, tmp_path / "work", operation="swap_background", background_prompt="a beach")
    assert raised.value.code == "source_unreadable"


def test_a_cancel_while_swapping_stops_every_thread_and_leaves_no_video(
    source: rm.SourceTruth, tmp_path: Path
) -> None:
    import threading

    class Cancelled(Exception):
        pass

    def cancel_in_render(stage: str, fraction: float) -> None:
        if stage == "render" and fraction > 0.3:
            raise Cancelled

    request = RemixRequest(
        source=source.path,
        job_id="cancelled",
        source_ref={"post": 1},
        operation="swap_background",
        background_prompt="a beach at sunset",
    )
    with pytest.raises(Cancelled):
        run(request, workdir=tmp_path, on_progress=cancel_in_render, authorize=allow, keys=keys())
    # The exception still holds the pipeline's frames: the threads stopped all the same.
    left = [t.name for t in threading.enumerate() if t.name.startswith(("prefetch", "pose"))]
    assert not left
    assert not (tmp_path / "final.mp4").exists()
