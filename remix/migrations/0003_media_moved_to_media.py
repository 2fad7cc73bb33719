import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('media', '0001_initial'),
        ('remix', '0002_job_moved_to_jobs'),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='remix',
                    name='background_upload',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='media.upload'),
                ),
                migrations.AlterField(
                    model_name='remix',
                    name='source_video',
                    field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='remix_requests', to='media.video'),
                ),
                migrations.AlterField(
                    model_name='remix',
                    name='video',
                    field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='remix', to='media.video'),
                )
            ],
            database_operations=[],
        ),
    ]
