import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('feeds', '0002_post_allow_remix'),
        ('media', '0001_initial'),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='post',
                    name='video',
                    field=models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='post', to='media.video'),
                )
            ],
            database_operations=[],
        ),
    ]
