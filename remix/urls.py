from __future__ import annotations

from django.urls import path

from remix import api

urlpatterns = [
    path("remixes/", api.RemixCreateApi.as_view(), name="remix-create"),
    path("remixes/<str:remix_id>/", api.RemixDetailApi.as_view(), name="remix-detail"),
    path("posts/<int:post_id>/lineage/", api.LineageApi.as_view(), name="post-lineage"),
]
