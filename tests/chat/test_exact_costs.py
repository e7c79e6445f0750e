"""A cost is kept exactly as OpenRouter reports it, and every total adds such costs exactly.

The stand-in reports a fixed cost with `[[cost:…]]`; the figures have 12 decimal places, more
than the 10 that used to be stored (0.0176861789 shown against 0.017686178901 charged).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from chatapp.chat import spend
from chatapp.chat.models import Message
from chatapp.usage.rollup import usage_rollup_drift
from tests.chat.frames import send_frame
from tests.usage.pages import card, table

pytestmark = [pytest.mark.django_db(transaction=True)]

REPORTED = ["0.012345678901", "0.005340500000"]
TOTAL = Decimal("0.017686178901")


async def page_of(user: Any, url: str) -> str:
    client = Client()
    await sync_to_async(client.force_login)(user)
    response = await sync_to_async(client.get)(url)
    assert response.status_code == 200
    return str(response.content.decode())


@pytest.fixture
async def two_replies(alice, tab, fake_openrouter, operator_key) -> list[dict[str, Any]]:
    alice_tab = await tab(alice)
    usages = []
    for cost in REPORTED:
        await alice_tab.send(**send_frame(f"price me [[tokens:3]] [[cost:{cost}]]"))
        usages.append(await alice_tab.until("usage"))
        await alice_tab.until("done")
    await spend.rollups_settled()
    return usages


async def test_each_cost_is_stored_and_sent_with_every_reported_digit(two_replies):
    stored = [m.cost async for m in Message.objects.filter(role="assistant").order_by("pk")]
    assert stored == [Decimal(c) for c in REPORTED]
    assert [u["cost"] for u in two_replies] == ["0.012345678901", "0.0053405"]


async def test_the_dashboard_totals_the_costs_exactly(two_replies, staff):
    page = await page_of(staff, reverse("usage:costs"))
    for period in ("today", "week", "month", "range"):
        assert Decimal(card(page, period)) == TOTAL
    [row] = table(page, "users-table")
    assert Decimal(row[1]) == TOTAL
    assert await sync_to_async(usage_rollup_drift)() == []


async def test_my_usage_totals_the_costs_exactly(two_replies, alice):
    page = await page_of(alice, reverse("usage:mine"))
    assert card(page, "month") == "0.017686178901"
    [row] = table(page, "models-table")
    assert Decimal(row[1]) == TOTAL
