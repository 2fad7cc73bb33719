from __future__ import annotations

from django.urls import path

from rights import api

urlpatterns = [
    path("holders/", api.HolderListApi.as_view(), name="rights-holder-list"),
    path("holders/<str:holder_id>/", api.HolderDetailApi.as_view(), name="rights-holder-detail"),
    path("holders/<str:holder_id>/marks/", api.MarkListApi.as_view(), name="rights-mark-list"),
    path("marks/<str:mark_id>/", api.MarkDetailApi.as_view(), name="rights-mark-detail"),
    path("marks/<str:mark_id>/licenses/", api.LicenseListApi.as_view(), name="rights-license-list"),
    path(
        "licenses/<str:license_id>/", api.LicenseDetailApi.as_view(), name="rights-license-detail"
    ),
    path("lookup/", api.LookupApi.as_view(), name="rights-lookup"),
]
