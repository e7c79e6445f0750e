"""Scaled out: a generation started through process A is watched live through process B, and
"stop" sent through B reaches the worker in A. One send handed to both at once is stored, and
sent upstream, once."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from chatapp.chat.models import Message
from tests.chat.engine import session_cookie
from tests.chat.frames import chat_calls, send_frame
from tests.chat.servers import open_socket, read_until
from tests.eventually import eventually

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


async def test_a_reply_started_on_one_process_is_watched_and_stopped_through_another(
    alice, two_servers
):
    port_a, port_b = two_servers
    cookie = await session_cookie(alice)
    on_a, on_b = await open_socket(port_a, cookie), await open_socket(port_b, cookie)
    try:
        seen_a: list[dict[str, Any]] = []
        await on_a.send(json.dumps(send_frame("long one [[tokens:400]] [[rate:20]]")))
        await read_until(on_a, "delta", seen_a)
        reply_id = seen_a[-1]["message"]
        conversation_id = seen_a[-1]["conversation"]

        seen_b: list[dict[str, Any]] = []
        await on_b.send(json.dumps({"type": "subscribe", "conversation": conversation_id}))
        snapshot = await read_until(on_b, "snapshot", seen_b)
        [streaming] = snapshot["messages"]
        assert streaming["id"] == reply_id
        assert streaming["content"]
        live = await read_until(on_b, "delta", seen_b)
        assert live["offset"] >= len(streaming["content"])

        await on_b.send(json.dumps({"type": "stop", "conversation": conversation_id}))
        done_b = await read_until(on_b, "done", seen_b)
        done_a = await read_until(on_a, "done", seen_a)
        assert done_a["message"]["status"] == done_b["message"]["status"] == "cancelled"

        text_b = streaming["content"] + "".join(f["text"] for f in seen_b if f["type"] == "delta")
        assert text_b == done_b["message"]["content"]
        row = await Message.objects.aget(pk=reply_id)
        assert row.status == "cancelled"
        assert row.content == text_b
    finally:
        await on_a.close()
        await on_b.close()


async def test_one_send_handed_to_both_processes_at_once_calls_openrouter_once(
    alice, two_servers, fake_openrouter
):
    """The attack: the same frame on two sockets at the same moment, four times."""
    cookie = await session_cookie(alice)
    sockets = [await open_socket(port, cookie) for port in two_servers]
    answered: set[int] = set()
    try:
        for attempt in range(4):
            frame = json.dumps(send_frame(f"attempt {attempt} [[tokens:3]]"))
            await asyncio.gather(*(ws.send(frame) for ws in sockets))
            replies = [await created_reply(ws, answered) for ws in sockets]
            assert replies[0] == replies[1]  # both were answered with the one stored reply
            answered.add(replies[0])
            # One at a time: four replies at once would meet CHATAPP_MAX_CONCURRENT_REPLIES.
            await read_until(sockets[0], "done", [])
    finally:
        for ws in sockets:
            await ws.close()
    await replies_finished()
    assert len(chat_calls(fake_openrouter)) == 4
    assert await Message.objects.filter(role="assistant").acount() == 4


async def created_reply(ws: Any, answered: set[int]) -> int:
    """Read until the `message_created` of an assistant message not in `answered`; return its id.
    (A socket that lost the race is answered directly, and may also see the winner's broadcast
    of the same reply, since it now watches that conversation.)"""
    while True:
        frame = await read_until(ws, "message_created", [])
        if frame["message"]["role"] == "assistant" and frame["message"]["id"] not in answered:
            return int(frame["message"]["id"])


async def replies_finished() -> None:
    async def none_streaming() -> bool:
        return not await Message.objects.filter(status="streaming").aexists()

    await eventually(none_streaming, timeout=20, interval=0.05, failure="replies still streaming")
