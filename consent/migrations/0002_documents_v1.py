from __future__ import annotations

from django.db import migrations

DOCUMENTS = [
    (
        "likeness_capture",
        "Capturing your likeness",
        "Doubletake will record and analyse a short selfie clip of you to create a digital double "
        "of your face: face crops, a face embedding and a cut-out of you. It is used only as you "
        "allow, is stored apart from other data, and is deleted when you withdraw this consent or "
        "after three years without use.",
    ),
    (
        "voice_capture",
        "Capturing your voice",
        "Doubletake will record and analyse your voice in the same clip to build a voice profile "
        "(a speaker embedding and pitch statistics) so generated speech can resemble you. It is "
        "deleted when you withdraw this consent.",
    ),
    (
        "use_by_others",
        "Letting others use your double",
        "People you choose (only you, people you approve, mutual followers, or everyone) may cast "
        "your double in their videos. You see every video it appears in, can take any of them "
        "down, and can withdraw this consent at any time, which stops every other use.",
    ),
]


def publish(apps, schema_editor):
    ConsentDocument = apps.get_model("consent", "ConsentDocument")
    for kind, title, body in DOCUMENTS:
        ConsentDocument.objects.get_or_create(
            kind=kind, version=1, defaults={"title": title, "body": body}
        )


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]
    operations = [migrations.RunPython(publish, migrations.RunPython.noop)]
