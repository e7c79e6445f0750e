from __future__ import annotations

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client, override_settings

from chatapp.asgi import application


def test_healthz_is_ok_when_database_and_bus_answer(client: Client, db: None):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "bus": "ok"}


def test_healthz_is_503_when_redis_is_unreachable(client: Client, db: None):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["bus"] == "down"


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
