"""Remix by re-staging: a video made here keeps its storyboard, so a background described in
words, or a new subject, can be had by rendering the same storyboard again with the new
setting or the new cast. Same shots, timing and motion; nothing to segment, so it also works
where the tracker finds no person (the pipeline's drawn figures are not people to a person
segmenter). An uploaded background image still goes through tracking and compositing.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from feeds.models import Post
from generation.pipeline.diffusion import renderer_from_config
from generation.pipeline.pipeline import GenerationRequest, GenerationResult, run
from generation.pipeline.provenance import file_sha256
from generation.pipeline.storyboard import Line, Storyboard
from generation.rendering import authorizer, cast_member, workdir
from jobs.models import Job
from jobs.runner import Progress
from media.models import Video
from media.provenance_keys import signing_keys
from media.storage import local_copy
from remix.models import Remix
from remix.pipeline.pipeline import background_words


def restageable(source: Video, operation: str, *, background_upload: bool) -> bool:
    """Whether the remix can be had by re-staging: the source keeps a storyboard, and the
    swap is one a storyboard can say (a setting in words, or a person to recast)."""
    board = source.storyboard
    if not board or not board.get("shots"):
        return False
    if operation == Remix.Operation.SWAP_BACKGROUND:
        return not background_upload
    return any(s.get("kind", "person") == "person" for s in board.get("subjects", []))


def restaged_board(remix: Remix, kept_cameos: list[str]) -> tuple[Storyboard, list[dict]]:
    """The source's storyboard with the swap applied, and the cast pairs to render it with."""
    assert remix.source_video is not None
    board = Storyboard.from_dict(remix.source_video.storyboard)
    swapped = None
    if remix.operation == Remix.Operation.SWAP_BACKGROUND:
        board.setting, board.lighting = background_words(remix.background_prompt)
    else:
        # The main subject: the first person the storyboard names.
        subject = next(s for s in board.subjects if s.kind == "person")
        subject.cameo_id, swapped = str(remix.cameo_id), subject.name
    # Doubles the source cast stay only if the remix may keep them (authorised at submission
    # and again before rendering); any other is drawn as a figure, never silently cast.
    allowed = set(kept_cameos) | ({str(remix.cameo_id)} if swapped else set())
    for subject in board.subjects:
        if subject.cameo_id and subject.cameo_id not in allowed:
            subject.cameo_id = None
    if remix.dialogue:
        speaker = swapped or (board.subjects[0].name if board.subjects else None)
        if speaker is not None:
            board.shots[-1].dialogue.extend(Line(speaker, text) for text in remix.dialogue)
    pairs = [{"cameo_id": s.cameo_id, "subject": s.name} for s in board.subjects if s.cameo_id]
    return board, pairs


def restage(
    remix: Remix, job: Job, post: Post, on_progress: Progress
) -> tuple[Storyboard, GenerationResult]:
    """Run the generation pipeline on the re-staged storyboard; its result, remix-signed."""
    source = remix.source_video
    assert source is not None
    board, pairs = restaged_board(remix, job.params.get("kept_cameos", []))
    with local_copy(source.file, ".mp4") as path:
        digest = file_sha256(path)
    request = GenerationRequest(
        storyboard=board,
        job_id=str(job.id),
        cast=[cast_member(pair["cameo_id"], pair["subject"]) for pair in pairs],
        prompt=source.prompt,
        size=(source.width, source.height) if source.width else None,
        provenance_extra={
            "remix": {
                "operation": remix.operation,
                "method": Remix.Method.RESTAGE.value,
                "source": {
                    "post": post.pk,
                    "video": str(source.id),
                    "author": post.author.username,
                    "sha256": digest,
                },
                "lineage": remix.lineage,
            }
        },
    )
    renderer, _ = renderer_from_config(
        settings.RENDER_BACKEND, Path(settings.MODELS_DIR), settings.TEXT_TO_VIDEO_MODEL
    )
    result = run(
        request,
        workdir=workdir(job),
        on_progress=on_progress,
        renderer=renderer,
        authorize=authorizer(job),
        keys=signing_keys(),
    )
    return board, result
