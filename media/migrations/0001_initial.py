"""Upload and Video move from generation to media; their tables keep their names."""

import django.db.models.deletion
import media.models
import uuid
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('generation', '0004_job_moved_to_jobs'),
        ('jobs', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # State only: the model moved between apps, its table ("db_table") stayed put.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Video',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('state', models.CharField(choices=[('draft', 'Draft'), ('published', 'Published'), ('taken_down', 'Taken Down')], default='draft', max_length=12)),
                        ('file', models.CharField(blank=True, max_length=300)),
                        ('poster', models.CharField(blank=True, max_length=300)),
                        ('preview', models.CharField(blank=True, max_length=300)),
                        ('subtitles', models.CharField(blank=True, max_length=300)),
                        ('provenance', models.CharField(blank=True, max_length=300)),
                        ('provenance_backend', models.CharField(blank=True, max_length=40)),
                        ('manifest', models.JSONField(blank=True, default=dict)),
                        ('fingerprint', models.JSONField(blank=True, default=dict)),
                        ('storyboard', models.JSONField(blank=True, default=dict)),
                        ('prompt', models.TextField(blank=True)),
                        ('width', models.PositiveIntegerField(default=0)),
                        ('height', models.PositiveIntegerField(default=0)),
                        ('duration_s', models.FloatField(default=0)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('taken_down_at', models.DateTimeField(blank=True, null=True)),
                        ('takedown_reason', models.CharField(blank=True, max_length=60)),
                        ('job', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='videos', to='jobs.job')),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='videos', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'generation_video',
                    },
                ),
                migrations.CreateModel(
                    name='Upload',
                    fields=[
                        ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                        ('kind', models.CharField(choices=[('video', 'Video'), ('image', 'Image'), ('audio', 'Audio')], max_length=10)),
                        ('state', models.CharField(choices=[('pending', 'Pending'), ('ready', 'Ready'), ('rejected', 'Rejected')], default='ready', max_length=10)),
                        ('file', models.FileField(blank=True, max_length=300, upload_to=media.models.upload_path)),
                        ('extension', models.CharField(default='bin', max_length=8)),
                        ('bytes', models.BigIntegerField(default=0)),
                        ('probe', models.JSONField(blank=True, default=dict)),
                        ('reject_code', models.CharField(blank=True, max_length=40)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='uploads', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'generation_upload',
                        'indexes': [models.Index(fields=['owner', '-created_at'], name='generation__owner_i_f54d31_idx')],
                    },
                )
            ],
            database_operations=[],
        ),
    ]
