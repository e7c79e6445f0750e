"""Every websocket route, all under /ws/."""

from __future__ import annotations

from django.urls import path

from chatapp.chat.consumers import ChatConsumer

websocket_urlpatterns = [
    path("ws/chat/", ChatConsumer.as_asgi()),
]
