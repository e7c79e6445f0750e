"""When OpenRouter fails, refuses or goes silent, the reply says so in plain words, text kept."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from chatapp.accounts.keys import key_store
from chatapp.accounts.models import OpenRouterKey
from chatapp.chat.models import Conversation, Message
from tests.chat.frames import MODEL, chat_calls, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def test_a_mid_stream_error_keeps_the_partial_reply_marked_error(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("go [[tokens:30]] [[midstream-error]]"))
    done = await alice_tab.until("done")
    final = done["message"]
    assert final["status"] == "error"
    assert final["content"] != ""
    assert final["error_code"]
    assert final["error_text"].endswith(".")
    row = await Message.objects.aget(pk=final["id"])
    assert (row.status, row.content, row.error_text) == (
        "error",
        final["content"],
        final["error_text"],
    )


async def test_a_dropped_connection_keeps_the_partial_reply_marked_error(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("go [[tokens:30]] [[drop]]"))
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "error"
    assert done["message"]["error_text"]


async def test_a_silent_upstream_times_out_as_an_error(
    alice, tab, fake_openrouter, operator_key, settings
):
    settings.OPENROUTER_IDLE_TIMEOUT = 1.0
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("go [[tokens:30]] [[stall]]"))
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "error"
    assert done["message"]["error_text"]


async def test_an_error_before_the_first_token_is_shown_next_to_the_reply(
    alice, tab, fake_openrouter, operator_key
):
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("go [[error:402]]"))
    done = await alice_tab.until("done")
    final = done["message"]
    assert final["status"] == "error"
    assert final["error_code"] == "insufficient_credits"
    assert "credits" in final["error_text"]
    assert final["content"] == ""


async def test_a_refused_user_key_is_marked_invalid_and_the_reply_says_to_connect_again(
    alice, tab, fake_openrouter
):
    await sync_to_async(key_store)(user=alice, api_key="sk-or-v1-invalid-0001", source="pasted")
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("hello"))
    done = await alice_tab.until("done")
    assert done["message"]["status"] == "error"
    assert done["message"]["paid_by"] == "user"
    assert "Connect" in done["message"]["error_text"]
    key = await OpenRouterKey.objects.aget(user=alice)
    assert key.is_valid is False


async def test_a_linked_key_pays_for_the_reply(alice, tab, fake_openrouter):
    await sync_to_async(key_store)(user=alice, api_key="sk-or-v1-alice-0001", source="pasted")
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("hello [[tokens:3]]"))
    done = await alice_tab.until("done")
    assert done["message"]["paid_by"] == "user"
    [call] = chat_calls(fake_openrouter)
    assert call["headers"]["authorization"] == "Bearer sk-or-v1-alice-0001"


async def test_without_a_key_the_send_is_refused_and_nothing_goes_upstream(
    alice, tab, fake_openrouter, settings
):
    settings.OPENROUTER_API_KEY = None
    alice_tab = await tab(alice)
    frame = send_frame("hello")
    await alice_tab.send(**frame)
    error = await alice_tab.until("error")
    assert error["code"] == "no_key"
    assert error["client_id"] == frame["client_id"]
    assert "OpenRouter" in error["message"]
    assert chat_calls(fake_openrouter) == []
    assert not await Message.objects.aexists()


async def test_over_budget_the_send_is_refused_and_nothing_goes_upstream(
    alice, tab, fake_openrouter, operator_key
):
    alice.operator_monthly_budget = Decimal("0.01")
    await alice.asave(update_fields=["operator_monthly_budget"])
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    await Message.objects.acreate(
        conversation=conversation,
        user=alice,
        role="assistant",
        cost=Decimal("0.02"),
        paid_by="operator",
        created_at=timezone.now() - timedelta(seconds=1),
    )
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("hello", conversation.pk))
    error = await alice_tab.until("error")
    assert error["code"] == "over_budget"
    assert "budget" in error["message"]
    assert chat_calls(fake_openrouter) == []
