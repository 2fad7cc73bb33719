import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('consent', '0003_job_moved_to_jobs'),
        ('media', '0001_initial'),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='appearance',
                    name='video',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='appearances', to='media.video'),
                )
            ],
            database_operations=[],
        ),
    ]
