"""A server process killed, stopped or left without Redis in the middle of a reply: nothing is
lost, neither the text the person saw nor the money OpenRouter charged.

Real daphne processes on the test's PostgreSQL database and Redis, against the stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.db.models import Sum

from chatapp.chat.models import Message
from chatapp.core.periods import local_today
from chatapp.openrouter import aget_key
from chatapp.usage.selectors import Filters, usage_cards
from tests.chat.engine import session_cookie
from tests.chat.frames import OPERATOR_KEY, send_frame
from tests.chat.servers import Browser, Server, open_socket, read_until, server_env, watch
from tests.eventually import eventually, eventually_blocking

pytestmark = [
    pytest.mark.redis,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

LONG_SLOW = "long [[tokens:400]] [[rate:20]]"


@pytest.fixture
def server(fake_openrouter: Any, tmp_path: Path) -> Iterator[Server]:
    app = Server(server_env(fake_openrouter), tmp_path / "daphne.log")
    yield app
    with contextlib.suppress(Exception):
        app.stop()


async def start_reply(port: int, cookie: str, seconds: float) -> tuple[Any, Browser]:
    """Send a long slow reply on a tab; read it for `seconds`; return the tab and what it shows."""
    ws = await open_socket(port, cookie)
    await ws.send(json.dumps(send_frame(LONG_SLOW)))
    first = await read_until(ws, "delta", [])
    browser = Browser(first["message"])
    browser.take(first)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                browser.take(json.loads(await ws.recv()))
    return ws, browser


async def charged() -> Decimal:
    """What the stand-in has charged the operator key so far (across this session's tests)."""
    return (await aget_key(api_key=OPERATOR_KEY)).usage


async def assert_costed_as_charged(reply_id: int, charged_before: Decimal) -> None:
    """The reply gets OpenRouter's cost, and the dashboard's total is what the stand-in charged
    during the test."""

    async def costed() -> bool:
        return (await Message.objects.aget(pk=reply_id)).cost is not None

    await eventually(costed, timeout=20, interval=0.1, failure="the reply was never costed")
    charged_now = await charged() - charged_before
    stored = (await Message.objects.aaggregate(total=Sum("cost")))["total"]
    assert stored == charged_now
    assert charged_now > 0

    async def dashboard_caught_up() -> bool:
        today = local_today()
        cards = await sync_to_async(usage_cards)(Filters(start=today, end=today))
        return bool(cards["today"].spend == charged_now)

    await eventually(
        dashboard_caught_up, timeout=10, interval=0.1, failure="the dashboard never caught up"
    )


async def test_after_sigkill_a_restarted_server_interrupts_the_reply_within_5_s_with_its_cost(
    alice, server
):
    server.start()
    before = await charged()
    cookie = await session_cookie(alice)
    ws, shown = await start_reply(server.port, cookie, seconds=2.5)
    server.stop(signal.SIGKILL)
    await ws.close()

    server.start()  # and no tab connects: the sweep must not wait for one

    async def swept() -> bool:
        return (await Message.objects.aget(pk=shown.reply)).status != "streaming"

    # "Within 5 s" is the deadline of the wait, not a stopwatch reading.
    await eventually(swept, timeout=5.0, interval=0.1, failure="not swept within 5 s")
    row = await Message.objects.aget(pk=shown.reply)
    assert row.status == "interrupted"
    assert "Regenerate" in row.error_text
    assert row.generation_id, "the generation id is stored before the first token"
    # The checkpoint: what the person saw, less at most about a second of it.
    assert row.content
    assert shown.text.startswith(row.content)
    assert len(shown.text) - len(row.content) <= 30 * 4
    await assert_costed_as_charged(row.pk, before)


async def test_sigterm_ends_replies_as_interrupted_with_all_their_text_and_tells_every_tab(
    alice, server
):
    server.start()
    before = await charged()
    cookie = await session_cookie(alice)
    ws, shown = await start_reply(server.port, cookie, seconds=1.5)
    stopping = asyncio.create_task(asyncio.to_thread(server.stop, signal.SIGTERM, 15))
    frames = []
    with contextlib.suppress(websockets.ConnectionClosed):
        async with asyncio.timeout(15):
            while True:
                frame = json.loads(await ws.recv())
                frames.append(frame["type"])
                shown.take(frame)
    assert ws.close_code == 4012  # restarting: the page reconnects
    assert await stopping == 0  # within CHATAPP_SHUTDOWN_SECONDS, cleanly
    assert frames[-1] == "restarting"
    assert "done" in frames
    assert shown.final is not None
    assert shown.final["status"] == "interrupted"

    row = await Message.objects.aget(pk=shown.reply)
    assert row.status == "interrupted"
    assert row.generation_id
    assert row.content == shown.text == shown.final["content"], "text the person saw was lost"

    server.start()  # the next process costs what the last one left
    await assert_costed_as_charged(row.pk, before)


def restart_redis() -> None:
    """Stop the machine's Redis and start it again the way .ci/run does (it keeps nothing)."""
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False)
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379"]
        + ["--save", "", "--appendonly", "no"],
        check=True,
    )
    eventually_blocking(
        lambda: (
            not subprocess.run(["redis-cli", "-p", "6379", "ping"], capture_output=True).returncode
        ),
        interval=0.1,
        failure="Redis did not come back",
    )


async def test_after_a_redis_restart_the_reply_reaches_every_tab_and_stop_and_sends_work(
    alice, two_servers
):
    port_a, port_b = two_servers
    cookie = await session_cookie(alice)
    sender, shown = await start_reply(port_a, cookie, seconds=0.5)
    row = await Message.objects.aget(pk=shown.reply)
    watcher = asyncio.create_task(watch(port_b, cookie, row.conversation_id, row.pk))
    await asyncio.sleep(1.0)
    await asyncio.to_thread(restart_redis)
    await asyncio.sleep(2.0)  # the processes find Redis again by themselves

    # Stop, from the other process, reaches the reply that was running during the restart.
    stopper = await open_socket(port_b, cookie)
    await stopper.send(json.dumps({"type": "stop", "conversation": row.conversation_id}))
    async with asyncio.timeout(10):
        while shown.final is None:
            shown.take(json.loads(await sender.recv()))
    on_b = await watcher
    row = await Message.objects.aget(pk=row.pk)
    assert row.status == "cancelled"
    assert shown.text == on_b.text == row.content
    assert on_b.final is not None
    assert on_b.final["status"] == "cancelled"

    # A new send works on either process, with no restart of the app.
    await stopper.send(json.dumps(send_frame("after [[tokens:5]]")))
    done = await read_until(stopper, "done", [])
    assert done["message"]["status"] == "complete"
    assert done["message"]["cost"] == str(Decimal(done["message"]["cost"]))
    await stopper.close()
    await sender.close()
