from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from django.core.asgi import get_asgi_application  # noqa: E402

django_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.conf import settings  # noqa: E402

from accounts.ws import NativeOrSameOriginValidator, TokenAuthMiddlewareStack  # noqa: E402
from config.bodylimit import BodySizeLimit  # noqa: E402
from jobs.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": BodySizeLimit(django_app, max_bytes=lambda: settings.REQUEST_MAX_BYTES),
        "websocket": NativeOrSameOriginValidator(
            TokenAuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
