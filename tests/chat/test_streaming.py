"""Send → stream → done over the real ASGI stack, against the stand-in OpenRouter on a real port."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chatapp.chat import spend
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_it_streams_a_reply_into_a_new_conversation(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    frame = send_frame("Hello there [[tokens:12]]")
    await alice_tab.send(**frame)

    asked = await alice_tab.until("message_created")
    reply = await alice_tab.until("message_created")
    assert asked["message"]["role"] == "user"
    assert asked["client_id"] == frame["client_id"]
    assert reply["message"]["role"] == "assistant"
    assert reply["message"]["status"] == "streaming"
    done = await alice_tab.until("done")

    final = done["message"]
    assert final["status"] == "complete"
    assert alice_tab.text_of(final["id"]) == final["content"] != ""
    row = await Message.objects.aget(pk=final["id"])
    assert row.content == final["content"]
    assert row.user_id == alice.pk
    assert row.parent_id == asked["message"]["id"]
    assert row.model_used
    assert row.provider
    assert row.generation_id
    assert row.finish_reason == "stop"
    assert row.completion_tokens
    assert row.prompt_tokens
    assert isinstance(row.cost, Decimal)
    assert row.cost > 0
    assert row.paid_by == "operator"
    assert row.time_to_first_token_ms is not None
    assert row.duration_ms is not None


async def test_it_announces_a_new_conversation_to_every_tab_of_its_owner(
    alice, tab, fake_openrouter, operator_key
):
    first, second = await tab(alice), await tab(alice)
    await first.send(**send_frame("Hi [[tokens:3]]"))
    announced = await second.until("conversation_updated")
    conversation = await Conversation.objects.aget(owner=alice)
    assert announced["conversation"]["id"] == conversation.pk


async def test_it_reports_usage_with_the_cost_as_a_decimal_string(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("Hi [[tokens:3]]"))
    usage = await alice_tab.until("usage")
    done = await alice_tab.until("done")
    assert isinstance(usage["cost"], str)
    assert Decimal(usage["cost"]) == (await Message.objects.aget(pk=done["message"]["id"])).cost


async def test_it_sends_the_system_prompt_the_branch_and_the_parameters_upstream(
    alice, tab, fake_openrouter, operator_key
):
    conversation = await Conversation.objects.acreate(
        owner=alice, model=MODEL, system_prompt="Be brief.", parameters={"temperature": 0.2}
    )
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("first question [[tokens:3]]", conversation.pk))
    first = await alice_tab.until("done")
    await alice_tab.send(**send_frame("second question [[tokens:3]]", conversation.pk))
    await alice_tab.until("done")

    sent = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    body = sent[-1]["json"]
    assert body["messages"] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "first question [[tokens:3]]"},
        {"role": "assistant", "content": first["message"]["content"]},
        {"role": "user", "content": "second question [[tokens:3]]"},
    ]
    assert body["temperature"] == 0.2
    assert body["model"] == MODEL
    assert body["user"] == str(alice.openrouter_user_id)


async def test_it_records_which_model_answered_when_the_model_changes_per_send(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("one [[tokens:2]]"))
    done = await alice_tab.until("done")
    conversation_id = done["conversation"]
    other = "anthropic/claude-3.5-sonnet"
    await alice_tab.send(**send_frame("two [[tokens:2]]", conversation_id, model=other))
    done = await alice_tab.until("done")
    assert done["message"]["model"] == other
    assert done["message"]["model_used"] == other
    await alice.arefresh_from_db()
    assert alice.last_model == other


async def test_a_resent_send_with_the_same_client_id_generates_nothing_new(
    alice, tab, fake_openrouter, operator_key
):
    frame = send_frame("only once [[tokens:3]]")
    first_tab = await tab(alice)
    await first_tab.send(**frame)
    await first_tab.until("done")
    fake_openrouter.clear()

    again = await tab(alice)  # a reconnect resends what it was not sure about
    await again.send(**frame)
    asked = await again.until("message_created")
    reply = await again.until("message_created")
    assert asked["message"]["role"] == "user"
    assert reply["message"]["role"] == "assistant"
    while not await again.nothing(0.5):  # only the title may still arrive, nothing generated
        assert (await again.next())["type"] == "conversation_updated"
    assert await Message.objects.filter(user=alice).acount() == 2
    assert fake_openrouter.requests() == []


async def test_the_first_deltas_arrive_before_the_reply_is_done(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("slowly [[tokens:20]] [[rate:40]]"))
    await alice_tab.until("delta")
    row = await Message.objects.aget(role="assistant")
    assert row.status == "streaming"
    done = await alice_tab.until("done")
    assert alice_tab.text_of(done["message"]["id"]) == done["message"]["content"]


async def test_tokens_that_arrive_together_share_one_frame(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("fast [[tokens:400]] [[rate:100000]]"))
    done = await alice_tab.until("done")
    deltas = alice_tab.of_type("delta")
    assert alice_tab.text_of(done["message"]["id"]) == done["message"]["content"]
    assert done["message"]["completion_tokens"] == 400
    assert len(deltas) < 400


async def test_it_streams_reasoning_separately_from_the_reply(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("think [[reasoning]] [[tokens:5]]"))
    done = await alice_tab.until("done")
    reply_id = done["message"]["id"]
    assert alice_tab.text_of(reply_id, "reasoning_delta") == done["message"]["reasoning"] != ""
    assert alice_tab.text_of(reply_id) == done["message"]["content"]


async def test_the_cost_of_a_reply_reaches_the_usage_rollups(
    alice, tab, fake_openrouter, operator_key
):
    from chatapp.usage.models import UserUsageDaily

    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("Hi [[tokens:3]]"))
    done = await alice_tab.until("done")
    await spend.rollups_settled()
    row = await Message.objects.aget(pk=done["message"]["id"])
    daily = await UserUsageDaily.objects.aget(user=alice)
    assert daily.cost == row.cost > 0
    assert daily.replies == 1


async def test_a_tab_that_missed_the_end_of_a_reply_gets_its_final_state_on_subscribe(
    alice, tab, fake_openrouter, operator_key
):
    """The tab was away when the reply finished: it names the reply it still shows streaming,
    and the snapshot brings it back complete (before, only replies still streaming came)."""
    writer = await tab(alice)
    await writer.send(**send_frame("short [[tokens:5]]"))
    done = await writer.until("done")
    reply = done["message"]

    returning = await tab(alice)
    await returning.send(
        type="subscribe", conversation=reply["conversation"], streaming=[reply["id"]]
    )
    snapshot = await returning.until("snapshot")
    [final] = snapshot["messages"]
    assert final["id"] == reply["id"]
    assert final["status"] == "complete"
    assert final["content"] == reply["content"]


async def test_a_subscribe_cannot_read_replies_of_another_conversation(
    alice, bob, tab, fake_openrouter, operator_key
):
    bobs = await tab(bob)
    await bobs.send(**send_frame("secret [[tokens:5]]"))
    theirs = (await bobs.until("done"))["message"]
    mine = await Conversation.objects.acreate(owner=alice, model=MODEL)

    alices = await tab(alice)
    await alices.send(type="subscribe", conversation=mine.pk, streaming=[theirs["id"]])
    snapshot = await alices.until("snapshot")
    assert snapshot["messages"] == []
