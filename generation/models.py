from __future__ import annotations

from django.db import models


class StageCost(models.Model):
    """Measured seconds per output frame of each pipeline stage, for time estimates."""

    stage = models.CharField(max_length=40, unique=True)
    seconds_per_frame = models.FloatField()
    samples = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)
