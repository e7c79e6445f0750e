"""A whole chat session, every HTTP response and every websocket frame scanned for the key.

Alice connects OpenRouter (PKCE, against the stand-in), chats over the real ASGI stack (a new
conversation, reasoning, regenerate, edit, stop, a mid-stream error, a 402, then a 401 that
marks her key invalid and a send refused for want of a key), and opens every page she can.
An admin then opens the admin and the cost dashboard. Neither her key, nor the operator key,
nor any stretch of either may appear anywhere; only the masked hint may.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator
from django.test import AsyncClient, override_settings

from chatapp.accounts.keys import aresolve_api_key
from chatapp.accounts.models import User
from tests.accounts.conftest import local_path, location_of
from tests.chat.engine import stop_engine
from tests.chat.frames import connect_socket, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

OPERATOR_KEY = "sk-or-v1-" + "0e" * 32
# A key in clear: the prefix followed by key material (the masked hint has "…" after it).
KEY_LIKE = re.compile(r"sk-or-v1-[0-9A-Za-z]{6}")


class Recorder:
    """Everything the server sent to the browser, as text."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def response(self, label: str, response: Any) -> Any:
        headers = "\n".join(f"{k}: {v}" for k, v in response.items())
        body = response.content.decode(errors="replace")
        self.seen.append((label, f"{response.status_code}\n{headers}\n\n{body}"))
        return response

    def frame(self, raw: str) -> dict[str, Any]:
        self.seen.append(("ws", raw))
        return dict(json.loads(raw))


class Socket:
    def __init__(self, communicator: WebsocketCommunicator, recorder: Recorder) -> None:
        self.communicator = communicator
        self.recorder = recorder

    async def send(self, **frame: Any) -> None:
        await self.communicator.send_json_to(frame)

    async def until(self, kind: str, timeout: float = 20) -> dict[str, Any]:
        async with asyncio.timeout(timeout):
            while True:
                frame = self.recorder.frame(await self.communicator.receive_from(timeout))
                if frame["type"] == kind:
                    return frame

    async def drain(self) -> None:
        while not await self.communicator.receive_nothing(timeout=0.5):
            self.recorder.frame(await self.communicator.receive_from())


async def connect_openrouter(client: AsyncClient, rec: Recorder) -> None:
    start = rec.response("start", await client.post("/accounts/openrouter/start/"))
    callback = await asyncio.to_thread(location_of, start["Location"])
    rec.response("callback", await client.get(local_path(callback)))
    rec.response("account", await client.get("/accounts/"))


async def open_socket(client: AsyncClient, rec: Recorder) -> Socket:
    communicator = await connect_socket(client.cookies["sessionid"].value)
    return Socket(communicator, rec)


async def chat(socket: Socket) -> int:
    """Exercise every kind of frame; return the conversation id."""
    await socket.send(**send_frame("Hello there [[tokens:8]]", None))
    asked = await socket.until("message_created")
    first_reply = await socket.until("done")
    conversation = asked["conversation"]
    await socket.send(**send_frame("[[reasoning]] think first [[tokens:6]]", conversation))
    await socket.until("done")
    await socket.send(
        type="regenerate",
        conversation=conversation,
        message=first_reply["message"]["id"],
        client_id=str(uuid.uuid4()),
    )
    await socket.until("done")
    await socket.send(
        type="edit",
        conversation=conversation,
        message=asked["message"]["id"],
        content="Hello again [[tokens:5]]",
        client_id=str(uuid.uuid4()),
    )
    await socket.until("done")
    await socket.send(**send_frame("slow [[tokens:400]] [[rate:20]]", conversation))
    await socket.until("delta")
    await socket.send(type="stop", conversation=conversation)
    await socket.until("done")
    for marker in ("[[midstream-error]] [[tokens:20]]", "[[error:402]]", "[[error:401]]"):
        await socket.send(**send_frame(f"trouble {marker}", conversation))
        done = await socket.until("done")
    # The 401 asks, in the chat, to connect again.
    assert "Connect your OpenRouter account again" in done["message"]["error_text"]
    # The 401 marked the key invalid and there is no operator key for Alice: refused.
    await socket.send(**send_frame("anyone there?", conversation))
    refused = await socket.until("error")
    assert refused["code"] == "no_key"
    await socket.drain()
    return int(conversation)


async def open_pages(client: AsyncClient, rec: Recorder, conversation: int) -> None:
    for path in (
        "/",
        f"/c/{conversation}/",
        "/catalog/models.json",
        "/search?q=Hello",
        "/usage/",
        "/accounts/",
        "/c/999999/",
    ):
        rec.response(path, await client.get(path))
    rec.response("refresh", await client.post("/accounts/openrouter/refresh/", follow=True))


async def open_admin(rec: Recorder, alice: User, conversation: int) -> None:
    admin = await User.objects.acreate_superuser("root", "root@example.com", "long pass phrase 1")
    client = AsyncClient()
    await client.aforce_login(admin)
    for path in (
        "/admin/accounts/openrouterkey/",
        f"/admin/accounts/user/{alice.pk}/change/",
        "/admin/chat/conversation/",
        f"/admin/chat/conversation/{conversation}/change/",
        "/admin/chat/message/",
        "/dashboard/costs/",
        "/dashboard/costs/export.csv",
        f"/dashboard/costs/users/{alice.pk}/",
    ):
        rec.response(f"admin {path}", await client.get(path))


def assert_nothing_leaked(rec: Recorder, secrets: list[str]) -> None:
    for label, text in rec.seen:
        for secret in secrets:
            for stretch in (secret, secret[9:25], secret[-20:]):
                assert stretch not in text, f"{label} shows part of a key"
        assert not KEY_LIKE.search(text), f"{label} shows something like a key"


@override_settings(OPENROUTER_API_KEY=OPERATOR_KEY, CHATAPP_OPERATOR_KEY_POLICY="staff")
async def test_no_response_and_no_frame_of_a_chat_session_shows_a_key(alice, fake_openrouter):
    rec = Recorder()
    client = AsyncClient()
    await client.aforce_login(alice)
    rec.response("home", await client.get("/"))
    await connect_openrouter(client, rec)
    resolved = await aresolve_api_key(alice)
    assert resolved is not None
    assert resolved.paid_by == "user"
    socket = await open_socket(client, rec)
    try:
        conversation = await chat(socket)
    finally:
        await socket.communicator.disconnect()
        await stop_engine()
    await open_pages(client, rec, conversation)
    await open_admin(rec, alice, conversation)

    # The session did use Alice's key upstream, and produced plenty to scan.
    used = {r["headers"].get("authorization") for r in fake_openrouter.requests()}
    assert f"Bearer {resolved.api_key}" in used
    frames = [json.loads(text) for label, text in rec.seen if label == "ws"]
    kinds = {frame["type"] for frame in frames}
    assert {"message_created", "delta", "reasoning_delta", "usage", "done", "error"} <= kinds
    assert sum(label != "ws" for label, _ in rec.seen) >= 15
    assert any("sk-or-v1-\u2026" in text for label, text in rec.seen if label == "account")
    assert_nothing_leaked(rec, [resolved.api_key, OPERATOR_KEY])
