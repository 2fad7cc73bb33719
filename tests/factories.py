from __future__ import annotations

import factory

from accounts.models import User

PASSWORD = "correct-horse-battery-staple-42"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def saved(self: User, create: bool, extracted: object, **kwargs: object) -> None:
        if create:
            self.save()


def give_consent(user: User, *kinds: str) -> None:
    from consent.models import ConsentDocument
    from consent.services import consent_accept, current_document

    for kind in kinds or ConsentDocument.Kind.values:
        consent_accept(user=user, document=current_document(kind), client={"test": "yes"})


def make_verified_cameo(
    owner: User, audience: str = "only_me", cutout_png: bytes | None = None
) -> object:
    """A double as verification leaves it: rows plus its files under the biometric prefix.

    For permission and withdrawal tests; the verification itself is tested end to end with
    real clips in test_cameo_verification.py.
    """
    from datetime import timedelta

    import numpy as np
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage
    from django.utils import timezone

    from cameo.models import Biometrics, Cameo, Capture

    give_consent(owner)
    capture = Capture.objects.create(
        owner=owner,
        state=Capture.State.VERIFIED,
        challenge={
            "digits": "123456",
            "digits_shown_at": 0.5,
            "digits_hidden_at": 4.0,
            "turns": [{"direction": "left", "from_s": 4.5, "to_s": 6.0}],
            "record_seconds": 7.0,
        },
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    save = lambda name, data: default_storage.save(f"{capture.prefix}/{name}", ContentFile(data))  # noqa: E731
    clip = save("clip.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * 64)
    crops = [save(f"face_{i}.png", b"\x89PNG\r\n\x1a\n" + bytes([i]) * 32) for i in range(3)]
    # cutout_png: a real RGBA picture of the person, for tests that cast the double.
    cutout = save("cutout.png", cutout_png or b"\x89PNG\r\n\x1a\n" + b"\x07" * 32)
    capture.clip = clip
    capture.save(update_fields=["clip"])
    cameo = Cameo.objects.create(owner=owner, capture=capture, audience=audience)
    rng = np.random.default_rng(owner.pk)
    face = rng.normal(size=128).astype("float32")
    voice = rng.normal(size=256).astype("float32")
    Biometrics.objects.create(
        cameo=cameo,
        face_embedding=(face / np.linalg.norm(face)).tobytes(),
        embedding_model="test:random",
        voice_embedding=(voice / np.linalg.norm(voice)).tobytes(),
        voice_pitch={"median_hz": 120.0},
        face_crops=crops,
        cutout=cutout,
        clip=clip,
    )
    return cameo
