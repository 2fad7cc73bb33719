from __future__ import annotations

from django.urls import path

from consent import api

urlpatterns = [
    path("consent/documents/", api.DocumentListApi.as_view(), name="consent-documents"),
    path("consent/", api.ConsentListApi.as_view(), name="consent-list"),
    path("consent/audit/", api.AuditListApi.as_view(), name="consent-audit"),
]
