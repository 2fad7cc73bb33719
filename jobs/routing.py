from __future__ import annotations

from django.urls import path

from jobs.consumers import JobProgressConsumer

websocket_urlpatterns = [path("ws/jobs/<str:job_id>/", JobProgressConsumer.as_asgi())]
