"""Cancelling a stream closes the upstream connection at once: that is how billing stops.

"At once" without a stopwatch: each stream below would run for ten seconds or never end, and
`wait_for_close` only accepts a close in the middle of the stream, by the client, within five.
"""

from __future__ import annotations

import asyncio
import time

from chatapp.openrouter import ContentDelta, aget_generation
from tests.openrouter.helpers import KEY, chat, wait_for_close


async def consume(started: asyncio.Event, text: str) -> None:
    async for event in chat(text):
        if isinstance(event, ContentDelta):
            started.set()


async def test_cancelling_the_task_closes_the_connection_mid_stream(fake_openrouter):
    started = asyncio.Event()
    task = asyncio.create_task(consume(started, "[[rate:20]] [[tokens:200]]"))
    await started.wait()

    cancelled_at = time.time()
    task.cancel()
    close = await wait_for_close(fake_openrouter, since=cancelled_at)

    assert task.cancelled()
    assert close["by"] == "client"


async def test_it_closes_a_stalled_connection_when_cancelled(fake_openrouter):
    started = asyncio.Event()
    task = asyncio.create_task(consume(started, "[[stall]] [[tokens:10]]"))
    await started.wait()
    await asyncio.sleep(0.05)  # now it waits on a silent socket

    cancelled_at = time.time()
    task.cancel()
    close = await wait_for_close(fake_openrouter, since=cancelled_at)

    assert close["by"] == "client"


async def test_aclose_closes_the_connection_mid_stream(fake_openrouter):
    stream = chat("[[rate:20]] [[tokens:200]]")
    async for event in stream:
        if isinstance(event, ContentDelta):
            break

    closed_at = time.time()
    await stream.aclose()
    close = await wait_for_close(fake_openrouter, since=closed_at)

    assert close["by"] == "client"


async def test_it_stops_the_generation_upstream_so_only_streamed_tokens_are_billed(
    fake_openrouter,
):
    started = asyncio.Event()
    task = asyncio.create_task(consume(started, "[[rate:50]] [[tokens:500]]"))
    await started.wait()
    cancelled_at = time.time()
    task.cancel()
    close = await wait_for_close(fake_openrouter, since=cancelled_at)

    generation = await aget_generation(api_key=KEY, generation_id=close["generation_id"])
    assert generation is not None
    assert 0 < generation.completion_tokens < 500
    assert fake_openrouter.server.generations[close["generation_id"]]["cancelled"]
