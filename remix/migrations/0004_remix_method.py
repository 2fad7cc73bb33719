"""The remix's method, chosen at submission. Remixes made before it was stored get the
method the handler would have chosen for them then."""

from django.db import migrations, models


def backfill(apps, schema_editor):
    Remix = apps.get_model("remix", "Remix")
    for remix in Remix.objects.select_related("source_video").iterator():
        board = remix.source_video.storyboard if remix.source_video_id else None
        restage = bool(board and board.get("shots"))
        if restage and remix.operation == "swap_background":
            restage = remix.background_upload_id is None
        elif restage:
            restage = any(s.get("kind", "person") == "person" for s in board.get("subjects", []))
        if restage:
            Remix.objects.filter(pk=remix.pk).update(method="restage")


class Migration(migrations.Migration):

    dependencies = [
        ('remix', '0003_media_moved_to_media'),
    ]

    operations = [
        migrations.AddField(
            model_name='remix',
            name='method',
            field=models.CharField(choices=[('restage', 'Restage'), ('track', 'Track')], default='track', max_length=10),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
