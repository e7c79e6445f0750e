"""What prompt caching saved, totalled on "My usage" and the cost dashboard from the rollups."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.core.periods import day_start, local_today
from chatapp.usage.models import UsageDaily
from chatapp.usage.rollup import usage_rollup_drift, usage_rollup_rebuild
from tests.usage.factories import conversation, reply
from tests.usage.pages import text

pytestmark = pytest.mark.django_db


def saved(page: str, period: str) -> str:
    found = re.search(rf'data-saved="{period}"[^>]*>(.*?)</div>', page, re.S)
    assert found, f"no savings on the {period} card"
    return text(found.group(1)).removeprefix("Cache saved $")


def test_my_usage_totals_this_months_cache_savings_to_the_last_digit(client, alice, bob):
    conv = conversation(alice)
    reply(conv, cost="0.01", cache_savings="0.000001234567890123")
    reply(conv, cost="0.02", cache_savings="0.0000015")
    reply(conv, cost="0.03")  # nothing cached
    reply(conversation(bob), cost="1", cache_savings="0.5")  # someone else's
    client.force_login(alice)
    page = client.get(reverse("usage:mine")).content.decode()
    assert saved(page, "month") == "0.000002734567890123"


def test_without_cached_tokens_no_savings_line_is_shown(client, alice):
    reply(conversation(alice), cost="0.01")
    client.force_login(alice)
    assert "data-saved" not in client.get(reverse("usage:mine")).content.decode()


def test_the_dashboard_totals_cache_savings_per_period(client, staff, alice):
    conv = conversation(alice)
    today = day_start(local_today()) + timedelta(hours=10)
    reply(conv, cost="0.01", cache_savings="0.25", created_at=today)
    reply(conv, cost="0.01", cache_savings="0.5", created_at=today - timedelta(days=3))
    client.force_login(staff)
    page = client.get(reverse("usage:costs")).content.decode()
    assert saved(page, "today") == "0.25"
    assert saved(page, "week") == "0.75"


def test_the_rollup_check_sees_savings_that_drifted_and_a_rebuild_repairs_them(alice):
    reply(conversation(alice), cost="0.01", cache_savings="0.125")
    assert usage_rollup_drift() == []
    UsageDaily.objects.update(saved_units=0)
    assert usage_rollup_drift() != []
    usage_rollup_rebuild()
    assert usage_rollup_drift() == []
    assert UsageDaily.objects.get().saved == Decimal("0.125")
