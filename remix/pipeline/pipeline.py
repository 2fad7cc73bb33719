"""One remix: a published video with its subject's face or its background swapped.

    result = run(request, workdir=..., on_progress=..., authorize=..., keys=..., models_dir=...)

It reuses the generation pipeline's stages (render for a background described in words,
audio and subtitles for new lines, watermark, encode, provenance) around two of its own:
tracking the main subject, then swapping one thing on every frame. The source is decoded
twice (once to track, once to swap while encoding) so no more than the per-frame masks are
held in memory. `on_progress(stage, fraction)` may raise to cancel.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import subprocess
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from generation.pipeline.pipeline import PipelineOutput, StageProgress
from generation.pipeline.timeline import SpokenLine, VoiceSpec

PIPELINE = "doubletake-remix"
VERSION = "0.1.0"
OPERATIONS = ("swap_subject", "swap_background")
WEIGHTS = {
    "cast": 0.01,
    "track": 0.35,
    "prepare": 0.03,
    "audio": 0.04,
    "render": 0.47,
    "finish": 0.03,
    "provenance": 0.07,
}
SAMPLE_RATE = 48_000
BACKGROUND_DETECT_S = 0.125  # a background swap looks for faces this often (3 frames at 24 fps)
DIALOGUE_START_S = 0.4
DIALOGUE_GAP_S = 0.25
SOURCE_DUCK = 0.35  # the source's own sound under a new line, as a gain


class RemixError(ValueError):
    """The remix cannot be made from these inputs; `code` is stable for clients."""

    retryable = False  # the job runner fails the job with `code` instead of retrying it

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass(frozen=True)
class CameoDouble:
    cameo_id: str
    image_png: bytes  # a frame of the owner's verification clip (the cutout's colour channels)
    voice_pitch_hz: float | None = None


@dataclass
class RemixRequest:
    source: Path  # the source MP4
    operation: str  # swap_subject | swap_background
    job_id: str
    source_ref: dict[str, Any]  # {"post": id, "video": id, "author": name}: named in provenance
    lineage: list[dict[str, Any]] = field(default_factory=list)  # root first, source last
    cameo: CameoDouble | None = None
    # Doubles already in the source that the remix keeps: authorised again like the cast one.
    kept_cameos: list[str] = field(default_factory=list)
    background_image: Path | None = None
    background_prompt: str = ""
    dialogue: list[str] = field(default_factory=list)
    speaker: str = "subject"


@dataclass
class RemixResult(PipelineOutput):
    counts: dict[str, int] = field(default_factory=dict)
    # The swap's method and how far it can be trusted to look like the cameo ("production",
    # or "preview" with the limitation in words); empty for a background swap.
    quality: dict[str, str] = field(default_factory=dict)
    track: Any = None  # the SubjectTrack (boxes, faces, masks), for scoring and benchmarks


def decode_frames(path: Path) -> Iterator[np.ndarray]:
    """BGR uint8 frames of the first video stream, in presentation order."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="bgr24")


def check_source(path: Path) -> Any:
    from generation.pipeline.probe import ProbeError, probe

    try:
        info = probe(path)
    except ProbeError as exc:
        raise RemixError("source_unreadable", f"The source video cannot be read: {exc}") from None
    if not info.has_video or info.width < 16 or info.height < 16:
        raise RemixError("source_unreadable", "The source has no picture to remix.")
    if info.width % 2 or info.height % 2:
        raise RemixError("source_unreadable", "The source's size is odd; H.264 needs even sizes.")
    return info


def background_words(prompt: str) -> tuple[str, str]:
    """The setting and lighting a few words ask for ("a beach at sunset")."""
    from generation.pipeline.plan import LIGHTING_WORDS, SETTING_WORDS

    words = [w.strip(".,!?;:'\"").lower() for w in prompt.split()]
    setting = next((SETTING_WORDS[w] for w in words if w in SETTING_WORDS), None)
    if setting is None:
        known = ", ".join(sorted(set(SETTING_WORDS)))
        raise RemixError(
            "background_unknown", f"No setting recognised in {prompt!r}; try one of: {known}."
        )
    lighting = next((LIGHTING_WORDS[w] for w in words if w in LIGHTING_WORDS), "day")
    return setting, lighting


def rendered_plate(prompt: str, width: int, height: int) -> tuple[np.ndarray, str]:
    """The new setting drawn by the generation pipeline's scene and render stages (BGR)."""
    from generation.pipeline.render import ProceduralRenderer
    from generation.pipeline.scene import build_scene
    from generation.pipeline.storyboard import Shot, Storyboard

    setting, lighting = background_words(prompt)
    # An empty wide shot of the setting, held still: the source's camera is what moves.
    board = Storyboard(
        shots=[Shot(framing="wide", duration_s=0.5)], setting=setting, lighting=lighting
    )
    board.validate()
    scene = build_scene(board, voices={}, size=(width, height))
    renderer = ProceduralRenderer(batch_size=1)
    first = next(iter(renderer.render(scene, {})))
    return np.ascontiguousarray(first[:, :, ::-1]), f"{renderer.name}:{setting}/{lighting}"


def image_plate(path: Path, width: int, height: int) -> np.ndarray:
    import cv2

    from remix.pipeline.background import background_plate

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise RemixError("background_unreadable", "The background image cannot be decoded.")
    return background_plate(image, width, height)


def cameo_image(double: CameoDouble) -> np.ndarray:
    import cv2

    image = cv2.imdecode(np.frombuffer(double.image_png, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise RemixError("cameo_unusable", "The cameo's reference image cannot be decoded.")
    return image


# --- audio ---------------------------------------------------------------------------------------
def extract_audio(src: Path, out_wav: Path, duration_s: float) -> np.ndarray:
    """The source's sound as mono float samples at SAMPLE_RATE (silence if it has none)."""
    from generation.pipeline import dsp
    from generation.pipeline.ffmpeg import ffmpeg_exe

    argv = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-y",
        "-i",
        str(src),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(SAMPLE_RATE),
        "-c:a",
        "pcm_s16le",
        str(out_wav),
    ]
    done = subprocess.run(argv, capture_output=True, timeout=300)
    n = int(round(duration_s * SAMPLE_RATE))
    if done.returncode != 0 or not out_wav.exists():
        return np.zeros(n, dtype=np.float32)
    samples, _ = dsp.read_wav(out_wav)
    samples = dsp.to_mono(samples)
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, len(samples))] = samples[:n]
    return out


def voice_over(
    base: np.ndarray, lines: list[str], speaker: str, voice: VoiceSpec
) -> tuple[np.ndarray, list[SpokenLine]]:
    """New lines spoken over the source's sound, which is ducked under them."""
    from generation.pipeline import audio

    speech = np.zeros_like(base)
    spoken: list[SpokenLine] = []
    at = int(DIALOGUE_START_S * SAMPLE_RATE)
    for text in lines:
        try:
            voiced = audio.voice_line(text, voice, SAMPLE_RATE)
        except audio.SoundtrackError as exc:  # nothing to pronounce, or no speech engine
            raise RemixError(exc.code, str(exc)) from None
        end = at + len(voiced.samples)
        if end > len(base):
            raise RemixError(
                "dialogue_too_long",
                f"The new lines run to {end / SAMPLE_RATE:.1f} s, past the "
                f"{len(base) / SAMPLE_RATE:.1f} s video.",
            )
        speech[at:end] += voiced.samples
        spoken.append(SpokenLine(speaker, text, at / SAMPLE_RATE, end / SAMPLE_RATE))
        at = end + int(DIALOGUE_GAP_S * SAMPLE_RATE)
    hop = SAMPLE_RATE // 100
    level = np.repeat(np.sqrt(np.convolve(speech**2, np.ones(hop) / hop, mode="same")[::hop]), hop)[
        : len(base)
    ]
    talking = np.clip(level / 0.02, 0.0, 1.0)
    gain = 1.0 - (1.0 - SOURCE_DUCK) * np.convolve(talking, np.ones(hop * 20) / (hop * 20), "same")
    mixed = np.clip(base * gain + speech, -1.0, 1.0).astype(np.float32)
    return mixed, spoken


def mux_source_audio(video_only: Path, source: Path, out_mp4: Path) -> bool:
    """Put the source's audio stream, bit for bit, beside the new picture. False: no audio."""
    from generation.pipeline.ffmpeg import ffmpeg_exe

    argv = [
        ffmpeg_exe(),
        "-v",
        "error",
        "-y",
        "-i",
        str(video_only),
        "-i",
        str(source),
        "-map",
        "0:v:0",
        "-map",
        "1:a:0?",
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        "-shortest",
        str(out_mp4),
    ]
    done = subprocess.run(argv, capture_output=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg could not mux the source audio: {done.stderr[-800:]!r}")
    return True


def _track_swap_encode(
    request: RemixRequest,
    info: Any,
    *,
    fps: int,
    workdir: Path,
    progress: StageProgress,
    models_dir: Path | None,
) -> tuple[Any, dict[str, Any]]:
    """Steps 3-6 of run(): the expensive part, recorded so that a retry can skip it."""
    from cameo.biometrics.faces import face_backend
    from generation.pipeline import encode, subtitles
    from generation.pipeline.prefetch import mapped_ahead, prefetched
    from generation.pipeline.provenance import watermark_frame
    from remix.pipeline.background import BackgroundCompositor
    from remix.pipeline.faceswap import SwapUnavailable, face_swapper
    from remix.pipeline.track import DETECT_SIDE, track_subject

    width, height = info.width, info.height
    timings: dict[str, float] = {}
    backends: dict[str, str] = {}
    counts: dict[str, int] = {}

    # 3. Track the main subject through every frame: boxes, faces, person masks.
    started = time.perf_counter()
    faces = face_backend(models_dir)
    expected = max(1, int(round(info.duration_s * fps)))
    # A face swap needs the face in every frame; a background swap only needs faces to anchor
    # the segmentation and name the subject, and tracking carries them between looks.
    swap_face = request.operation == "swap_subject"
    every = 1 if swap_face else max(1, round(fps * BACKGROUND_DETECT_S))
    track = track_subject(
        decode_frames(request.source),
        faces=faces,
        fps=fps,
        on_frame=lambda i: progress("track", min(1.0, (i + 1) / expected)),
        detect_every=every,
        detect_side=None if swap_face else DETECT_SIDE,
        clear_plate=not swap_face,
    )
    frame_count = len(track.frames)
    if frame_count == 0:
        raise RemixError("source_unreadable", "The source has no frames.")
    timings["track"] = time.perf_counter() - started
    backends.update({f"track.{k}": v for k, v in track.backends.items()})
    counts["frames"] = frame_count
    counts["subject_frames"] = sum(f.box is not None for f in track.frames)
    counts["face_frames"] = sum(f.face is not None for f in track.frames)
    counts["cuts"] = len(track.cuts)
    progress.finish("track")

    # 4. Prepare the operation: the swapper for the cameo, or the new background plate.
    started = time.perf_counter()
    swapper = compositor = None
    quality: dict[str, str] = {}  # said of a swap whose method cannot be convincing
    if request.operation == "swap_subject":
        if counts["face_frames"] == 0:
            raise RemixError("no_subject_face", "No face was found to swap in the source.")
        try:
            swapper = face_swapper(models_dir, cameo_image(request.cameo), faces=faces)  # type: ignore[arg-type]
        except SwapUnavailable as exc:
            raise RemixError("cameo_unusable", str(exc)) from None
        backends["swap"] = swapper.name
        quality = {"method": swapper.name, "level": swapper.quality}
        if swapper.limitation:
            quality["limitation"] = swapper.limitation
    else:
        if counts["subject_frames"] == 0:
            raise RemixError("no_subject", "No person was found in the source to keep.")
        if request.background_image is not None:
            plate = image_plate(request.background_image, width, height)
            backends["background"] = "image"
        else:
            plate, backends["background"] = rendered_plate(request.background_prompt, width, height)
        compositor = BackgroundCompositor(plate)
        backends["composite"] = compositor.name
    timings["prepare"] = time.perf_counter() - started
    progress.finish("prepare")

    # 5. Audio: the source's sound is kept; new lines are voiced over it (ducked).
    started = time.perf_counter()
    duration_s = frame_count / fps
    spoken: list[SpokenLine] = []
    wav: Path | None = None
    if request.dialogue:
        from generation.pipeline import dsp

        base = extract_audio(request.source, workdir / "source.wav", duration_s)
        pitch = request.cameo.voice_pitch_hz if request.cameo else None
        voice = VoiceSpec(pitch_hz=pitch)
        mixed, spoken = voice_over(base, request.dialogue, request.speaker, voice)
        wav = dsp.write_wav(workdir / "soundtrack.wav", mixed, SAMPLE_RATE)
        backends["audio"] = "source+espeak-ng"
    else:
        backends["audio"] = "source (stream copy)" if info.has_audio else "none"
    subtitles.write_webvtt(spoken, workdir / "subtitles.vtt")
    timings["audio"] = time.perf_counter() - started
    progress.finish("audio")

    # 6. Swap on every frame, watermark and encode, streaming: one thread decodes, one swaps
    #    and watermarks, and this one feeds ffmpeg (its own process), so both cores work.
    started = time.perf_counter()
    op_seconds = [0.0]
    cuts = set(track.cuts)

    def swap(item: tuple[int, np.ndarray]) -> tuple[int, np.ndarray]:
        index, frame = item  # frames in order: the swapper and compositor smooth over time
        tracked = track.frames[index]
        began = time.perf_counter()
        if index in cuts:  # smoothing (landmarks, colour) must not carry across a cut
            for stateful in (swapper, compositor):
                if stateful is not None and hasattr(stateful, "reset"):
                    stateful.reset()
        if swapper is not None and tracked.face is not None:
            frame = swapper.swap(frame, tracked.face)
        elif compositor is not None:
            frame = compositor.composite(frame, tracked.mask)
        # The label is grey, so it is drawn on BGR as on RGB; every frame here is a new array.
        frame = watermark_frame(np.ascontiguousarray(frame), index / fps, inplace=True)
        op_seconds[0] += time.perf_counter() - began
        return index, frame

    def swapped() -> Iterator[np.ndarray]:
        # Closed on the way out, whatever stops it: their threads stop and the files close.
        with (
            closing(
                prefetched(itertools.islice(decode_frames(request.source), frame_count))
            ) as decoded,
            closing(mapped_ahead(swap, enumerate(decoded))) as done,
        ):
            for index, frame in done:
                if index % 8 == 0:  # progress from this thread: it may cancel, and it may write
                    progress("render", index / frame_count)
                yield frame

    raw = workdir / "video.mp4"
    picture = workdir / ("picture.mp4" if wav is None and info.has_audio else "video.mp4")
    encoded = encode.encode(
        swapped(),
        fps=fps,
        width=width,
        height=height,
        audio_wav=wav,
        out_mp4=picture,
        duration_s=duration_s,
        frame_format="bgr24",
    )
    if picture != raw:
        mux_source_audio(picture, request.source, raw)
    timings["swap"] = op_seconds[0]  # in its own thread, beside decoding and encoding
    timings["render"] = time.perf_counter() - started  # decode, swap and encode, streamed
    backends["encode"] = encoded.backend
    counts["encoded_frames"] = encoded.frames
    counts.update({f"swap.{k}": v for k, v in getattr(swapper, "stats", {}).items()})
    progress.finish("render")

    entry = {
        "frames": frame_count,
        "duration_s": duration_s,
        "spoken": [vars(line) for line in spoken],
        "timings": timings,
        "backends": backends,
        "counts": counts,
        "quality": quality,
    }
    return track, entry


# --- the run -------------------------------------------------------------------------------------
def run(
    request: RemixRequest,
    *,
    workdir: Path,
    on_progress: Callable[[str, float], None],
    authorize: Callable[[str], dict[str, Any]],
    keys: Any,
    models_dir: Path | None = None,
) -> RemixResult:
    from generation.pipeline import encode
    from generation.pipeline.fingerprint import fingerprint, soft_binding
    from generation.pipeline.pipeline import StageRecord
    from generation.pipeline.provenance import file_sha256, sign

    # 1. Check inputs: an operation that cannot run fails here, before any work.
    if request.operation not in OPERATIONS:
        raise RemixError("operation_unknown", f"{request.operation!r} is not a remix operation.")
    if request.operation == "swap_subject" and request.cameo is None:
        raise RemixError("cameo_required", "A subject swap needs a cameo.")
    if request.operation == "swap_background" and not (
        request.background_image or request.background_prompt.strip()
    ):
        raise RemixError("background_required", "A background swap needs words or an image.")
    if request.operation == "swap_background" and request.background_image is None:
        background_words(request.background_prompt)  # a setting we cannot draw fails now
    info = check_source(request.source)
    width, height = info.width, info.height
    fps = max(1, int(round(info.fps or 24)))
    workdir.mkdir(parents=True, exist_ok=True)
    progress = StageProgress(on_progress, WEIGHTS)
    timings: dict[str, float] = {}
    backends: dict[str, str] = {"decode": "pyav"}
    counts: dict[str, int] = {}

    # 2. Cast: the cameo's permission checked again now, just before any frame is touched.
    started = time.perf_counter()
    receipts: dict[str, dict[str, Any]] = {}
    if request.cameo is not None:
        receipts[request.cameo.cameo_id] = authorize(request.cameo.cameo_id)
    for kept in request.kept_cameos:
        receipts[kept] = authorize(kept)
    timings["cast"] = time.perf_counter() - started
    progress.finish("cast")

    # 3-6. Track, prepare, voice, then swap every frame while encoding. A retry whose
    #      earlier attempt got this far (the encoded video is in the workdir) goes on from it.
    record = StageRecord(workdir)
    vtt = workdir / "subtitles.vtt"
    raw = workdir / "video.mp4"
    track = None
    entry = record.done("render", raw, vtt)
    if entry is None:
        track, entry = _track_swap_encode(
            request, info, fps=fps, workdir=workdir, progress=progress, models_dir=models_dir
        )
        record.save("render", **entry)
    else:
        for stage in ("track", "prepare", "audio", "render"):
            progress.finish(stage)
    timings.update(entry["timings"])
    backends.update(entry["backends"])
    counts.update(entry["counts"])
    quality: dict[str, str] = entry.get("quality", {})
    spoken = [SpokenLine(**line) for line in entry["spoken"]]
    frame_count, duration_s = entry["frames"], entry["duration_s"]

    # 7. Poster and preview for the feed, and the fingerprint for provenance, side by side
    #    (two ffmpeg processes and a decoder: each leaves the other core to the rest).
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=3, thread_name_prefix="finish") as pool:
        posted = pool.submit(encode.poster, raw, workdir / "poster.jpg", min(1.0, duration_s / 2))
        previewed = pool.submit(
            encode.preview, raw, workdir / "preview.mp4", seconds=min(3.0, duration_s)
        )
        printed = pool.submit(fingerprint, raw)
        poster, preview, print_ = posted.result(), previewed.result(), printed.result()
    timings["finish"] = time.perf_counter() - started
    progress.finish("finish")

    # 8. Provenance: what was remixed, from which source and lineage, with whose consent.
    started = time.perf_counter()
    manifest = {
        "generated": True,
        "pipeline": {"name": PIPELINE, "version": VERSION},
        "backends": backends,
        "request": {
            "job": request.job_id,
            "operation": request.operation,
            "background_prompt": request.background_prompt,
            "dialogue_sha256": hashlib.sha256(json.dumps(request.dialogue).encode()).hexdigest(),
        },
        "remix": {
            "operation": request.operation,
            "source": {**request.source_ref, "sha256": file_sha256(request.source)},
            "lineage": request.lineage,
            "method": backends.get("swap") or backends.get("composite"),
            **({"quality": quality} if quality else {}),
        },
        "cast": [
            {
                "cameo": cameo,
                "consent_receipt": receipt,
                "role": "kept_from_source" if cameo in request.kept_cameos else "swapped_in",
            }
            for cameo, receipt in receipts.items()
        ],
    }
    # The fingerprint goes into the signed manifest as a soft binding: the manifest stays
    # tied to the pictures when a re-encode strips it from the file. Signing only adds a
    # box to the container, so the raw file's frames are the signed file's.
    manifest["soft_binding"] = soft_binding(print_)
    signed = sign(raw, workdir / "final.mp4", manifest, keys=keys)
    timings["provenance"] = time.perf_counter() - started
    progress.finish("provenance")

    return RemixResult(
        video=signed.path,
        poster=poster,
        preview=preview.path,
        subtitles=vtt,
        sidecar=signed.sidecar,
        manifest=manifest,
        provenance_backend=signed.backend,
        fingerprint=print_.to_json(),
        width=width,
        height=height,
        fps=fps,
        frames=frame_count,
        duration_s=duration_s,
        spoken=spoken,
        timings={k: round(v, 3) for k, v in timings.items()},
        backends=backends,
        counts=counts,
        quality=quality,
        track=track,
    )
