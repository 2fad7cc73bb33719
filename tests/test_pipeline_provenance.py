"""Provenance: the moving watermark, signed manifests (C2PA and the JSON sidecar), fingerprints.

Clips are built here with ffmpeg from lavfi sources: a few seconds at 180x320, 24 fps.
"""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from generation.pipeline import fingerprint as fp
from generation.pipeline import provenance as stage
from generation.pipeline.ffmpeg import ffmpeg_exe
from generation.pipeline.probe import probe

FPS, WIDTH, HEIGHT, SECONDS = 24, 180, 320, 3
QUIET = ["-hide_banner", "-loglevel", "error", "-y"]


# --- Media helpers -------------------------------------------------------------------------------
def lavfi_clip(source: str, out: Path, *, seconds: float = SECONDS) -> Path:
    size = f"s={WIDTH}x{HEIGHT}:r={FPS}"
    graph = f"{source}:{size}" if "=" in source else f"{source}={size}"
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"]
    argv = [ffmpeg_exe(), *QUIET, "-f", "lavfi", "-i", graph, "-t", str(seconds), *x264]
    subprocess.run([*argv, "-movflags", "+faststart", str(out)], check=True)
    return out


def decode_rgb(clip: Path) -> np.ndarray:
    argv = [ffmpeg_exe(), *QUIET, "-i", str(clip), "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
    raw = subprocess.run(argv, capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, HEIGHT, WIDTH, 3)


def encode_rgb(frames: np.ndarray, out: Path) -> Path:
    source = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{WIDTH}x{HEIGHT}", "-r", str(FPS)]
    x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p"]
    argv = [ffmpeg_exe(), *QUIET, *source, "-i", "pipe:", *x264, str(out)]
    subprocess.run(argv, input=frames.tobytes(), check=True)
    return out


def reencode(clip: Path, out: Path, *options: str) -> Path:
    subprocess.run([ffmpeg_exe(), *QUIET, "-i", str(clip), *options, str(out)], check=True)
    return out


def flip_mdat_bytes(clip: Path, out: Path) -> Path:
    """A copy of clip with 16 bytes in the middle of its media data inverted."""
    data, offset = bytearray(clip.read_bytes()), 0
    while data[offset + 4 : offset + 8] != b"mdat":
        offset += int.from_bytes(data[offset : offset + 4], "big")
    size = int.from_bytes(data[offset : offset + 4], "big")
    middle = offset + size // 2
    data[middle : middle + 16] = bytes(b ^ 0xFF for b in data[middle : middle + 16])
    out.write_bytes(bytes(data))
    return out


def isoluminant_gradient(count: int) -> np.ndarray:
    """Brown to red, both about 100 in luma: the grey image is nearly one shade."""
    ys, xs = np.mgrid[0:HEIGHT, 0:WIDTH] / max(HEIGHT, WIDTH)
    brown, red = np.array([140.0, 85.0, 80.0]), np.array([230.0, 50.0, 20.0])
    frames = []
    for index in range(count):
        angle = 0.4 + index / count  # turns slowly over the clip
        ramp = np.clip(xs * np.cos(angle) + ys * np.sin(angle), 0, 1)[..., None]
        frames.append((brown + (red - brown) * ramp).astype(np.uint8))
    return np.stack(frames)


def manifest() -> dict[str, Any]:
    return stage.generation_manifest(
        pipeline="doubletake",
        version="0.1.0",
        backends={"render": "procedural-torch-cpu", "encode": "ffmpeg version 9"},
        job="job-42",
        storyboard_sha256=stage.canonical_sha256({"prompt": "a cat knocks over a vase"}),
        consent_receipts={"c-7": {"grant": "g-19", "scope": "remix", "signature": "x1"}},
    )


# --- Fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provenance")


@pytest.fixture(scope="module")
def keys() -> stage.SigningKeys:
    return stage.SigningKeys.generate("Doubletake test signer")


@pytest.fixture(scope="module")
def clip(media: Path) -> Path:
    return lavfi_clip("testsrc2", media / "clip.mp4", seconds=2)


@pytest.fixture(scope="module")
def signed(clip: Path, media: Path, keys: stage.SigningKeys) -> stage.ProvenanceResult:
    return stage.sign(clip, media / "signed.mp4", manifest(), keys=keys)


@pytest.fixture(scope="module")
def sidecar_signed(clip: Path, media: Path, keys: stage.SigningKeys) -> stage.ProvenanceResult:
    return stage.sign(clip, media / "plain.mp4", manifest(), keys=keys, backend="sidecar")


# --- Watermark -----------------------------------------------------------------------------------
def textured_frame(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    rng = np.random.default_rng(3)
    return rng.integers(40, 200, size=(height, width, 3), dtype=np.uint8)


def changed_pixels(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    return np.abs(before.astype(int) - after.astype(int)).max(axis=2) > 8


def test_the_watermark_is_drawn_inside_its_box_and_nowhere_else() -> None:
    frame = textured_frame()
    marked = stage.watermark_frame(frame, 0.0)
    x, y, w, h = stage.watermark_box(0.0, HEIGHT, WIDTH)
    changed = changed_pixels(frame, marked)
    inside = changed[y : y + h, x : x + w]
    assert inside.mean() > 0.15  # text strokes with their outline cover a good part of the box
    assert changed.sum() == inside.sum()
    assert (frame == textured_frame()).all()  # the input frame is left alone


@pytest.mark.parametrize("height, width", [(320, 180), (640, 360), (1280, 720), (1080, 1920)])
def test_the_watermark_is_one_clean_mark(height: int, width: int) -> None:
    # On a flat grey frame the white fill brightens and the dark outline darkens: every darkened
    # pixel must hug the fill, or a second copy of the text is showing beside the first.
    import cv2

    frame = np.full((height, width, 3), 128, np.uint8)
    marked = stage.watermark_frame(frame, 0.0).astype(int)[..., 0]
    fill, outline = marked > 160, marked < 112
    assert fill.sum() > 100 and outline.sum() > 0.5 * fill.sum()  # outlined all round
    to_fill = cv2.distanceTransform((~fill).astype(np.uint8), cv2.DIST_L2, 5)
    reach = np.percentile(to_fill[outline], 50)
    assert to_fill[outline].max() <= 2 * reach + 2


def test_the_watermark_moves_between_t0_and_t5() -> None:
    frame = textured_frame()
    box_0, box_5 = stage.watermark_box(0.0, HEIGHT, WIDTH), stage.watermark_box(5.0, HEIGHT, WIDTH)
    at_0 = changed_pixels(frame, stage.watermark_frame(frame, 0.0))
    at_5 = changed_pixels(frame, stage.watermark_frame(frame, 5.0))
    assert abs(box_0[0] - box_5[0]) + abs(box_0[1] - box_5[1]) > 20
    assert (at_0 & at_5).sum() < 0.2 * at_0.sum()


def test_the_watermark_stays_inside_the_frame_and_visits_every_side() -> None:
    boxes = [stage.watermark_box(t / 4, 1280, 720) for t in range(4 * 60)]
    assert all(x >= 0 and y >= 0 and x + w <= 720 and y + h <= 1280 for x, y, w, h in boxes)
    xs, ys = [b[0] for b in boxes], [b[1] for b in boxes]
    # Over a minute it crosses most of the free space, so no static crop removes it.
    assert max(xs) - min(xs) > 0.8 * (720 - boxes[0][2] - 2 * 0.04 * 720)
    assert max(ys) - min(ys) > 0.8 * (1280 - boxes[0][3] - 2 * 0.04 * 1280)


def test_the_watermark_grows_with_the_frame_height() -> None:
    small = stage.watermark_box(0.0, 360, 640)
    large = stage.watermark_box(0.0, 1080, 1920)
    assert 2.5 < large[3] / small[3] < 3.5


def test_watermark_frames_stamps_each_frame_at_its_own_time() -> None:
    frames = [textured_frame() for _ in range(3)]
    stamped = list(stage.watermark_frames(frames, fps=0.2))  # frames 5 s apart
    assert (stamped[1] == stage.watermark_frame(frames[1], 5.0)).all()
    assert not (stamped[0] == stamped[1]).all()


# --- Signing: C2PA -------------------------------------------------------------------------------
def test_a_signed_mp4_carries_the_manifest_as_c2pa_and_reads_back_trusted(
    signed: stage.ProvenanceResult, keys: stage.SigningKeys
) -> None:
    assert signed.backend == "c2pa", signed.fallback_reason
    assert signed.sidecar is None and signed.manifest_label.startswith("urn:c2pa:")
    check = stage.read(signed.path, trust_root_pem=keys.root_pem)
    assert check.backend == "c2pa"
    assert check.manifest == manifest()
    assert check.manifest["cast"][0] == {
        "cameo": "c-7",
        "consent_receipt": {"grant": "g-19", "scope": "remix", "signature": "x1"},
    }
    assert check.valid and check.trusted and check.state == "Trusted"
    assert check.signer == "Doubletake test signer"
    assert "provenance" in signed.timings


def test_the_c2pa_manifest_says_created_by_a_trained_algorithm(
    signed: stage.ProvenanceResult,
) -> None:
    import c2pa

    with open(signed.path, "rb") as handle, c2pa.Reader("video/mp4", handle) as reader:
        active = reader.get_active_manifest()
    actions = next(a for a in active["assertions"] if a["label"] == "c2pa.actions.v2")
    created = actions["data"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == stage.TRAINED_ALGORITHMIC_MEDIA


def test_the_signed_mp4_still_plays(signed: stage.ProvenanceResult, clip: Path) -> None:
    before, after = probe(clip), probe(signed.path)
    assert after.has_video and after.duration_s == before.duration_s
    assert (decode_rgb(signed.path) == decode_rgb(clip)).all()


def test_without_a_trust_root_the_signature_holds_but_is_untrusted(
    signed: stage.ProvenanceResult,
) -> None:
    check = stage.read(signed.path)
    assert check.signature_valid and not check.tampered
    assert not check.trusted and check.failures == (stage.UNTRUSTED,)
    assert check.valid  # intact; trust was not asked for


def test_another_root_does_not_trust_the_signer(signed: stage.ProvenanceResult) -> None:
    stranger = stage.SigningKeys.generate("Someone else")
    check = stage.read(signed.path, trust_root_pem=stranger.root_pem)
    assert check.signature_valid and not check.trusted and not check.valid


def test_flipping_bytes_in_the_mdat_breaks_the_c2pa_manifest(
    signed: stage.ProvenanceResult, media: Path, keys: stage.SigningKeys
) -> None:
    tampered = flip_mdat_bytes(signed.path, media / "tampered.mp4")
    check = stage.read(tampered, trust_root_pem=keys.root_pem)
    assert check.backend == "c2pa" and check.tampered and not check.valid
    assert "assertion.bmffHash.mismatch" in check.failures


def test_a_damaged_manifest_reads_as_invalid_rather_than_raising(
    signed: stage.ProvenanceResult, media: Path
) -> None:
    data = bytearray(signed.path.read_bytes())
    manifest_box = data.index(b"uuid") - 4  # c2pa-rs puts the manifest store in a uuid box
    data[manifest_box + 200 : manifest_box + 600] = bytes(400)
    damaged = media / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    check = stage.read(damaged)
    assert check.backend == "c2pa" and not check.valid


def test_a_file_without_provenance_reads_as_none(clip: Path) -> None:
    check = stage.read(clip)
    assert check.backend == "none" and check.manifest is None and not check.valid


# --- Signing: the JSON sidecar -------------------------------------------------------------------
def test_the_sidecar_signs_without_touching_the_mp4(
    sidecar_signed: stage.ProvenanceResult, clip: Path, keys: stage.SigningKeys
) -> None:
    assert sidecar_signed.backend == "sidecar"
    assert sidecar_signed.sidecar == sidecar_signed.path.with_name("plain.provenance.json")
    assert sidecar_signed.path.read_bytes() == clip.read_bytes()
    check = stage.read(sidecar_signed.path, trust_root_pem=keys.root_pem)
    assert check.backend == "sidecar" and check.manifest == manifest()
    assert check.valid and check.trusted and check.signer == "Doubletake test signer"


def test_the_sidecar_detects_a_modified_mp4(
    sidecar_signed: stage.ProvenanceResult, media: Path, keys: stage.SigningKeys
) -> None:
    tampered = flip_mdat_bytes(sidecar_signed.path, media / "tampered-plain.mp4")
    check = stage.read(tampered, sidecar_signed.sidecar, trust_root_pem=keys.root_pem)
    assert check.signature_valid and check.tampered and not check.valid


def test_the_sidecar_detects_an_edited_manifest(
    sidecar_signed: stage.ProvenanceResult, media: Path, keys: stage.SigningKeys
) -> None:
    assert sidecar_signed.sidecar is not None
    document = json.loads(sidecar_signed.sidecar.read_text())
    document["manifest"]["generated"] = False
    edited = media / "edited.provenance.json"
    edited.write_text(json.dumps(document))
    check = stage.read(sidecar_signed.path, edited, trust_root_pem=keys.root_pem)
    assert not check.signature_valid and not check.valid
    assert "signature.invalid" in check.failures


def test_a_container_c2pa_does_not_take_falls_back_to_the_sidecar(
    clip: Path, media: Path, keys: stage.SigningKeys
) -> None:
    mkv = reencode(clip, media / "clip.mkv", "-c", "copy")
    result = stage.sign(mkv, media / "signed.mkv", manifest(), keys=keys)
    assert result.backend == "sidecar" and "matroska" in result.fallback_reason
    assert stage.read(result.path, trust_root_pem=keys.root_pem).valid
    with pytest.raises(ValueError, match="MP4 or MOV"):
        stage.sign(mkv, media / "forced.mkv", manifest(), keys=keys, backend="c2pa")


def test_sign_refuses_a_manifest_that_does_not_say_generated(
    clip: Path, media: Path, keys: stage.SigningKeys
) -> None:
    with pytest.raises(ValueError, match="generated"):
        stage.sign(clip, media / "x.mp4", {"pipeline": "doubletake"}, keys=keys)


def test_signing_keys_survive_save_and_load(keys: stage.SigningKeys, tmp_path: Path) -> None:
    keys.save(tmp_path / "keys")
    loaded = stage.SigningKeys.load(tmp_path / "keys")
    assert loaded == keys
    mode = stat.S_IMODE((tmp_path / "keys" / stage.KEY_FILE).stat().st_mode)
    assert mode == 0o600
    assert keys.root_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    assert keys.root_pem in keys.cert_chain_pem and keys.root_pem != keys.cert_chain_pem


# --- Fingerprints --------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def clips(media: Path) -> dict[str, Path]:
    """The original (mandelbrot), copies of it, and unrelated clips."""
    original = lavfi_clip("mandelbrot", media / "original.mp4")
    marked = np.stack(
        [stage.watermark_frame(f, i / FPS) for i, f in enumerate(decode_rgb(original))]
    )
    flat = encode_rgb(isoluminant_gradient(SECONDS * FPS), media / "flat.mp4")
    x264 = ["-c:v", "libx264", "-preset", "veryfast"]
    half = ["-vf", "scale=90:160", *x264, "-crf", "35"]
    return {
        "original": original,
        "watermarked": encode_rgb(marked, media / "watermarked.mp4"),
        "crf35_half": reencode(original, media / "half.mp4", *half),
        "fps30_mkv": reencode(original, media / "fps30.mkv", "-vf", "fps=30", *x264, "-crf", "30"),
        "testsrc2": lavfi_clip("testsrc2", media / "testsrc2.mp4"),
        "life": lavfi_clip("life=mold=10:ratio=0.5:seed=7:life_color=#e0c060", media / "life.mp4"),
        "smptebars": lavfi_clip("smptebars", media / "smptebars.mp4"),
        "flat": flat,
        "flat_crf35_half": reencode(flat, media / "flat-half.mp4", *half),
    }


@pytest.fixture(scope="module")
def prints(clips: dict[str, Path]) -> dict[str, fp.Fingerprint]:
    return {name: fp.fingerprint(path) for name, path in clips.items()}


def test_a_clip_matches_itself(prints: dict[str, fp.Fingerprint]) -> None:
    assert fp.similarity(prints["original"], prints["original"]) == pytest.approx(1.0)


@pytest.mark.parametrize("copy", ["crf35_half", "fps30_mkv", "watermarked"])
def test_re_encoded_and_watermarked_copies_still_match(
    prints: dict[str, fp.Fingerprint], copy: str
) -> None:
    score = fp.similarity(prints["original"], prints[copy])
    print(f"original vs {copy}: {score:.3f}")
    assert score >= fp.MATCH_THRESHOLD + 0.2


@pytest.mark.parametrize("other", ["testsrc2", "life", "smptebars", "flat"])
def test_unrelated_clips_stay_below_the_threshold(
    prints: dict[str, fp.Fingerprint], other: str
) -> None:
    score = fp.similarity(prints["original"], prints[other])
    print(f"original vs {other}: {score:.3f}")
    assert score < fp.MATCH_THRESHOLD - 0.2


def test_a_flat_clip_matches_its_re_encode_by_colour_layout(
    prints: dict[str, fp.Fingerprint],
) -> None:
    # An isoluminant gradient: its grey image is nearly uniform, so the hash alone is noise.
    assert max(prints["flat"].contrasts) < fp.FULL_CONTRAST / 4
    score = fp.similarity(prints["flat"], prints["flat_crf35_half"])
    print(f"flat vs flat_crf35_half: {score:.3f}")
    assert score >= fp.MATCH_THRESHOLD + 0.2
    assert fp.similarity(prints["flat"], prints["testsrc2"]) < fp.MATCH_THRESHOLD


def test_samples_are_taken_at_evenly_spaced_times(prints: dict[str, fp.Fingerprint]) -> None:
    print_ = prints["original"]
    expected = [(i + 0.5) * SECONDS / 16 for i in range(16)]
    assert print_.duration_s == pytest.approx(SECONDS, abs=0.05)
    assert print_.aspect == pytest.approx(WIDTH / HEIGHT, abs=0.01)
    assert np.allclose(print_.times, expected, atol=0.5 / FPS + 1e-3)


def test_copies_score_above_the_threshold_and_unrelated_clips_below(
    prints: dict[str, fp.Fingerprint],
) -> None:
    known = ("testsrc2", "watermarked", "original", "life")
    scores = {name: fp.similarity(prints["crf35_half"], prints[name]) for name in known}
    hits = {name for name, score in scores.items() if score >= fp.MATCH_THRESHOLD}
    assert hits == {"original", "watermarked"}


def test_a_fingerprint_round_trips_through_json(prints: dict[str, fp.Fingerprint]) -> None:
    stored = json.loads(json.dumps(prints["original"].to_json()))
    assert all(isinstance(h, str) and len(h) == 16 for h in stored["hashes"])
    assert fp.Fingerprint.from_json(stored) == prints["original"]


def test_a_re_encoded_copy_shares_a_bucket_with_the_original(
    prints: dict[str, fp.Fingerprint],
) -> None:
    original = set(prints["original"].buckets())
    assert original & set(prints["crf35_half"].buckets())
    assert original & set(prints["fps30_mkv"].buckets())
    assert fp.FLAT_BUCKET in prints["flat"].buckets()


def test_a_video_without_frames_is_refused(media: Path, clip: Path) -> None:
    audio = media / "tone.m4a"
    argv = [ffmpeg_exe(), *QUIET, "-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", str(audio)]
    subprocess.run(argv, check=True)
    with pytest.raises(ValueError, match="no video stream"):
        fp.fingerprint(audio)
    shutil.copyfile(clip, media / "copy.mp4")  # and a plain copy fingerprints identically
    assert fp.fingerprint(media / "copy.mp4") == fp.fingerprint(clip)
