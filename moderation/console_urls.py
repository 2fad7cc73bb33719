"""The moderators' console (server-rendered staff pages): mounted at /console/."""

from __future__ import annotations

from django.urls import path

from moderation import console

urlpatterns = [
    path("", console.queue, name="console-queue"),
    path("claim/", console.claim, name="console-claim"),
    path("dashboard/", console.dashboard, name="console-dashboard"),
    path("cases/<int:case_id>/", console.case_page, name="console-case"),
    path("cases/<int:case_id>/claim/", console.case_claim, name="console-case-claim"),
    path("cases/<int:case_id>/release/", console.case_release, name="console-release"),
    path("cases/<int:case_id>/decide/", console.case_decide_view, name="console-decide"),
    path("cases/<int:case_id>/video/", console.video, name="console-video"),
]
