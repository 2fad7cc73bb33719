"""The remix.render job: check the source again, run the method chosen at submission,
keep the draft."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from feeds.models import Post
from generation.generations import stage_costs_record
from generation.rendering import video_keep, workdir_remove
from jobs.models import Job
from jobs.runner import JobFailed, Progress
from remix.models import Remix
from remix.restage import restage
from remix.services import remix_permitted
from remix.tracking import track

if TYPE_CHECKING:
    from generation.pipeline.pipeline import PipelineOutput


def _source_checked(remix: Remix, job: Job) -> Post:
    """The source must still be live, and the author must still allow remixes of it; a
    refusal fails the job with the same code the API gives (the runner records it)."""
    post = remix.source_post
    if post is None or remix.source_video is None or not remix.source_video.file:
        raise JobFailed("source_unavailable", "The source video was deleted.")
    remix_permitted(post=post, user=job.owner)
    return post


def render_remix(job: Job, on_progress: Progress) -> dict[str, Any]:
    remix = Remix.objects.select_related(
        "source_post__author", "source_video", "cameo__biometrics", "background_upload"
    ).get(job=job)
    post = _source_checked(remix, job)
    result: PipelineOutput
    prompt = f"remix ({remix.operation}) of post {post.pk}"
    if remix.method == Remix.Method.RESTAGE:
        board, staged = restage(remix, job, post, on_progress)
        video = video_keep(job, staged, storyboard=board.as_dict(), prompt=prompt)
        method, result, counts = "restage", staged, {"frames": staged.frames}
        quality: dict[str, str] = {}
    else:
        tracked = track(remix, job, post, on_progress)
        video = video_keep(job, tracked, storyboard={}, prompt=prompt)
        swapped = remix.operation == Remix.Operation.SWAP_SUBJECT
        method, result, counts = (
            f"track+{'face-swap' if swapped else 'composite'}",
            tracked,
            tracked.counts,
        )
        quality = tracked.quality
        skip = ("cast", "prepare", "audio", "swap")  # the swap overlaps render
        costs = {f"{job.kind}.{k}": v for k, v in tracked.timings.items() if k not in skip}
        stage_costs_record(costs, tracked.frames)
    Remix.objects.filter(pk=remix.pk).update(video=video)
    workdir_remove(job)
    return {
        "video_id": str(video.id),
        "remix_id": str(remix.id),
        "output": video.file,
        "checks": video.checks,  # the OUTPUT checks' verdicts (generation.rendering.video_keep)
        "method": method,
        "timings": result.timings,
        "backends": result.backends,
        "counts": counts,
        "quality": quality,
    }
