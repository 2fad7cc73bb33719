from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0004_job_moved_to_jobs'),
        ('media', '0001_initial'),
        ('consent', '0004_media_moved_to_media'),
        ('feeds', '0003_media_moved_to_media'),
        ('remix', '0003_media_moved_to_media'),
    ]

    operations = [
        # State only: Upload and Video moved to media, their tables stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(
                    name='Upload',
                ),
                migrations.DeleteModel(
                    name='Video',
                )
            ],
            database_operations=[],
        ),
    ]
