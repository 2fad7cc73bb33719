"""The generation.render job: run the pipeline for a submitted request, keep the draft."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from generation.generations import stage_costs_record
from generation.pipeline.diffusion import renderer_from_config
from generation.pipeline.pipeline import GenerationRequest, run
from generation.pipeline.storyboard import Storyboard
from generation.rendering import authorizer, cast_member, video_keep, workdir, workdir_remove
from jobs.models import Job
from jobs.runner import Progress
from media.provenance_keys import signing_keys


def render_generation(job: Job, on_progress: Progress) -> dict[str, Any]:
    params = job.params
    request = GenerationRequest(
        storyboard=Storyboard.from_dict(params["storyboard"]),
        job_id=str(job.id),
        cast=[cast_member(pair["cameo_id"], pair["subject"]) for pair in params.get("cast", [])],
        prompt=params.get("prompt", ""),
        burn_subtitles=params.get("burn_subtitles", False),
        size=tuple(params["size"]) if params.get("size") else None,
    )
    renderer, fallback = renderer_from_config(
        settings.RENDER_BACKEND, Path(settings.MODELS_DIR), settings.TEXT_TO_VIDEO_MODEL
    )
    # A refused cast or unspeakable dialogue fails the job with its own code (the runner).
    result = run(
        request,
        workdir=workdir(job),
        on_progress=on_progress,
        renderer=renderer,
        authorize=authorizer(job),
        keys=signing_keys(),
    )
    video = video_keep(job, result, storyboard=params["storyboard"], prompt=request.prompt)
    stage_costs_record(result.timings, result.frames)
    workdir_remove(job)
    return {
        "video_id": str(video.id),
        "output": video.file,
        "checks": video.checks,  # the OUTPUT checks' verdicts (generation.rendering.video_keep)
        "timings": result.timings,
        "backends": result.backends,
        "honoured": result.honoured,
        "render_fallback": fallback,
    }
