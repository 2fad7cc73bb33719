"""Cameo capture verification: checks a selfie clip and extracts the verified double.

A pure library (no Django); models load lazily, once per process.
"""

from cameo.biometrics.verify import (
    REJECTION_CODES,
    Challenge,
    OtherDouble,
    Turn,
    VerificationRejected,
    VerifiedDouble,
    VoiceProfile,
    verify_capture,
)

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
