"""Reading stored media, whichever storage backend is configured. Links: config.links."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.files.storage import default_storage


@contextlib.contextmanager
def local_copy(name: str, suffix: str = "") -> Iterator[Path]:
    """A path on local disk holding the stored file: the file itself, or a temporary copy."""
    try:
        yield Path(default_storage.path(name))
        return
    except NotImplementedError:
        pass  # remote storage (S3): copy it down
    with tempfile.TemporaryDirectory(prefix="dt-") as tmp:
        target = Path(tmp) / f"media{suffix}"
        with default_storage.open(name, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, length=1024 * 1024)
        yield target


REDIRECT_TTL_SECONDS = 60


def storage_redirect_url(name: str) -> str:
    """Where remote storage serves the file: a presigned URL that expires within a minute."""
    # S3Storage.url takes `expire`; the stubs only know Storage.url(name).
    return default_storage.url(name, expire=REDIRECT_TTL_SECONDS)  # type: ignore[call-arg]


def storage_delete_prefix(prefix: str) -> int:
    """Delete every file under `prefix` (any depth) and return how many went."""
    prefix = prefix.rstrip("/")
    try:
        directories, files = default_storage.listdir(prefix)
    except FileNotFoundError:
        return 0
    deleted = 0
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
        deleted += 1
    for directory in directories:
        deleted += storage_delete_prefix(f"{prefix}/{directory}")
    return deleted
