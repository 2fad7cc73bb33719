from __future__ import annotations

from django.urls import path

from cameo import api

urlpatterns = [
    # Withdrawing consent sets the cascade in motion (cameo.cascade), so cameo answers it.
    path("consent/withdraw/", api.ConsentWithdrawApi.as_view(), name="consent-withdraw"),
    path("cameo/captures/", api.CaptureStartApi.as_view(), name="capture-start"),
    path("cameo/captures/<str:capture_id>/", api.CaptureDetailApi.as_view(), name="capture-detail"),
    path(
        "cameo/captures/<str:capture_id>/clip/", api.CaptureClipApi.as_view(), name="capture-clip"
    ),
    path("cameos/", api.CameoListApi.as_view(), name="cameo-list"),
    path("cameos/<str:cameo_id>/", api.CameoDetailApi.as_view(), name="cameo-detail"),
    path(
        "cameos/<str:cameo_id>/biometrics/",
        api.CameoBiometricsApi.as_view(),
        name="cameo-biometrics",
    ),
    path("cameos/<str:cameo_id>/revoke/", api.CameoRevokeApi.as_view(), name="cameo-revoke"),
    path("cameos/<str:cameo_id>/grants/", api.GrantListApi.as_view(), name="grant-list"),
    path(
        "cameos/<str:cameo_id>/grants/<int:grant_id>/approve/",
        api.GrantDecisionApi.as_view(decision="approve"),
        name="grant-approve",
    ),
    path(
        "cameos/<str:cameo_id>/grants/<int:grant_id>/deny/",
        api.GrantDecisionApi.as_view(decision="deny"),
        name="grant-deny",
    ),
    path(
        "cameos/<str:cameo_id>/grants/<int:grant_id>/revoke/",
        api.GrantDecisionApi.as_view(decision="revoke"),
        name="grant-revoke",
    ),
    path(
        "cameos/<str:cameo_id>/appearances/",
        api.AppearanceListApi.as_view(),
        name="appearance-list",
    ),
    path(
        "cameos/<str:cameo_id>/appearances/<int:appearance_id>/takedown/",
        api.AppearanceTakedownApi.as_view(),
        name="appearance-takedown",
    ),
]
