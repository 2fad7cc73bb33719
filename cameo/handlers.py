"""The verification job: run the biometric checks on a capture clip and keep the double."""

from __future__ import annotations

from typing import Any

import numpy as np
from django.conf import settings

from cameo import services
from cameo.models import Biometrics, Cameo, Capture
from consent.services import CAPTURE_KINDS, has_consent
from jobs.models import Job
from jobs.runner import JobFailed, Progress
from media.storage import local_copy


def _others(owner_id: int) -> list[Any]:
    from cameo.biometrics.verify import OtherDouble

    rows = Biometrics.objects.filter(cameo__state=Cameo.State.ACTIVE).exclude(
        cameo__owner_id=owner_id
    )
    return [
        OtherDouble(
            key=str(row.cameo_id),
            embedding=np.frombuffer(bytes(row.face_embedding), dtype=np.float32),
            model=row.embedding_model,
        )
        for row in rows.only("cameo_id", "face_embedding", "embedding_model")
    ]


def verify_capture_job(job: Job, on_progress: Progress) -> dict[str, Any]:
    from cameo.biometrics.verify import VerificationRejected, verify_capture

    capture = Capture.objects.filter(id=job.params["capture_id"], owner=job.owner).first()
    if capture is None or capture.state != Capture.State.VERIFYING:
        raise JobFailed("capture_not_verifying", "The capture is gone or no longer verifying.")
    if not all(has_consent(capture.owner, kind) for kind in CAPTURE_KINDS):
        raise JobFailed("consent_withdrawn", "Consent was withdrawn before verification.")
    try:
        with local_copy(capture.clip) as clip:
            result = verify_capture(
                clip,
                challenge=services.challenge_for_verifier(capture),
                others=_others(capture.owner_id),
                on_progress=lambda stage, fraction: on_progress(stage, fraction * 0.95),
                models_dir=settings.MODELS_DIR,
            )
    except VerificationRejected as rejected:
        services.capture_reject(
            capture_id=capture.id,
            code=rejected.code,
            message=rejected.message,
            hint=rejected.hint,
        )
        raise JobFailed(rejected.code, rejected.message) from None
    on_progress("store", 0.96)
    cameo = services.capture_accept(capture_id=capture.id, result=result)
    return {
        "cameo_id": str(cameo.id),
        "models": cameo.models_used,
        "timings": {k: round(v, 3) for k, v in result.timings.items()},
    }
