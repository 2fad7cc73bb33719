import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('generation', '0003_video_outputs_stage_cost'),
        ('jobs', '0001_initial'),
        ('cameo', '0002_job_moved_to_jobs'),
        ('consent', '0003_job_moved_to_jobs'),
        ('remix', '0002_job_moved_to_jobs'),
    ]

    operations = [
        # State only: Job moved to the jobs app, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='video',
                    name='job',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='videos', to='jobs.job'),
                ),
                migrations.DeleteModel(
                    name='Job',
                )
            ],
            database_operations=[],
        ),
    ]
