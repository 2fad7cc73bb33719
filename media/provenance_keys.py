"""The provenance signing keys: loaded from PROVENANCE_KEYS_DIR, made there on first use."""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)


@functools.cache
def signing_keys() -> Any:
    from generation.pipeline.provenance import SigningKeys

    directory = settings.PROVENANCE_KEYS_DIR
    try:
        return SigningKeys.load(directory)
    except FileNotFoundError:
        # A first run has no keys yet. Production should provide its own (README).
        logger.warning("no provenance keys in %s: generating a self-signed chain", directory)
        keys = SigningKeys.generate("Doubletake provenance")
        keys.save(directory)
        return keys
