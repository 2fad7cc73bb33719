"""Job moves from generation to jobs; the table keeps its name, generation_job."""

import django.db.models.deletion
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('generation', '0003_video_outputs_stage_cost'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Job',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(max_length=40)),
                        ('state', models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='queued', max_length=10)),
                        ('progress', models.PositiveSmallIntegerField(default=0)),
                        ('stage', models.CharField(blank=True, max_length=40)),
                        ('error_code', models.CharField(blank=True, max_length=40)),
                        ('error_message', models.TextField(blank=True)),
                        ('idempotency_key', models.CharField(blank=True, max_length=80)),
                        ('attempts', models.PositiveSmallIntegerField(default=0)),
                        ('max_attempts', models.PositiveSmallIntegerField(default=3)),
                        ('params', models.JSONField(default=dict)),
                        ('result', models.JSONField(blank=True, default=dict)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('enqueued_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('started_at', models.DateTimeField(blank=True, null=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='jobs', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'generation_job',
                        'indexes': [models.Index(fields=['owner', '-created_at'], name='generation__owner_i_df1eed_idx'), models.Index(fields=['state', 'lease_until'], name='generation__state_85a8c8_idx')],
                        'constraints': [models.UniqueConstraint(condition=models.Q(('idempotency_key', ''), _negated=True), fields=('owner', 'kind', 'idempotency_key'), name='job_idempotency_key_unique'), models.CheckConstraint(condition=models.Q(('progress__lte', 100)), name='job_progress_max_100')],
                    },
                )
            ],
            database_operations=[],
        ),
    ]
