"""The socket's own rules: only your own conversations, valid frames, bounded size and rate."""

from __future__ import annotations

import json
import uuid

import pytest

from chatapp.chat import consumers
from chatapp.chat.models import Conversation, Message

pytestmark = [pytest.mark.django_db(transaction=True)]

MODEL = "openai/gpt-4o-mini"


async def test_another_users_conversation_answers_exactly_like_a_missing_one(
    alice, bob, tab, operator_key
):
    bobs = await Conversation.objects.acreate(owner=bob, model=MODEL)
    alice_tab = await tab(alice)
    answers = []
    for conversation_id in (bobs.pk, bobs.pk + 1000):
        for frame in (
            {"type": "subscribe", "conversation": conversation_id},
            {"type": "stop", "conversation": conversation_id},
            {
                "type": "send",
                "conversation": conversation_id,
                "client_id": str(uuid.uuid4()),
                "content": "hi",
                "model": MODEL,
            },
        ):
            await alice_tab.send(**frame)
            answer = await alice_tab.next()
            answers.append({k: v for k, v in answer.items() if k != "client_id"})
    assert all(a["type"] == "error" and a["code"] == "not_found" for a in answers)
    assert answers[:3] == [{**a, "conversation": bobs.pk} for a in answers[3:]]
    assert not await Message.objects.aexists()


async def test_another_users_message_cannot_be_regenerated(alice, bob, tab, operator_key):
    bobs = await Conversation.objects.acreate(owner=bob, model=MODEL)
    question = await Message.objects.acreate(conversation=bobs, user=bob, role="user", content="q")
    mine = await Conversation.objects.acreate(owner=alice, model=MODEL)
    alice_tab = await tab(alice)
    await alice_tab.send(
        type="regenerate", conversation=mine.pk, message=question.pk, client_id=str(uuid.uuid4())
    )
    error = await alice_tab.until("error")
    assert error["code"] == "not_found"


async def test_a_frame_that_is_not_json_gets_a_clear_error(alice, tab):
    alice_tab = await tab(alice)
    await alice_tab.communicator.send_to(text_data="{not json")
    error = await alice_tab.next()
    assert error["type"] == "error"
    assert error["code"] == "bad_request"


async def test_a_frame_missing_a_field_says_which(alice, tab):
    alice_tab = await tab(alice)
    await alice_tab.send(type="send", conversation=None, client_id=str(uuid.uuid4()), model=MODEL)
    error = await alice_tab.next()
    assert error["code"] == "bad_request"
    assert "content" in error["message"]


async def test_an_unknown_frame_type_is_refused(alice, tab):
    alice_tab = await tab(alice)
    await alice_tab.send(type="delete_everything")
    error = await alice_tab.next()
    assert error["code"] == "bad_request"


async def test_an_oversized_frame_is_refused_and_the_socket_stays_open(alice, tab, operator_key):
    alice_tab = await tab(alice)
    huge = json.dumps(
        {"type": "subscribe", "conversation": 1, "pad": "x" * consumers.MAX_FRAME_BYTES}
    )
    await alice_tab.communicator.send_to(text_data=huge)
    error = await alice_tab.next()
    assert error["code"] == "too_large"
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    await alice_tab.send(type="subscribe", conversation=conversation.pk)
    assert (await alice_tab.next())["type"] == "snapshot"


async def test_too_many_frames_get_a_rate_limit_error_not_a_dropped_socket(alice, tab, monkeypatch):
    monkeypatch.setattr(consumers, "rate_limiter", consumers.RateLimiter(3, 0.001))
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    alice_tab = await tab(alice)
    for _ in range(4):
        await alice_tab.send(type="subscribe", conversation=conversation.pk)
    answers = [await alice_tab.next() for _ in range(4)]
    assert [a["type"] for a in answers] == ["snapshot"] * 3 + ["error"]
    assert answers[-1]["code"] == "rate_limited"
    assert "try again" in answers[-1]["message"]
