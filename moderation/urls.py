from __future__ import annotations

from django.urls import path

from moderation import api

urlpatterns = [
    path("reports/", api.ReportCreateApi.as_view(), name="report-create"),
    path("appeals/", api.AppealCreateApi.as_view(), name="appeal-create"),
    path("moderation/cases/", api.CaseQueueApi.as_view(), name="case-queue"),
    path("moderation/cases/claim/", api.CaseClaimApi.as_view(), name="case-claim"),
    path("moderation/decisions/", api.DecisionCreateApi.as_view(), name="decision-create"),
]
