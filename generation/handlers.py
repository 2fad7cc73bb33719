"""Job handlers: take a claimed job and a progress callback, return the job's result."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from generation.models import Upload
from generation.pipeline.ffmpeg import FfmpegError, run_ffmpeg, transcode_args
from generation.pipeline.probe import probe
from generation.storage import local_copy
from jobs.models import Job
from jobs.runner import JobFailed, Progress

if TYPE_CHECKING:
    from generation.pipeline.pipeline import PipelineOutput


def transcode_upload(job: Job, on_progress: Progress) -> dict[str, Any]:
    """Normalise an uploaded clip to H.264/AAC MP4, at most 720 p, with fast start."""
    upload = Upload.objects.filter(id=job.params["upload_id"], owner=job.owner).first()
    if upload is None or upload.state != Upload.State.READY:
        raise JobFailed("upload_missing", "The upload is gone or was never accepted.")
    duration = float(upload.probe.get("duration_s", 0))
    on_progress("transcode", 0.0)
    with local_copy(upload.file.name) as src, tempfile.TemporaryDirectory(prefix="dt-") as tmp:
        dst = Path(tmp) / "normalized.mp4"
        argv = transcode_args(src, dst, preset=settings.TRANSCODE_PRESET)
        try:
            run_ffmpeg(argv, duration_s=duration, on_fraction=lambda f: on_progress("transcode", f))
        except FfmpegError as exc:
            raise JobFailed("transcode_failed", str(exc)) from None
        output = probe(dst)
        # A retry after a crash may find a half-written file under the same name.
        name = f"jobs/{job.id.hex}/normalized.mp4"
        if default_storage.exists(name):
            default_storage.delete(name)
        with open(dst, "rb") as handle:
            stored = default_storage.save(name, File(handle))
    return {"output": stored, "probe": output.as_dict()}


# --- generation.render ------------------------------------------------------------------------
def _cast_member(pair: dict[str, str]) -> Any:
    from cameo.models import Cameo
    from generation.pipeline.cast import CastMember

    cameo = Cameo.objects.select_related("biometrics").filter(id=pair["cameo_id"]).first()
    biometrics = getattr(cameo, "biometrics", None) if cameo else None
    if cameo is None or not cameo.is_active or biometrics is None:
        raise JobFailed("cameo_revoked", "A cast cameo was revoked by its owner.")
    with default_storage.open(biometrics.cutout, "rb") as handle:
        cutout = handle.read()
    return CastMember(
        cameo_id=str(cameo.id),
        subject=pair["subject"],
        cutout_png=cutout,
        voice_pitch_hz=biometrics.voice_pitch.get("median_hz"),
        instructions=cameo.instructions,  # the owner's words as they stand now
    )


def _authorizer(job: Job) -> Any:
    from cameo.models import Cameo
    from config.api import ApiError
    from consent.services import cast_authorize
    from generation.pipeline.cast import CastRefused

    def authorize(cameo_id: str) -> dict[str, Any]:
        cameo = Cameo.objects.select_related("owner").get(id=cameo_id)
        try:
            return cast_authorize(cameo=cameo, user=job.owner, stage="render", job=job)
        except ApiError as refused:
            raise CastRefused(cameo_id, refused.error_code, str(refused.detail)) from None

    return authorize


def _store(job: Job, path: Path | None, name: str) -> str:
    if path is None:
        return ""
    target = f"jobs/{job.id.hex}/{name}"
    if default_storage.exists(target):
        default_storage.delete(target)  # a retry replaces what a crashed attempt left
    with open(path, "rb") as handle:
        return default_storage.save(target, File(handle))


def video_keep(job: Job, result: PipelineOutput, *, storyboard: dict[str, Any], prompt: str) -> Any:
    """Store a finished pipeline's files under the job's prefix and make its draft video.

    The doubles' appearances recorded at submission now point at the video."""
    from consent.models import Appearance
    from generation.models import Video

    video = Video.objects.create(
        owner=job.owner,
        job=job,
        file=_store(job, result.video, "video.mp4"),
        poster=_store(job, result.poster, "poster.jpg"),
        preview=_store(job, result.preview, "preview.mp4"),
        subtitles=_store(job, result.subtitles, "subtitles.vtt"),
        provenance=_store(job, result.sidecar, "video.provenance.json"),
        provenance_backend=result.provenance_backend,
        manifest=result.manifest,
        fingerprint=result.fingerprint,
        storyboard=storyboard,
        prompt=prompt,
        width=result.width,
        height=result.height,
        duration_s=result.duration_s,
    )
    Appearance.objects.filter(job=job).update(video=video)
    return video


def render_generation(job: Job, on_progress: Progress) -> dict[str, Any]:
    """Run the generation pipeline for a submitted request and keep the draft video."""
    import shutil

    from generation.generations import stage_costs_record
    from generation.pipeline.audio import SoundtrackError
    from generation.pipeline.cast import CastRefused
    from generation.pipeline.diffusion import renderer_from_config
    from generation.pipeline.pipeline import GenerationRequest, run
    from generation.pipeline.storyboard import Storyboard
    from generation.provenance_keys import signing_keys

    params = job.params
    request = GenerationRequest(
        storyboard=Storyboard.from_dict(params["storyboard"]),
        job_id=str(job.id),
        cast=[_cast_member(pair) for pair in params.get("cast", [])],
        prompt=params.get("prompt", ""),
        burn_subtitles=params.get("burn_subtitles", False),
        size=tuple(params["size"]) if params.get("size") else None,
    )
    workdir = Path(settings.VAR_DIR) / "work" / job.id.hex
    renderer, fallback = renderer_from_config(
        settings.RENDER_BACKEND, Path(settings.MODELS_DIR), settings.TEXT_TO_VIDEO_MODEL
    )
    try:
        result = run(
            request,
            workdir=workdir,
            on_progress=on_progress,
            renderer=renderer,
            authorize=_authorizer(job),
            keys=signing_keys(),
        )
    except CastRefused as refused:
        raise JobFailed(refused.code, refused.message) from None
    except SoundtrackError as unvoiced:  # too long to fit, unspeakable, or no speech engine
        raise JobFailed(unvoiced.code, str(unvoiced)) from None
    video = video_keep(job, result, storyboard=params["storyboard"], prompt=request.prompt)
    stage_costs_record(result.timings, result.frames)
    shutil.rmtree(workdir, ignore_errors=True)
    return {
        "video_id": str(video.id),
        "output": video.file,
        "timings": result.timings,
        "backends": result.backends,
        "honoured": result.honoured,
        "render_fallback": fallback,
    }
