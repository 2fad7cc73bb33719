"""Media intake: every uploaded file is bounded, sniffed and probed before anything uses it.

Sizes first (bytes, then pixels from the header, before any decoder), then decoding; an
accepted image is stored re-encoded, so only its pixels are kept."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

from accounts.models import User
from config.errors import ApplicationError
from generation.pipeline.probe import (
    AUDIO_FAMILIES,
    IMAGE_FAMILIES,
    VIDEO_FAMILIES,
    MediaProbe,
    ProbeError,
    probe,
    sniff_file,
)
from generation.pipeline.reencode import image_reencode
from media.models import Upload, upload_path
from media.storage import local_copy

ACCEPTED: dict[str, set[str]] = {
    Upload.Kind.VIDEO: VIDEO_FAMILIES,
    Upload.Kind.IMAGE: IMAGE_FAMILIES,
    Upload.Kind.AUDIO: AUDIO_FAMILIES,
}
EXTENSIONS = {
    "mp4": "mp4",
    "quicktime": "mov",
    "matroska": "mkv",
    "jpeg": "jpg",
    "png": "png",
    "webp": "webp",
    "wav": "wav",
    "mp3": "mp3",
    "ogg": "ogg",
    "m4a": "m4a",
    "flac": "flac",
}
STATUS = {"unsupported_media_type": 415}


def _too_large() -> ApplicationError:
    return ApplicationError(
        "upload_too_large", f"The file is larger than {settings.UPLOAD_MAX_BYTES} bytes.", 413
    )


def _refused(exc: ProbeError) -> ApplicationError:
    return ApplicationError(exc.code, str(exc), STATUS.get(exc.code, 422))


def _family(path: Path, kind: str) -> str:
    """The sniffed family, if `kind` accepts it: nothing is decoded for a file of another kind."""
    try:
        family = sniff_file(path)
    except ProbeError as exc:
        raise _refused(exc) from None
    if family not in ACCEPTED[kind]:
        raise ApplicationError(
            "unsupported_media_type", f"Expected {kind}, got a {family} file.", 415
        )
    return family


def media_check(path: Path, kind: str) -> MediaProbe:
    """Probe the file and hold it to the bounds for its kind; raises ApplicationError with a code.

    The pixel bound is checked by the probe from the header or container, before decoding."""
    _family(path, kind)
    try:
        media = probe(path, max_pixels=settings.UPLOAD_MAX_PIXELS)
    except ProbeError as exc:
        raise _refused(exc) from None
    if kind == Upload.Kind.VIDEO and not media.has_video:
        raise ApplicationError("media_no_video", "The file has no video stream.", 422)
    if kind != Upload.Kind.IMAGE and media.duration_s > settings.UPLOAD_MAX_SECONDS:
        raise ApplicationError(
            "media_too_long",
            f"{media.duration_s:.1f} s is over the {settings.UPLOAD_MAX_SECONDS} s limit.",
            422,
        )
    return media


@contextlib.contextmanager
def media_accept(path: Path, kind: str) -> Iterator[tuple[Path, MediaProbe]]:
    """Check a file for `kind`; yield the file to store and its probe.

    An image is stored re-encoded, never as sent: only its pixels survive (no metadata, no data
    appended after the picture), and the probe describes the stored file."""
    if kind != Upload.Kind.IMAGE:
        yield path, media_check(path, kind)
        return
    family = _family(path, kind)
    with tempfile.TemporaryDirectory(prefix="dt-intake-") as tmp:
        clean = Path(tmp) / "image"  # no extension: FFmpeg then probes it by content
        try:
            image_reencode(path, clean, family=family, max_pixels=settings.UPLOAD_MAX_PIXELS)
        except ProbeError as exc:
            raise _refused(exc) from None
        yield clean, media_check(clean, kind)


@contextlib.contextmanager
def on_disk(uploaded: UploadedFile) -> Iterator[Path]:
    if hasattr(uploaded, "temporary_file_path"):
        yield Path(uploaded.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="dt-intake-") as tmp:
        for chunk in uploaded.chunks():
            tmp.write(chunk)
        tmp.flush()
        yield Path(tmp.name)


def upload_create(*, owner: User, kind: str, uploaded: UploadedFile) -> Upload:
    if uploaded.size is None or uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise _too_large()
    if uploaded.size == 0:
        raise ApplicationError("upload_empty", "The file is empty.", 400)
    with on_disk(uploaded) as path, media_accept(path, kind) as (stored, media):
        upload = Upload(
            owner=owner,
            kind=kind,
            extension=EXTENSIONS[media.family],
            bytes=stored.stat().st_size,
            probe=media.as_dict(),
        )
        with open(stored, "rb") as handle:
            upload.file.save("upload", File(handle), save=False)
    try:
        upload.save()
    except Exception:
        upload.file.delete(save=False)
        raise
    return upload


# --- Direct-to-storage uploads (S3 only) ----------------------------------------------------
PRESIGN_TTL_SECONDS = 900


def upload_presign(*, owner: User, kind: str) -> tuple[Upload, dict[str, Any]]:
    """Reserve an object name and return a presigned POST that S3 itself holds to the cap."""
    if not settings.S3_BUCKET:
        raise ApplicationError(
            "presign_unavailable", "Direct uploads need S3 storage; upload through the API.", 409
        )
    upload = Upload(owner=owner, kind=kind, state=Upload.State.PENDING, extension="bin")
    upload.file.name = upload_path(upload, "")
    upload.save()
    # S3 only (checked above): S3Storage has a boto3 connection; the stubs only know Storage.
    client = default_storage.connection.meta.client  # type: ignore[attr-defined]
    post = client.generate_presigned_post(
        Bucket=settings.S3_BUCKET,
        Key=upload.file.name,
        Conditions=[["content-length-range", 1, settings.UPLOAD_MAX_BYTES]],
        ExpiresIn=PRESIGN_TTL_SECONDS,
    )
    return upload, post


def upload_complete(*, upload: Upload) -> Upload:
    """Check what the client put in storage; a bad object is deleted and the upload rejected."""
    if upload.state == Upload.State.READY:
        return upload
    if upload.state != Upload.State.PENDING:
        raise ApplicationError(
            "upload_rejected", f"This upload was rejected ({upload.reject_code}).", 409
        )
    name = upload.file.name
    if not default_storage.exists(name):
        raise ApplicationError(
            "upload_missing", "Nothing was uploaded to the presigned URL yet.", 409
        )
    try:
        size = default_storage.size(name)
        if size > settings.UPLOAD_MAX_BYTES:
            raise _too_large()
        with local_copy(name) as path, media_accept(path, upload.kind) as (stored, media):
            if stored != path:
                _replace_stored(upload, stored, EXTENSIONS[media.family])
            size = stored.stat().st_size
    except ApplicationError as exc:
        default_storage.delete(name)
        Upload.objects.filter(id=upload.id).update(
            state=Upload.State.REJECTED, reject_code=exc.code
        )
        raise
    upload.state = Upload.State.READY
    upload.bytes = size
    upload.probe = media.as_dict()
    upload.save(update_fields=["state", "bytes", "probe", "file", "extension"])
    return upload


def _replace_stored(upload: Upload, stored: Path, extension: str) -> None:
    """Put the re-encoded file in place of what the client uploaded (a new name, so the two
    never share one: the client's object goes only once the clean one is saved)."""
    sent = upload.file.name
    upload.extension = extension
    with open(stored, "rb") as handle:
        upload.file.save("upload", File(handle), save=False)
    default_storage.delete(sent)
