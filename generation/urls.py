from __future__ import annotations

from django.urls import path

from generation import api

urlpatterns = [
    path("uploads/", api.UploadCreateApi.as_view(), name="upload-create"),
    path("uploads/presign/", api.UploadPresignApi.as_view(), name="upload-presign"),
    path("uploads/<str:upload_id>/", api.UploadDetailApi.as_view(), name="upload-detail"),
    path(
        "uploads/<str:upload_id>/complete/", api.UploadCompleteApi.as_view(), name="upload-complete"
    ),
    path(
        "uploads/<str:upload_id>/transcode/",
        api.UploadTranscodeApi.as_view(),
        name="upload-transcode",
    ),
    path("generations/", api.GenerationCreateApi.as_view(), name="generation-create"),
    path("generations/plan/", api.GenerationPlanApi.as_view(), name="generation-plan"),
    path("videos/<str:video_id>/", api.VideoDetailApi.as_view(), name="video-detail"),
    path("provenance/lookup/", api.ProvenanceLookupApi.as_view(), name="provenance-lookup"),
]
