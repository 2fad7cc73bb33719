from __future__ import annotations

from django.urls import path

from moderation import api

urlpatterns = [
    path("reports/", api.ReportCreateApi.as_view(), name="report-create"),
    path("appeals/", api.AppealCreateApi.as_view(), name="appeal-create"),
    path("appeals/suspension/", api.SuspensionAppealApi.as_view(), name="suspension-appeal"),
    path("moderation/cases/", api.CaseQueueApi.as_view(), name="case-queue"),
    path("moderation/cases/claim/", api.CaseClaimApi.as_view(), name="case-claim"),
    path(
        "moderation/cases/<int:case_id>/release/",
        api.CaseReleaseApi.as_view(),
        name="case-release",
    ),
    path("moderation/reporters/", api.ReporterMarkApi.as_view(), name="reporter-mark"),
    path("moderation/decisions/", api.DecisionCreateApi.as_view(), name="decision-create"),
]
