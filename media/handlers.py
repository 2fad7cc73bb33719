"""The media.transcode job: normalise an accepted video upload for playback."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage

from generation.pipeline.ffmpeg import FfmpegError, run_ffmpeg, transcode_args
from generation.pipeline.probe import probe
from jobs.models import Job
from jobs.runner import JobFailed, Progress
from media.models import Upload
from media.storage import local_copy


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
