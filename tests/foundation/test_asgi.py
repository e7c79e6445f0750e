from __future__ import annotations

import pytest
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from chatapp.asgi import application


def test_healthz_is_ok_when_database_and_channel_layer_answer(client: Client, db: None):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "channel_layer": "ok"}


UNREACHABLE_LAYER = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
    }
}


def test_healthz_is_503_when_the_channel_layer_is_unreachable(client: Client, db: None):
    with override_settings(CHANNEL_LAYERS=UNREACHABLE_LAYER):
        channel_layers.backends.clear()
        try:
            response = client.get("/healthz")
        finally:
            channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["channel_layer"] == "down"


@pytest.mark.django_db(transaction=True)
async def test_an_anonymous_websocket_is_refused():
    communicator = WebsocketCommunicator(
        application, "/ws/chat/", headers=[(b"origin", b"http://localhost")]
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_websocket_from_a_foreign_origin_is_refused():
    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[(b"origin", b"https://evil.example"), (b"host", b"localhost")],
    )
    connected, _ = await communicator.connect()
    assert not connected
    await communicator.disconnect()
