from __future__ import annotations

from django.urls import path

from generation import api

urlpatterns = [
    path("generations/", api.GenerationCreateApi.as_view(), name="generation-create"),
    path("generations/plan/", api.GenerationPlanApi.as_view(), name="generation-plan"),
]
