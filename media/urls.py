from __future__ import annotations

from django.urls import path

from media import api

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
]
