"""Every conversation gets a name, whatever its first reply did, and a missing title model is quiet.

Issue 17, bugs 5, 6 and 9.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

import chatapp.asgi  # noqa: F401 - set up before caplog: importing it re-applies LOGGING
from chatapp.chat import sweeper, titles
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, chat_calls, in_catalogue, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def until_titled(alice_tab: Any) -> dict[str, Any]:
    while True:
        frame = await alice_tab.until("conversation_updated", timeout=20)
        if frame["conversation"]["title"]:
            return dict(frame["conversation"])


@pytest.fixture(autouse=True)
def fresh_warnings() -> None:
    getattr(titles, "unavailable_title_models", set()).clear()


def problems(caplog: Any) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("chatapp") and r.levelno >= 30]


async def test_a_title_model_missing_from_the_catalogue_is_never_called_and_warned_about_once(
    alice, tab, fake_openrouter, operator_key, settings, caplog
):
    settings.CHATAPP_TITLE_MODEL = "nobody/retired-model"
    alice_tab = await tab(alice)
    for question in ("one two three four five six seven [[tokens:2]]", "second chat [[tokens:2]]"):
        await alice_tab.send(**send_frame(question))
        await until_titled(alice_tab)
    names = [c.title async for c in Conversation.objects.order_by("pk")]
    assert names == ["one two three four five six…", "second chat [[tokens:2]]"]
    assert all(call["json"]["model"] == MODEL for call in chat_calls(fake_openrouter))
    assert [(r.levelname, "nobody/retired-model" in r.getMessage()) for r in problems(caplog)] == [
        ("WARNING", True)
    ]


async def test_a_title_model_openrouter_refuses_falls_back_to_the_first_words_with_one_warning(
    alice, tab, fake_openrouter, operator_key, settings, caplog
):
    # In our catalogue, unknown to the stand-in: it answers 400, as OpenRouter does.
    settings.CHATAPP_TITLE_MODEL = "nobody/refused-model"
    await in_catalogue("nobody/refused-model")
    alice_tab = await tab(alice)
    for question in ("why is the sky blue [[tokens:2]]", "and the sea [[tokens:2]]"):
        await alice_tab.send(**send_frame(question))
        await until_titled(alice_tab)
    names = [c.title async for c in Conversation.objects.order_by("pk")]
    assert names == ["why is the sky blue [[tokens:2]]", "and the sea [[tokens:2]]"]
    assert [r.levelname for r in problems(caplog)] == ["WARNING"]
    assert "nobody/refused-model" in problems(caplog)[0].getMessage()


async def test_a_first_reply_that_fails_still_names_the_conversation(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("tell me about tides [[error:502]]"))
    done = (await alice_tab.until("done"))["message"]
    assert done["status"] == "error"
    assert (await until_titled(alice_tab))["title"] == "tell me about tides [[error:502]]"


async def test_a_first_reply_that_is_interrupted_still_names_the_conversation(alice):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    question = await Message.objects.acreate(
        conversation=conversation, user=alice, role="user", content="how do magnets work"
    )
    reply = await Message.objects.acreate(
        conversation=conversation, user=alice, role="assistant", parent=question, status="streaming"
    )
    await Message.objects.filter(pk=reply.pk).aupdate(
        updated_at=timezone.now() - timedelta(minutes=5)
    )
    assert await sweeper.asweep_interrupted() == [reply.pk]
    await conversation.arefresh_from_db()
    assert conversation.title == "how do magnets work"


async def test_the_first_reply_cost_reaches_the_sidebar_without_waiting_for_the_title(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.CHATAPP_TITLE_MODEL = MODEL  # a paid title call: its cost comes on top later
    await in_catalogue(MODEL)
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("how do tides work [[tokens:5]]"))
    done = (await alice_tab.until("done"))["message"]
    update = (await alice_tab.until("conversation_updated"))["conversation"]
    assert update["cost"] == done["cost"] != "0"
    titled = await until_titled(alice_tab)
    assert titled["cost"] != done["cost"]  # the title call's cost, added when it is in
