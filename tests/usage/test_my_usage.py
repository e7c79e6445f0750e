from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.core.periods import local_today, next_month_start
from tests.usage.factories import conversation, reply
from tests.usage.pages import card, table

pytestmark = pytest.mark.django_db
URL = reverse("usage:mine")


def test_it_sends_anonymous_people_to_the_login_page(client) -> None:
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_this_months_spend_by_model(client, alice, bob) -> None:
    conv = conversation(alice)
    reply(conv, cost="0.25")
    reply(conv, cost="0.5", model="anthropic/claude-3.5-sonnet")
    reply(conversation(bob), cost="9")  # someone else's
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert card(page, "month") == "0.75"
    rows = table(page, "models-table")
    assert [r[:3] for r in rows] == [
        ["anthropic/claude-3.5-sonnet", "0.50", "1"],
        ["openai/gpt-4o-mini", "0.25", "1"],
    ]


def test_it_shows_spend_against_the_budget_and_the_reset_date(client, alice) -> None:
    alice.operator_monthly_budget = Decimal("2")
    alice.save()
    reply(conversation(alice), cost="0.5")
    client.force_login(alice)
    page = client.get(URL).content.decode()
    resets = next_month_start(local_today())
    assert 'data-budget="operator"' in page
    assert 'of <span class="money">$2.00</span>' in page
    assert f"Resets on {resets.day} {resets:%B %Y}" in page


def test_it_says_when_the_budget_is_reached(client, alice) -> None:
    alice.own_key_monthly_cap = Decimal("1")
    alice.save()
    reply(conversation(alice), cost="1.25", paid_by="user")
    client.force_login(alice)
    page = client.get(URL).content.decode()
    assert "Cap on your own key" in page
    assert "Reached: new replies on this key are paused until" in page
