"""Budgets through the engine's real send path, against the stand-in OpenRouter."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from chatapp.chat.models import Conversation, Message
from chatapp.core.periods import local_today, next_month_start
from chatapp.usage.models import BudgetSettings
from tests.chat.frames import MODEL, chat_calls, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]


async def _spend(user: Any, cost: str) -> None:
    conversation = await Conversation.objects.acreate(owner=user, model=MODEL, title="earlier")
    await Message.objects.acreate(
        conversation=conversation,
        user=user,
        role="assistant",
        model_used=MODEL,
        cost=Decimal(cost),
        paid_by="operator",
    )


async def test_over_the_site_default_budget_nothing_goes_upstream(
    alice,
    tab,
    fake_openrouter,
    operator_key,
) -> None:
    await sync_to_async(BudgetSettings(default_operator_monthly_budget=Decimal("0.25")).save)()
    await _spend(alice, "0.25")
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("hello"))
    error = await alice_tab.until("error")
    assert error["code"] == "over_budget"
    resets = next_month_start(local_today())
    assert "$0.25 monthly budget" in error["message"]
    assert f"{resets.day} {resets:%B %Y}" in error["message"]
    assert chat_calls(fake_openrouter) == []


async def test_a_reply_in_flight_when_the_budget_runs_out_finishes_and_the_next_is_refused(
    alice,
    tab,
    fake_openrouter,
    operator_key,
) -> None:
    alice.operator_monthly_budget = Decimal("0.5")
    await alice.asave(update_fields=["operator_monthly_budget"])
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("write [[tokens:30]] [[rate:30]]"))
    first = await alice_tab.until("delta")
    await _spend(alice, "0.6")  # another reply, elsewhere, spends the rest of the budget

    done = await alice_tab.until("done")
    assert done["message"]["status"] == "complete"
    reply = await Message.objects.aget(pk=first["message"])
    assert reply.cost is not None
    assert reply.cost > 0
    assert len(chat_calls(fake_openrouter)) == 1

    await alice_tab.send(**send_frame("and another", done["conversation"]))
    error = await alice_tab.until("error")
    assert error["code"] == "over_budget"
    assert len(chat_calls(fake_openrouter)) == 1
