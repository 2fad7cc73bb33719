"""Verify a cameo capture clip and extract the verified double's biometrics.

`verify_capture` reads top-down as numbered stages, cheapest checks first, so a bad clip is
rejected before the expensive models run. Every rejection is a `VerificationRejected` with one
of REJECTION_CODES and the stage timings so far. This module imports no Django and no model
at import time; each model loads once per process on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from cameo.biometrics import checks
from cameo.biometrics.contract import (
    REJECTION_CODES,
    Challenge,
    OtherDouble,
    Turn,
    VerificationRejected,
    VerifiedDouble,
    VoiceProfile,
    _jsonable,
    _Progress,
)
from cameo.biometrics.cutout import CUTOUT_MODEL
from cameo.biometrics.voice import VOICE_MODEL

__all__ = [
    "REJECTION_CODES",
    "Challenge",
    "OtherDouble",
    "Turn",
    "VerificationRejected",
    "VerifiedDouble",
    "VoiceProfile",
    "verify_capture",
]


def verify_capture(
    clip: Path,
    *,
    challenge: Challenge,
    others: Sequence[OtherDouble] = (),
    on_progress: Callable[[str, float], None] | None = None,
    models_dir: Path | None = None,
) -> VerifiedDouble:
    """Check a selfie capture against its challenge; return the double or raise a rejection."""
    progress = _Progress(on_progress)
    progress.report("start", 0.0)
    metadata: dict[str, Any] = {"mirrored": challenge.mirrored}

    try:
        # 1. The container: readable, 3-20 s long, with a sound track.
        info = checks.check_container(Path(clip), progress, metadata)
        # 2. Speech inside the window in which the digits were to be read.
        audio, segments = checks.check_speech(Path(clip), challenge, progress, metadata)
        # 2b. The digits read are this challenge's (a replayed earlier capture reads others).
        checks.check_spoken_digits(audio, segments, challenge, progress, metadata)
        # 3. Faces in the sampled frames: one person, present throughout.
        backend, track = checks.check_faces(Path(clip), info, models_dir, progress, metadata)
        # 4. The face is sharp enough and lit well enough to be a usable double.
        checks.check_quality(track, progress, metadata)
        # 5. Liveness: the head turned as a head does, each way the challenge asked, on time.
        start_yaw = checks.check_head_turn(track, challenge, progress, metadata)
        # 6. One identity throughout; the double's embedding.
        embedding = checks.check_identity(backend, track, start_yaw, challenge, progress, metadata)
        # 7. Nobody else's verified double.
        checks.check_impersonation(embedding, backend.embedder.name, others, progress, metadata)
        # 8. Extraction: voice profile, face crops, the person cut out.
        voice = checks.extract_voice(audio, segments, progress, metadata)
        crops, best = checks.extract_crops(backend, track, start_yaw, progress, metadata)
        cutout = checks.extract_cutout(best, progress, metadata)
    except VerificationRejected as rejected:
        rejected.metadata = _jsonable(metadata)  # what was measured up to the rejection
        raise
    progress.report("done", 1.0)
    return VerifiedDouble(
        embedding=embedding,
        embedding_model=backend.embedder.name,
        detector_model=backend.detector.name,
        face_crops=crops,
        cutout_png=cutout,
        cutout_model=CUTOUT_MODEL,
        voice=voice,
        voice_model=VOICE_MODEL,
        metadata=_jsonable(metadata),
        timings=dict(progress.timings),
    )
