"""The rollups the dashboard reads always equal the sums of the message rows."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from chatapp.accounts.models import User
from chatapp.chat.models import Conversation, Message
from chatapp.core.periods import day_start, local_today
from chatapp.usage.models import UsageDaily
from chatapp.usage.rollup import usage_record, usage_rollup_drift
from chatapp.usage.selectors import (
    Filters,
    usage_by_model,
    usage_by_user,
    usage_cards,
    usage_top_conversations,
)
from tests.usage.factories import conversation, reply
from tests.usage.pages import card, table

MODELS = ["openai/gpt-4o-mini", "anthropic/claude-3.5-sonnet", "<b>x</b>/model"]
costs = st.one_of(
    st.none(),
    st.decimals(min_value=0, max_value=1000, places=10, allow_nan=False, allow_infinity=False),
)
replies = st.lists(
    st.tuples(
        st.integers(0, 2),  # who
        st.integers(0, 3),  # which of their conversations
        costs,
        st.sampled_from(MODELS),
        st.sampled_from(["user", "operator"]),
        st.sampled_from(["assistant", "title", "user"]),
        st.integers(0, 40 * 24),  # hours ago
    ),
    max_size=30,
)


@override_settings(TIME_ZONE="America/New_York")
class TotalsEqualRowSums(TestCase):
    @given(rows=replies, span=st.integers(0, 45))
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    def test_every_total_equals_the_sum_of_the_stored_costs(self, rows, span) -> None:
        people = [User.objects.create_user(f"u{i}") for i in range(3)]
        staff = User.objects.create_user("boss", is_staff=True)
        convs: dict[tuple[int, int], Conversation] = {}
        now = day_start(local_today()) + timedelta(hours=23, minutes=59)
        for who, which, cost, model, paid_by, role, hours in rows:
            key = (who, which)
            if key not in convs:
                convs[key] = conversation(people[who], title=f"c{who}{which}")
            at = now - timedelta(hours=hours)
            reply(convs[key], cost=cost, model=model, paid_by=paid_by, role=role, created_at=at)

        f = Filters(start=local_today() - timedelta(days=span), end=local_today())
        priced = (
            Message.objects.exclude(role="user")
            .filter(cost__isnull=False)
            .filter(
                created_at__gte=day_start(f.start), created_at__lt=day_start(f.end + timedelta(1))
            )
        )
        expected = sum((m.cost for m in priced if m.cost is not None), Decimal(0))

        assert usage_cards(f)["range"].spend == expected
        assert usage_cards(f)["range"].replies == priced.count()
        assert sum((r.spend for r in usage_by_model(f)), Decimal(0)) == expected
        assert sum((r.spend for r in usage_by_user(f)[0]), Decimal(0)) == expected
        for person in people:
            mine = sum((m.cost or 0 for m in priced if m.user_id == person.pk), Decimal(0))
            assert usage_cards(Filters(f.start, f.end, user_id=person.pk))["range"].spend == mine
        for model in MODELS:
            on_model = sum((m.cost or 0 for m in priced if m.model_used == model), Decimal(0))
            assert usage_cards(Filters(f.start, f.end, model=model))["range"].spend == on_model
        for row in usage_top_conversations(f):
            in_conv = sum((m.cost or 0 for m in priced if m.conversation_id == row.key), Decimal(0))
            assert row.spend == in_conv
        assert usage_rollup_drift() == []

        client = Client()
        client.force_login(staff)
        page = client.get("/dashboard/costs/", {"start": f.start, "end": f.end}).content.decode()
        assert Decimal(card(page, "range")) == expected
        assert sum((Decimal(r[1]) for r in table(page, "users-table")), Decimal(0)) == expected


pytestmark = pytest.mark.django_db


def _range_total() -> Decimal:
    return usage_cards(Filters(start=local_today() - timedelta(days=60), end=local_today()))[
        "range"
    ].spend


def test_it_follows_a_cost_recorded_after_the_reply_was_created(alice) -> None:
    msg = reply(conversation(alice), cost=None)
    assert _range_total() == 0
    msg.cost = Decimal("0.0000012345")
    msg.save(update_fields=["cost", "updated_at"])
    assert _range_total() == Decimal("0.0000012345")


def test_it_empties_the_old_day_when_a_reply_moves_to_another(alice) -> None:
    msg = reply(conversation(alice), cost="2")
    msg.created_at -= timedelta(days=3)
    msg.save(update_fields=["created_at"])
    days = list(UsageDaily.objects.values_list("day", "cost_units"))
    assert days == [(local_today() - timedelta(days=3), 2 * 10**10)]


def test_it_forgets_the_spend_of_a_deleted_conversation(alice) -> None:
    keep, drop = conversation(alice), conversation(alice, title="to delete")
    reply(keep, cost="1")
    reply(drop, cost="5", created_at=day_start(local_today()) - timedelta(days=2))
    reply(drop, cost="5")
    drop.delete()
    assert _range_total() == Decimal(1)
    assert usage_rollup_drift() == []


def test_usage_record_catches_up_after_a_queryset_update(alice) -> None:
    msg = reply(conversation(alice), cost="1")
    Message.objects.filter(pk=msg.pk).update(cost=Decimal("3"))
    assert usage_rollup_drift() != []
    msg.refresh_from_db()
    usage_record(message=msg)
    assert usage_rollup_drift() == []
    assert _range_total() == Decimal(3)


def test_the_check_command_finds_drift_and_rebuild_repairs_it(alice) -> None:
    reply(conversation(alice), cost="1")
    call_command("usage_rollup", "--check")
    UsageDaily.objects.update(cost_units=1)
    with pytest.raises(CommandError, match="differ from the message rows"):
        call_command("usage_rollup", "--check")
    call_command("usage_rollup", "--rebuild")
    call_command("usage_rollup", "--check")


def test_a_reply_without_a_cost_is_not_counted(alice) -> None:
    reply(conversation(alice), cost=None)
    assert usage_cards(Filters(start=local_today(), end=local_today()))["today"].replies == 0


def test_the_persons_own_messages_are_not_spend(alice) -> None:
    conv = conversation(alice)
    reply(conv, cost="1", role="user")
    assert usage_cards(Filters(start=local_today(), end=local_today()))["today"].replies == 0
