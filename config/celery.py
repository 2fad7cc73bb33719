from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("doubletake")
app.config_from_object("django.conf:settings", namespace="CELERY")
# "gpu" carries cameo verification, generation and remix; its workers run with -c 1 per GPU.
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.autodiscover_tasks()
