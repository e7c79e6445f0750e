"""The ASGI entry point: HTTP through Django, websockets under /ws/ through Channels."""

from __future__ import annotations

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatapp.settings")
django_asgi_app = get_asgi_application()

# Imported after Django is set up: the routes import models.
from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from chatapp.chat.lifecycle import hook_into_server  # noqa: E402
from chatapp.core.origin import SiteOriginValidator  # noqa: E402
from chatapp.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SiteOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)

hook_into_server()  # the sweep at start, the drain on SIGTERM

# Everything imported so far lives as long as the process: keep it out of the garbage
# collector's scans, which otherwise pause every stream (measured: longest pause 95 -> 38 ms,
# docs/benchmarks.md).
gc.freeze()
