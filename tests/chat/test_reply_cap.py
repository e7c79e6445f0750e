"""A person may have CHATAPP_MAX_CONCURRENT_REPLIES replies streaming at once, counted in the
database: a burst of sends starts that many upstream calls, the rest get `busy` and a sentence."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connections, transaction

from chatapp.accounts.models import User
from chatapp.chat import consumers, services
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, chat_calls, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

LONG = "[[tokens:400]] [[rate:10]]"  # forty seconds: still streaming when the test looks


async def test_a_burst_of_sends_starts_only_as_many_replies_as_the_cap(
    alice, tab, fake_openrouter, operator_key, settings, monkeypatch
):
    assert settings.CHATAPP_MAX_CONCURRENT_REPLIES == 3  # the default
    # A full bucket, whatever earlier tests sent as a user with the same id.
    monkeypatch.setattr(consumers, "rate_limiter", consumers.RateLimiter(30, 2.0))
    alice_tab = await tab(alice)
    for n in range(8):
        await alice_tab.send(**send_frame(f"question {n} {LONG}"))
    refusals = [await alice_tab.until("error") for _ in range(5)]
    assert {r["code"] for r in refusals} == {"busy"}
    assert "3 replies being written already" in refusals[0]["message"]
    assert "stop one" in refusals[0]["message"]
    replies = [m async for m in Message.objects.filter(role="assistant")]
    assert len(replies) == 3
    for reply in replies:  # every worker has reached the stand-in
        await alice_tab.until("delta", message=reply.pk)
    assert len(chat_calls(fake_openrouter)) == 3


async def test_stopping_a_reply_frees_a_place(alice, tab, fake_openrouter, operator_key, settings):
    settings.CHATAPP_MAX_CONCURRENT_REPLIES = 1
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame(f"first {LONG}"))
    await alice_tab.send(**send_frame(f"second {LONG}"))
    refused = await alice_tab.until("error")
    assert refused["code"] == "busy"
    assert "1 reply being written" in refused["message"]
    first = await Message.objects.aget(role="assistant")
    await alice_tab.send(type="stop", conversation=first.conversation_id)
    await alice_tab.until("done", conversation=first.conversation_id)
    await alice_tab.send(**send_frame("third [[tokens:3]]"))
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "complete"


async def test_replies_streaming_in_another_process_count_against_the_cap(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_MAX_CONCURRENT_REPLIES = 2
    for _ in range(2):  # as another server process would have stored them
        conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
        await Message.objects.acreate(
            conversation=conversation, user=alice, role="assistant", status="streaming"
        )
    alice_tab = await tab(alice)
    frame = send_frame("one more")
    await alice_tab.send(**frame)
    refused = await alice_tab.until("error")
    assert refused["code"] == "busy"
    assert refused["client_id"] == frame["client_id"]
    assert await Message.objects.acount() == 2
    assert chat_calls(fake_openrouter) == []


@pytest.mark.postgres
def test_two_sends_racing_for_the_last_place_cannot_both_take_it(alice, operator_key, settings):
    """A send waits for another one's transaction on the same user, then counts its reply."""
    settings.CHATAPP_MAX_CONCURRENT_REPLIES = 1
    outcome: dict[str, Any] = {}

    def send() -> None:
        try:
            user = User.objects.get(pk=alice.pk)
            services.message_send(
                user=user,
                conversation_id=None,
                client_id=uuid.uuid4(),
                content="racing",
                model=MODEL,
                parent_id=None,
            )
            outcome["result"] = "sent"
        except services.ChatRefusal as refusal:
            outcome["result"] = refusal.code
        finally:
            connections.close_all()

    with transaction.atomic():  # the other process: inside its send, reply not yet committed
        services._reserve_reply(user=alice)
        conversation = Conversation.objects.create(owner=alice, model=MODEL)
        Message.objects.create(
            conversation=conversation, user=alice, role="assistant", status="streaming"
        )
        racer = threading.Thread(target=send)
        racer.start()
        racer.join(timeout=1)  # time to race: it must wait for this transaction, not count
    racer.join(timeout=20)
    assert outcome == {"result": "busy"}
    assert Message.objects.filter(status="streaming").count() == 1
