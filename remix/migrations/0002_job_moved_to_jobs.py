import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('jobs', '0001_initial'),
        ('remix', '0001_initial'),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='remix',
                    name='job',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='remix', to='jobs.job'),
                )
            ],
            database_operations=[],
        ),
    ]
