"""Regenerate and edit add branches (never overwrite), and new conversations get a title."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from chatapp.chat import titles
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import in_catalogue, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def first_exchange(alice_tab: Any, content: str = "question [[tokens:4]]") -> dict[str, Any]:
    await alice_tab.send(**send_frame(content))
    return (await alice_tab.until("done"))["message"]


async def until_titled(alice_tab: Any) -> str:
    """The first title announced for the conversation (updates before it have none yet)."""
    while True:
        titled = await alice_tab.until("conversation_updated", timeout=20)
        if titled["conversation"]["title"]:
            return str(titled["conversation"]["title"])


async def test_regenerate_adds_a_sibling_reply_and_keeps_the_old_one(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    old = await first_exchange(alice_tab)
    other = "anthropic/claude-3.5-sonnet"
    await alice_tab.send(
        type="regenerate",
        conversation=old["conversation"],
        message=old["id"],
        client_id=str(uuid.uuid4()),
        model=other,
    )
    created = await alice_tab.until("message_created")
    new = (await alice_tab.until("done"))["message"]
    assert created["message"]["id"] == new["id"] != old["id"]
    assert new["parent"] == old["parent"]
    assert new["model_used"] == other
    assert (await Message.objects.aget(pk=old["id"])).content == old["content"]
    calls = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    assert calls[-1]["json"]["messages"] == [{"role": "user", "content": "question [[tokens:4]]"}]


async def test_edit_adds_a_sibling_question_with_its_own_reply(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    old = await first_exchange(alice_tab)
    await alice_tab.send(
        type="edit",
        conversation=old["conversation"],
        message=old["parent"],
        content="better question [[tokens:4]]",
        client_id=str(uuid.uuid4()),
    )
    asked = (await alice_tab.until("message_created"))["message"]
    new = (await alice_tab.until("done"))["message"]
    original = await Message.objects.aget(pk=old["parent"])
    assert asked["parent"] == original.parent_id is None
    assert asked["content"] == "better question [[tokens:4]]"
    assert new["parent"] == asked["id"]
    assert original.content == "question [[tokens:4]]"
    calls = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    assert calls[-1]["json"]["messages"] == [
        {"role": "user", "content": "better question [[tokens:4]]"}
    ]


async def test_a_send_after_a_regenerate_follows_the_branch_it_names(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    old = await first_exchange(alice_tab)
    await alice_tab.send(
        type="regenerate",
        conversation=old["conversation"],
        message=old["id"],
        client_id=str(uuid.uuid4()),
    )
    await alice_tab.until("done")
    await alice_tab.send(
        **send_frame("follow up [[tokens:3]]", old["conversation"]), parent=old["id"]
    )
    await alice_tab.until("done")
    calls = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    assert calls[-1]["json"]["messages"] == [
        {"role": "user", "content": "question [[tokens:4]]"},
        {"role": "assistant", "content": old["content"]},
        {"role": "user", "content": "follow up [[tokens:3]]"},
    ]


async def test_a_new_conversation_is_titled_by_the_title_model_and_that_call_is_paid_for(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_TITLE_MODEL = "meta-llama/llama-3.1-8b-instruct:free"
    await in_catalogue(settings.CHATAPP_TITLE_MODEL)
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("How do tides work? [[tokens:4]]"))
    title = await until_titled(alice_tab)
    conversation = await Conversation.objects.aget(owner=alice)
    assert title == conversation.title != ""
    title_call = await Message.objects.aget(role="title")
    assert title_call.model == settings.CHATAPP_TITLE_MODEL
    assert title_call.cost is not None
    assert title_call.paid_by == "operator"
    assert title_call.user_id == alice.pk
    assert title_call.conversation_id == conversation.pk


async def test_a_title_model_that_rambles_is_cut_to_ten_words(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_TITLE_MODEL = "meta-llama/llama-3.1-8b-instruct:free"
    await in_catalogue(settings.CHATAPP_TITLE_MODEL)
    alice_tab = await tab(alice)
    # No [[tokens]] marker: the stand-in answers the title prompt with max_tokens (30) words.
    await alice_tab.send(**send_frame("How do tides work? [[rate:0]]"))
    title = await until_titled(alice_tab)
    assert len(title.split()) == 10
    assert title.endswith("…")
    title_call = await Message.objects.aget(role="title")
    assert len(title_call.content.split()) > 10  # the record keeps what the model said


async def test_without_a_title_model_the_title_is_the_first_words(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_TITLE_MODEL = ""
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("one two three four five six seven eight [[tokens:2]]"))
    assert await until_titled(alice_tab) == "one two three four five six…"
    assert not await Message.objects.filter(role="title").aexists()
    calls = [r for r in fake_openrouter.requests() if r["path"].endswith("/chat/completions")]
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("answer", "title"),
    [
        ("## **Tides** explained\n\nThe moon pulls…", "Tides explained"),
        ('"How tides work."', "How tides work"),
        ("Title: `Ocean tides`", "Ocean tides"),
        ("\n\n  Moon and sea  \n", "Moon and sea"),
    ],
)
def test_a_title_is_the_first_line_of_the_answer_without_markdown(answer, title):
    assert titles._clean(answer) == title
