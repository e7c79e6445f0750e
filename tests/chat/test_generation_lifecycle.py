"""A reply belongs to its worker, not to a socket: watch, leave, come back, stop, busy."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, send_frame
from tests.eventually import eventually

pytestmark = [pytest.mark.django_db(transaction=True)]

SLOW = "[[tokens:60]] [[rate:30]]"  # about two seconds of reply


async def start_slow_reply(alice_tab: Any, prompt: str = f"tell me {SLOW}") -> tuple[int, int]:
    await alice_tab.send(**send_frame(prompt))
    await alice_tab.until("message_created")
    reply = await alice_tab.until("message_created")
    await alice_tab.until("delta")
    return reply["conversation"], reply["message"]["id"]


async def test_a_second_tab_gets_the_text_so_far_then_the_rest_live(
    alice, tab, fake_openrouter, operator_key
):
    first = await tab(alice)
    conversation_id, reply_id = await start_slow_reply(first)
    await first.until("delta")

    second = await tab(alice)
    await second.send(type="subscribe", conversation=conversation_id)
    snapshot = await second.until("snapshot")
    [streaming] = snapshot["messages"]
    assert streaming["id"] == reply_id
    assert streaming["status"] == "streaming"
    assert streaming["content"] != ""
    done = await second.until("done")
    await first.until("done")
    # text_of checks every offset: no gap and no repeat between the snapshot and the deltas.
    assert second.text_of(reply_id) == done["message"]["content"]
    assert first.text_of(reply_id) == done["message"]["content"]


async def test_closing_the_tab_does_not_stop_the_reply(alice, tab, fake_openrouter, operator_key):
    first = await tab(alice)
    conversation_id, reply_id = await start_slow_reply(first)
    await first.communicator.disconnect()

    back = await tab(alice)  # the page is reloaded
    await back.send(type="subscribe", conversation=conversation_id)
    await back.until("snapshot")
    done = await back.until("done")
    assert done["message"]["status"] == "complete"
    assert back.text_of(reply_id) == done["message"]["content"]
    row = await Message.objects.aget(pk=reply_id)
    assert row.completion_tokens == 60


async def test_subscribing_to_a_quiet_conversation_gives_an_empty_snapshot(
    alice, tab, operator_key
):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    alice_tab = await tab(alice)
    await alice_tab.send(type="subscribe", conversation=conversation.pk)
    assert await alice_tab.next() == {
        "type": "snapshot",
        "conversation": conversation.pk,
        "messages": [],
    }


async def test_stop_keeps_the_partial_reply_as_cancelled_and_closes_upstream(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    conversation_id, reply_id = await start_slow_reply(
        alice_tab, "stop me [[tokens:400]] [[rate:20]]"
    )
    await alice_tab.send(type="stop", conversation=conversation_id)
    done = await alice_tab.until("done")

    final = done["message"]
    assert final["status"] == "cancelled"
    assert final["content"] != ""
    assert alice_tab.text_of(reply_id) == final["content"]
    closes = await eventually(  # the stand-in logs the close from its own thread
        lambda: [e for e in fake_openrouter.events() if e.get("during_stream")],
        failure="the upstream stream was not closed",
    )
    assert closes[0]["by"] == "client", "the upstream stream was not closed"
    row = await Message.objects.aget(pk=reply_id)
    assert row.status == "cancelled"
    assert row.content == final["content"]


async def test_a_stopped_reply_gets_its_cost_from_the_generation_endpoint(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    conversation_id, reply_id = await start_slow_reply(
        alice_tab, "stop me [[tokens:400]] [[rate:20]]"
    )
    await alice_tab.send(type="stop", conversation=conversation_id)
    await alice_tab.until("done")
    usage = await alice_tab.until("usage", timeout=20)
    assert usage["message"] == reply_id
    assert usage["cost"] is not None
    row = await Message.objects.aget(pk=reply_id)
    assert row.cost is not None
    assert row.cost > 0
    assert any(r["path"].endswith("/generation") for r in fake_openrouter.requests())


async def test_stop_from_another_tab_stops_the_reply(alice, tab, fake_openrouter, operator_key):
    first = await tab(alice)
    conversation_id, _ = await start_slow_reply(first, "stop me [[tokens:400]] [[rate:20]]")
    second = await tab(alice)
    await second.send(type="stop", conversation=conversation_id)
    done = await first.until("done")
    assert done["message"]["status"] == "cancelled"


async def test_a_second_send_while_a_reply_runs_is_refused_as_busy(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    conversation_id, _ = await start_slow_reply(alice_tab)
    again = send_frame("and another thing", conversation_id)
    await alice_tab.send(**again)
    error = await alice_tab.until("error")
    assert error["code"] == "busy"
    assert error["client_id"] == again["client_id"]
    assert "Stop" in error["message"]
    assert not await Message.objects.filter(content="and another thing").aexists()


async def test_two_sends_racing_on_one_conversation_start_one_reply(
    alice, tab, fake_openrouter, operator_key
):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    first, second = await tab(alice), await tab(alice)
    await asyncio.gather(
        first.send(**send_frame(f"one {SLOW}", conversation.pk)),
        second.send(**send_frame(f"two {SLOW}", conversation.pk)),
    )
    refused = [f for t in (first, second) for f in await _frames_until_settled(t)]
    assert [f["code"] for f in refused if f["type"] == "error"] == ["busy"]
    assert await Message.objects.filter(role="assistant").acount() == 1


async def _frames_until_settled(alice_tab: Any) -> list[dict[str, Any]]:
    while not await alice_tab.nothing(0.5):
        await alice_tab.next()
    return alice_tab.seen
