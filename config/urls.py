from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.api import NotificationListApi
from config import health
from media.api import media_serve

api_v1: list[URLPattern | URLResolver] = [
    path("auth/", include("accounts.urls")),
    path("notifications/", NotificationListApi.as_view(), name="notification-list"),
    path("", include("jobs.urls")),
    path("", include("media.urls")),
    path("", include("generation.urls")),
    path("", include("consent.urls")),
    path("", include("cameo.urls")),
    path("", include("feeds.urls")),
    path("", include("remix.urls")),
    path("", include("moderation.urls")),
    path("rights/", include("rights.urls")),
]

urlpatterns = [
    path("", serve, {"path": "index.html", "document_root": settings.BASE_DIR / "static"}),
    path("healthz", health.healthz),
    path("readyz", health.readyz),
    path("media/", media_serve, name="media"),
    path("admin/", admin.site.urls),
    path("console/", include("moderation.console_urls")),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
]


handler400 = "config.api.bad_request_view"
handler403 = "config.api.permission_denied_view"
handler404 = "config.api.not_found_view"
handler500 = "config.api.server_error_view"
