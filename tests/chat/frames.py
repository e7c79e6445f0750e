"""Frames and look-ups the engine's tests share."""

from __future__ import annotations

import uuid
from typing import Any

MODEL = "openai/gpt-4o-mini"


OPERATOR_KEY = "sk-or-v1-operator-test"


def send_frame(content: str, conversation: int | None = None, **extra: Any) -> dict[str, Any]:
    """A `send` with a fresh client_id, as the page sends it."""
    return {
        "type": "send",
        "conversation": conversation,
        "client_id": str(uuid.uuid4()),
        "content": content,
        "model": MODEL,
        **extra,
    }


async def in_catalogue(model_id: str) -> None:
    """Put `model_id` in the model catalogue (the title model is only called when it is)."""
    from chatapp.catalog.models import CatalogModel

    await CatalogModel.objects.acreate(model_id=model_id, name=model_id, is_active=True)


def chat_calls(fake: Any) -> list[dict[str, Any]]:
    """What reached the stand-in's chat endpoint."""
    return [r for r in fake.requests() if r["path"].endswith("/chat/completions")]


async def connect_socket(session_id: str) -> Any:
    """A websocket to /ws/chat/ on the real ASGI stack, signed in with this session id."""
    from channels.testing import WebsocketCommunicator

    from chatapp.asgi import application

    communicator = WebsocketCommunicator(
        application,
        "/ws/chat/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"sessionid={session_id}".encode()),
        ],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator
