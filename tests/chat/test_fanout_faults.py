"""Scaled out, under faults: Redis stalls, or cuts the subscriptions, in the middle of a fast reply
watched from both processes while other tabs come and go. Every socket still ends with the exact
stored text and the reply's final state; the browser never sees a gap."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio as redis
from django.conf import settings

from chatapp.chat.models import Message
from tests.chat.engine import session_cookie
from tests.chat.frames import send_frame
from tests.chat.servers import Browser, metrics, open_socket, read_until, watch

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

FAST_LONG = "fast [[tokens:3000]] [[rate:1500]]"


async def come_and_go(ports: list[int], cookie: str, conversation: int, stop: asyncio.Event) -> int:
    """Tabs that open the conversation and close again at once, on both processes."""
    visits = 0
    while not stop.is_set():
        ws = await open_socket(ports[visits % len(ports)], cookie)
        await ws.send(json.dumps({"type": "subscribe", "conversation": conversation}))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(0.2):
                await ws.recv()
        await ws.close()
        visits += 1
    return visits


@pytest.fixture
async def redis_admin() -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(settings.REDIS_URL)
    yield client
    await client.aclose()


async def run_fault(
    alice: Any, ports: list[int], fault: Callable[[], Awaitable[None]]
) -> tuple[list[Browser], Message]:
    """Start a fast long reply on process A, watch it from four tabs on B and two on A, with
    tabs coming and going, and run `fault` while it streams."""
    port_a, port_b = ports
    cookie = await session_cookie(alice)
    sender = await open_socket(port_a, cookie)
    try:
        await sender.send(json.dumps(send_frame(FAST_LONG)))
        first = await read_until(sender, "delta", [])
        conversation, reply = first["conversation"], first["message"]
        watchers = [
            asyncio.create_task(watch(port, cookie, conversation, reply))
            for port in (port_b, port_b, port_b, port_b, port_a, port_a)
        ]
        stop = asyncio.Event()
        churn = asyncio.create_task(come_and_go(ports, cookie, conversation, stop))
        try:
            await asyncio.sleep(0.3)
            await fault()
            browsers = await asyncio.gather(*watchers)
        finally:
            stop.set()  # the churn ends by itself
            for task in watchers:
                task.cancel()
        assert await churn > 0
        await read_until(sender, "done", [])
    finally:
        await sender.close()
    return browsers, await Message.objects.aget(pk=reply)


def assert_every_tab_shows(browsers: list[Browser], row: Message) -> None:
    assert row.status == Message.Status.COMPLETE
    assert row.completion_tokens == 3000
    for browser in browsers:
        assert browser.final is not None
        assert browser.final["status"] == "complete"
        assert browser.final["content"] == row.content
        assert browser.text == row.content, "a tab's text differs from the stored reply"


async def test_a_stalled_redis_coalesces_frames_and_every_tab_gets_the_exact_text(
    alice, two_servers, redis_admin
):
    async def stall() -> None:
        for _ in range(3):  # PUBLISH waits while writes are paused: frames pile up behind it
            await redis_admin.execute_command("CLIENT", "PAUSE", "400", "WRITE")
            await asyncio.sleep(0.6)

    browsers, row = await run_fault(alice, two_servers, stall)
    assert_every_tab_shows(browsers, row)
    counts = metrics(two_servers[0])
    assert counts["coalesced"] > 0, counts
    assert counts["dropped"] == 0, counts


async def test_cut_redis_subscriptions_mid_reply_are_repaired_on_every_tab(
    alice, two_servers, redis_admin
):
    async def cut() -> None:
        for _ in range(3):
            await redis_admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            await asyncio.sleep(0.4)

    browsers, row = await run_fault(alice, two_servers, cut)
    assert_every_tab_shows(browsers, row)
    counts = metrics(two_servers[1])
    assert counts["reconnects"] >= 1, counts
    assert counts["resynced"] >= 1, counts
    assert counts["dropped"] == 0, counts
