from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import override_settings

from chatapp.core.periods import day_start, local_today, month_start, next_month_start
from chatapp.usage.budgets import budget_check, budget_status
from chatapp.usage.models import BudgetSettings
from tests.usage.factories import conversation, reply

pytestmark = pytest.mark.django_db


def _set_budget(user, **fields) -> None:
    for name, value in fields.items():
        setattr(user, name, Decimal(value) if value is not None else None)
    user.save()


def test_it_allows_a_user_without_any_budget(alice) -> None:
    reply(conversation(alice), cost="100")
    assert budget_check(user=alice, paid_by="operator") is None
    assert budget_check(user=alice, paid_by="user") is None


def test_it_allows_spend_below_the_budget(alice) -> None:
    _set_budget(alice, operator_monthly_budget="5")
    reply(conversation(alice), cost="4.9999999999")
    assert budget_check(user=alice, paid_by="operator") is None


def test_it_refuses_once_operator_spend_reaches_the_budget(alice) -> None:
    _set_budget(alice, operator_monthly_budget="5")
    conv = conversation(alice)
    reply(conv, cost="3.5")
    reply(conv, cost="1.5")
    refusal = budget_check(user=alice, paid_by="operator")
    assert refusal is not None
    assert refusal.budget == Decimal("5")
    assert refusal.spent == Decimal("5")
    assert refusal.resets_on == next_month_start(local_today())
    resets = refusal.resets_on
    assert "$5.00" in refusal.message
    assert f"{resets.day} {resets:%B %Y}" in refusal.message
    assert "account page" in refusal.message


def test_it_counts_title_calls_as_spend(alice) -> None:
    _set_budget(alice, operator_monthly_budget="1")
    conv = conversation(alice)
    reply(conv, cost="0.6")
    reply(conv, cost="0.4", role="title")
    assert budget_check(user=alice, paid_by="operator") is not None


def test_it_counts_each_payer_against_its_own_budget(alice) -> None:
    _set_budget(alice, operator_monthly_budget="1", own_key_monthly_cap="10")
    reply(conversation(alice), cost="2", paid_by="user")
    assert budget_check(user=alice, paid_by="operator") is None
    assert budget_check(user=alice, paid_by="user") is None


def test_it_refuses_when_the_own_key_cap_is_reached(alice) -> None:
    _set_budget(alice, own_key_monthly_cap="2")
    reply(conversation(alice), cost="2.5", paid_by="user")
    refusal = budget_check(user=alice, paid_by="user")
    assert refusal is not None
    assert refusal.spent == Decimal("2.5")
    assert "cap you set on your own OpenRouter key" in refusal.message


def test_it_does_not_count_other_users_spend(alice, bob) -> None:
    _set_budget(alice, operator_monthly_budget="1")
    reply(conversation(bob), cost="50")
    assert budget_check(user=alice, paid_by="operator") is None


@override_settings(CHATAPP_DEFAULT_MONTHLY_BUDGET=Decimal("1"))
def test_it_applies_the_site_default_from_the_environment(alice) -> None:
    reply(conversation(alice), cost="1")
    refusal = budget_check(user=alice, paid_by="operator")
    assert refusal is not None
    assert refusal.budget == Decimal("1")


@override_settings(CHATAPP_DEFAULT_MONTHLY_BUDGET=Decimal("1"))
def test_it_prefers_the_default_an_admin_set_over_the_environment(alice) -> None:
    BudgetSettings(default_operator_monthly_budget=Decimal("10")).save()
    reply(conversation(alice), cost="1")
    assert budget_check(user=alice, paid_by="operator") is None


@override_settings(CHATAPP_DEFAULT_MONTHLY_BUDGET=Decimal("100"))
def test_it_prefers_the_users_own_budget_over_the_site_default(alice) -> None:
    _set_budget(alice, operator_monthly_budget="0")
    refusal = budget_check(user=alice, paid_by="operator")
    assert refusal is not None
    assert refusal.spent == 0


def test_it_only_counts_this_calendar_month(alice) -> None:
    _set_budget(alice, operator_monthly_budget="1")
    this_month = day_start(month_start(local_today()))
    conv = conversation(alice)
    reply(conv, cost="5", created_at=this_month - timedelta(seconds=1))
    reply(conv, cost="0.25", created_at=this_month)
    status = budget_status(user=alice, paid_by="operator")
    assert status is not None
    assert status.spent == Decimal("0.25")


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "America/Los_Angeles"])
def test_it_starts_the_month_at_midnight_in_the_operators_time_zone(alice, zone) -> None:
    with override_settings(TIME_ZONE=zone):
        _set_budget(alice, operator_monthly_budget="1")
        start = day_start(month_start(local_today()))
        conv = conversation(alice)
        reply(conv, cost="3", created_at=start - timedelta(minutes=1))
        reply(conv, cost="0.5", created_at=start + timedelta(minutes=1))
        status = budget_status(user=alice, paid_by="operator")
        assert status is not None
        assert status.spent == Decimal("0.5")


def test_a_reply_that_crosses_the_budget_is_charged_in_full_and_the_next_is_refused(
    alice,
) -> None:
    _set_budget(alice, operator_monthly_budget="1")
    conv = conversation(alice)
    reply(conv, cost="0.9")
    assert budget_check(user=alice, paid_by="operator") is None  # this reply may start
    reply(conv, cost="0.3")  # ...and finishes, costing more than what was left
    refusal = budget_check(user=alice, paid_by="operator")
    assert refusal is not None
    assert refusal.spent == Decimal("1.2")


def test_it_rejects_an_unknown_payer(alice) -> None:
    with pytest.raises(ValueError, match="paid_by must be"):
        budget_check(user=alice, paid_by="nobody")


def test_deleting_conversations_does_not_give_back_budget(alice) -> None:
    _set_budget(alice, operator_monthly_budget="1")
    conv = conversation(alice)
    reply(conv, cost="0.75")
    reply(conv, cost="0.25", role="title")
    conv.delete()
    refusal = budget_check(user=alice, paid_by="operator")
    assert refusal is not None
    assert refusal.spent == Decimal("1")
    status = budget_status(user=alice, paid_by="operator")
    assert status is not None
    assert status.deleted == Decimal("1")


def test_deleting_a_user_forgets_their_deleted_spend(alice) -> None:
    from chatapp.usage.models import DeletedSpend
    from chatapp.usage.rollup import usage_rollup_drift

    reply(conversation(alice), cost="1")
    alice.delete()
    assert not DeletedSpend.objects.exists()
    assert usage_rollup_drift() == []
