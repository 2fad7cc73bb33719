"""One pipeline from storyboard to a finished, watermarked, provenance-signed video.

    result = run(request, workdir=..., on_progress=..., authorize=..., keys=...)

Stages run top-down and each writes its output into `workdir`; a stage whose output is
already recorded there is skipped, so a retry after a failure redoes only what was lost.
`on_progress(stage, fraction)` is called between stages and between frame batches: raising
from it (a cancelled job) stops the run at that point.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generation.pipeline.cast import CastMember, prepare_cast
from generation.pipeline.render import ProceduralRenderer, RenderStats
from generation.pipeline.scene import build_scene, fit_dialogue
from generation.pipeline.storyboard import Storyboard
from generation.pipeline.timeline import SpokenLine

PIPELINE = "doubletake-generation"
VERSION = "0.1.0"
# Share of the whole run each stage stands for, for progress reports.
WEIGHTS = {
    "cast": 0.02,
    "scene": 0.02,
    "audio": 0.12,
    "subtitles": 0.01,
    "render": 0.73,
    "finish": 0.04,
    "provenance": 0.06,
}


@dataclass
class GenerationRequest:
    storyboard: Storyboard
    job_id: str
    cast: list[CastMember] = field(default_factory=list)
    prompt: str = ""
    burn_subtitles: bool = False
    size: tuple[int, int] | None = None  # overrides the aspect's resolution (previews, tests)
    # More for the signed manifest, e.g. {"remix": {...}} when a remix re-stages a video.
    provenance_extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class PipelineOutput:
    """What every pipeline here hands back (generation, remix): the files and the figures
    that generation.rendering.video_keep stores and that the job's result reports."""

    video: Path
    poster: Path
    preview: Path
    subtitles: Path
    sidecar: Path | None
    manifest: dict[str, Any]
    provenance_backend: str
    fingerprint: dict[str, Any]
    width: int
    height: int
    fps: int
    frames: int
    duration_s: float
    spoken: list[SpokenLine]
    timings: dict[str, float]
    backends: dict[str, str]


@dataclass
class GenerationResult(PipelineOutput):
    events: list[tuple[str, float]] = field(default_factory=list)
    honoured: dict[str, list[str]] = field(default_factory=dict)


class StageProgress:
    """Whole-run progress from per-stage fractions, each stage weighted by its share."""

    def __init__(
        self, report: Callable[[str, float], None], weights: dict[str, float] = WEIGHTS
    ) -> None:
        self.report, self.weights, self.done = report, weights, 0.0

    def __call__(self, stage: str, fraction: float) -> None:
        self.report(stage, min(0.999, self.done + self.weights[stage] * fraction))

    def finish(self, stage: str) -> None:
        self.done += self.weights[stage]
        self.report(stage, min(0.999, self.done))


class StageRecord:
    """stages.json in the workdir: which stages finished, with their outputs and timings."""

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "stages.json"
        self.data: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def done(self, stage: str, *files: Path) -> dict[str, Any] | None:
        entry = self.data.get(stage)
        if entry is None or not all(f.exists() for f in files):
            return None
        return entry

    def save(self, stage: str, **entry: Any) -> None:
        self.data[stage] = entry
        self.path.write_text(json.dumps(self.data, indent=1, default=str))


def _hash(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _spoken_seconds(speaker: str, text: str, plan: Any) -> float:
    from generation.pipeline import audio
    from generation.pipeline.timeline import VoiceSpec

    voiced = audio.voice_line(text, plan.voices.get(speaker, VoiceSpec()), 16000)
    return len(voiced.samples) / voiced.rate


def run(
    request: GenerationRequest,
    *,
    workdir: Path,
    on_progress: Callable[[str, float], None],
    authorize: Callable[[str], dict[str, Any]],
    keys: Any,
    renderer: ProceduralRenderer | None = None,
) -> GenerationResult:
    from generation.pipeline import audio, encode, subtitles
    from generation.pipeline.fingerprint import fingerprint, soft_binding
    from generation.pipeline.provenance import sign, watermark_frames

    # 1. Check inputs: a storyboard that cannot render fails here, before any work.
    board = request.storyboard
    board.validate()
    workdir.mkdir(parents=True, exist_ok=True)
    record, progress = StageRecord(workdir), StageProgress(on_progress)
    timings: dict[str, float] = {}
    backends: dict[str, str] = {"planner": board.planner or "client"}

    # 2. Cast: permission checked again now, just before anything is rendered.
    started = time.perf_counter()
    plan = prepare_cast(board, request.cast, authorize)
    timings["cast"] = time.perf_counter() - started
    backends["cast"] = "cutout-texture" if request.cast else "none"
    progress.finish("cast")

    # 3. Scene and motion: one world, global time. Shots first grow to fit their lines, as
    #    voiced (a few tens of milliseconds a line), so no line is cut off.
    started = time.perf_counter()
    fit_dialogue(board, measure=lambda speaker, text: _spoken_seconds(speaker, text, plan))
    scene = build_scene(board, voices=plan.voices, size=request.size)
    timings["scene"] = time.perf_counter() - started
    backends["scene"] = backends["motion"] = "ballistic-v1"
    progress.finish("scene")

    # 4. Audio from the same timeline.
    wav = workdir / "soundtrack.wav"
    entry = record.done("audio", wav)
    if entry is None:
        started = time.perf_counter()
        track = audio.build_soundtrack(scene.timeline, wav)
        entry = {
            "spoken": [vars(s) for s in track.spoken],
            "effects": track.effects,
            "backends": track.backends,
            "seconds": time.perf_counter() - started,
        }
        record.save("audio", **entry)
    spoken = [SpokenLine(**s) for s in entry["spoken"]]
    timings["audio"] = entry["seconds"]
    backends.update({f"audio.{k}": v for k, v in entry["backends"].items()})
    progress.finish("audio")

    # 5. Subtitles from what was actually spoken.
    vtt = subtitles.write_webvtt(spoken, workdir / "subtitles.vtt")
    burn = None
    if request.burn_subtitles and spoken:
        burn = subtitles.burn_in_filter(vtt, width=scene.width, height=scene.height)
    progress.finish("subtitles")

    # 6. Render, watermark and encode, streaming frames in batches.
    raw = workdir / "video.mp4"
    entry = record.done("render", raw)
    if entry is None:
        renderer = renderer or ProceduralRenderer()
        stats = RenderStats(renderer.name, str(renderer.device))
        started = time.perf_counter()
        encoded = encode.encode(
            watermark_frames(
                renderer.render(
                    scene,
                    plan.textures,
                    lambda done, total: progress("render", done / total),
                    stats,
                ),
                scene.fps,
            ),
            fps=scene.fps,
            width=scene.width,
            height=scene.height,
            audio_wav=wav,
            out_mp4=raw,
            video_filter=burn,
            duration_s=scene.frame_count / scene.fps,
        )
        entry = {
            "frames": encoded.frames,
            "seconds": time.perf_counter() - started,
            "render_seconds": stats.timings.get("render", 0.0),
            "renderer": f"{stats.backend}:{stats.device}",
            "encoder": encoded.backend,
        }
        record.save("render", **entry)
    timings["render"] = entry["render_seconds"]
    timings["encode"] = entry["seconds"] - entry["render_seconds"]
    backends.update(render=entry["renderer"], encode=entry["encoder"])
    progress.finish("render")

    # 7. Poster and preview for the feed.
    started = time.perf_counter()
    poster = encode.poster(raw, workdir / "poster.jpg", at_s=min(1.0, scene.duration_s / 2))
    preview = encode.preview(raw, workdir / "preview.mp4", seconds=min(3.0, scene.duration_s))
    timings["finish"] = time.perf_counter() - started
    progress.finish("finish")

    # 8. Provenance: a signed manifest of what made this video, and its fingerprint.
    started = time.perf_counter()
    manifest = {
        "generated": True,
        "pipeline": {"name": PIPELINE, "version": VERSION},
        "backends": backends,
        "request": {
            "job": request.job_id,
            "prompt": request.prompt,
            "storyboard_sha256": _hash(board.as_dict()),
        },
        "cast": [
            {
                "cameo": cameo,
                "subject": next((m.subject for m in request.cast if m.cameo_id == cameo), None),
                "consent_receipt": receipt,
            }
            for cameo, receipt in plan.receipts.items()
        ],
        "honoured_instructions": plan.honoured,
        **request.provenance_extra,
    }
    final = workdir / "final.mp4"
    # The fingerprint goes into the signed manifest as a soft binding: the manifest stays
    # tied to the pictures when a re-encode strips it from the file. Signing only adds a
    # box to the container, so the raw file's frames are the signed file's.
    print_ = fingerprint(raw)
    manifest["soft_binding"] = soft_binding(print_)
    signed = sign(raw, final, manifest, keys=keys)
    timings["provenance"] = time.perf_counter() - started
    progress.finish("provenance")

    return GenerationResult(
        video=signed.path,
        poster=poster,
        preview=preview.path,
        subtitles=vtt,
        sidecar=signed.sidecar,
        manifest=manifest,
        provenance_backend=signed.backend,
        fingerprint=print_.to_json(),
        width=scene.width,
        height=scene.height,
        fps=scene.fps,
        frames=entry["frames"],
        duration_s=scene.duration_s,
        spoken=spoken,
        events=[(e.kind, e.time_s) for e in scene.timeline.events],
        timings={k: round(v, 3) for k, v in timings.items()},
        backends=backends,
        honoured=plan.honoured,
    )
