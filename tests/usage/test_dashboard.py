from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from chatapp.accounts.models import User
from chatapp.chat.models import Message
from chatapp.core.periods import day_start, local_today
from tests.usage.factories import conversation, reply
from tests.usage.pages import card, csv_rows, table

pytestmark = pytest.mark.django_db

COSTS = reverse("usage:costs")
CSV = reverse("usage:costs_csv")


@pytest.fixture
def spend(alice, bob) -> list[Message]:
    """A few replies over the last days, by two people, on three models."""
    today = day_start(local_today()) + timedelta(hours=10)
    a, b = conversation(alice, title="Trip plans"), conversation(bob, title="Tax questions")
    return [
        reply(a, cost="0.0123456789", created_at=today),
        reply(a, cost="1.5", model="anthropic/claude-3.5-sonnet", paid_by="user"),
        reply(a, cost="0.0000000001", role="title", created_at=today - timedelta(days=3)),
        reply(b, cost="2.25", model="openai/gpt-4o", created_at=today - timedelta(days=10)),
        reply(b, cost=None, created_at=today - timedelta(days=12)),  # failed, never priced
        reply(b, cost="7", created_at=today - timedelta(days=45)),  # outside 30 days
    ]


def _sum(messages: list[Message], *, since_days: int) -> Decimal:
    start = day_start(local_today() - timedelta(days=since_days - 1))
    return sum((m.cost or Decimal(0) for m in messages if m.created_at >= start), Decimal(0))


def test_it_sends_anonymous_people_to_the_login_page(client) -> None:
    response = client.get(COSTS)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize(
    "url", [COSTS, CSV, reverse("usage:user_replies", args=[1])], ids=["page", "csv", "replies"]
)
def test_it_refuses_people_who_are_not_staff(client, alice, url) -> None:
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_it_shows_totals_equal_to_the_sum_of_the_stored_costs(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS).content.decode()
    assert Decimal(card(page, "range")) == _sum(spend, since_days=30) == Decimal("3.7623456790")
    assert Decimal(card(page, "month")) == _sum(spend, since_days=30)
    assert Decimal(card(page, "week")) == _sum(spend, since_days=7)
    assert Decimal(card(page, "today")) == _sum(spend, since_days=1)


def test_it_shows_every_digit_of_a_cost(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS).content.decode()
    assert card(page, "week") == "1.512345679"


def test_its_tables_add_up_to_the_range_total(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS).content.decode()
    total = Decimal(card(page, "range"))
    for table_id in ("users-table", "models-table"):
        assert sum(Decimal(row[1]) for row in table(page, table_id)) == total


def test_it_ranks_users_by_spend_with_replies_tokens_and_average(client, staff, spend) -> None:
    client.force_login(staff)
    rows = table(client.get(COSTS).content.decode(), "users-table")
    assert [r[:4] for r in rows] == [
        ["bob", "2.25", "1", "150"],
        ["alice", "1.512345679", "3", "450"],
    ]
    assert rows[0][4] == "2.250000"  # average per priced reply, to a millionth
    assert rows[1][4] == "0.504115"


@pytest.mark.parametrize("table_name", ["users", "models", "conversations", "summary", "daily"])
def test_its_csv_has_the_numbers_of_the_page(client, staff, spend, table_name) -> None:
    client.force_login(staff)
    query = "?start=" + str(local_today() - timedelta(days=60)) + "&by=model"
    page = client.get(COSTS + query).content.decode()
    response = client.get(CSV + query + "&table=" + table_name)
    assert response["Content-Type"].startswith("text/csv")
    rows = csv_rows(response.content)[1:]
    if table_name in ("users", "models"):
        assert rows == table(page, f"{table_name}-table")
    elif table_name == "conversations":
        assert [r[1:5] for r in rows] == table(page, "conversations-table")
    elif table_name == "summary":
        periods = ["today", "week", "month", "range"]
        assert [r[1] for r in rows] == [card(page, p) for p in periods]
    else:
        assert sum(Decimal(r[-1]) for r in rows) == Decimal(card(page, "range"))


def test_its_daily_csv_lists_every_day_of_the_range_empty_ones_as_zero(
    client, staff, spend
) -> None:
    client.force_login(staff)
    start, end = local_today() - timedelta(days=20), local_today()
    response = client.get(CSV, {"start": start, "end": end, "table": "daily"})
    rows = csv_rows(response.content)
    assert len(rows) == 1 + 21
    assert rows[1][0] == start.isoformat()
    assert rows[-1][0] == end.isoformat()
    assert rows[2][-1] == "0.00"


def test_it_filters_by_user(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS, {"user": "alice"}).content.decode()
    assert card(page, "range") == "1.512345679"
    assert [r[0] for r in table(page, "users-table")] == ["alice"]


def test_it_filters_by_model(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS, {"model": "openai/gpt-4o"}).content.decode()
    assert card(page, "range") == "2.25"


def test_it_filters_by_date_range(client, staff, spend) -> None:
    client.force_login(staff)
    day = local_today() - timedelta(days=45)
    page = client.get(COSTS, {"start": day, "end": day}).content.decode()
    assert card(page, "range") == "7.00"


def test_it_says_what_is_wrong_with_a_filter(client, staff, spend) -> None:
    client.force_login(staff)
    page = client.get(COSTS, {"user": "nobody-here"}).content.decode()
    assert "There is no user called “nobody-here”" in page
    assert "Showing the last 30 days for everyone instead." in page


def test_it_charts_spend_per_day_by_model_or_by_who_paid(client, staff, spend) -> None:
    client.force_login(staff)
    by_model = client.get(COSTS).content.decode()
    assert "<svg" in by_model
    assert "anthropic/claude-3.5-sonnet" in by_model
    by_payer = client.get(COSTS, {"by": "payer"}).content.decode()
    assert "User&#x27;s key" in by_payer
    assert "Operator key" in by_payer


def test_a_user_row_links_to_their_replies_with_cost(client, staff, spend, alice) -> None:
    client.force_login(staff)
    page = client.get(COSTS).content.decode()
    link = reverse("usage:user_replies", args=[alice.pk])
    assert f'href="{link}?start=' in page
    replies = client.get(link).content.decode()
    rows = table(replies, "replies-table")
    assert sorted(r[-1] for r in rows) == ["0.0000000001", "0.0123456789", "1.50"]


def test_it_shows_a_script_title_username_and_model_as_text(client, staff) -> None:
    mallory = User.objects.create_user("<script>alert('u')</script>", password="x")
    conv = conversation(mallory, title="<script>alert('t')</script>")
    reply(conv, cost="1", model="<img src=x onerror=alert('m')>")
    client.force_login(staff)
    for response in (
        client.get(COSTS),
        client.get(COSTS, {"by": "payer"}),
        client.get(reverse("usage:user_replies", args=[mallory.pk])),
    ):
        body = response.content.decode()
        assert "<script>alert" not in body
        assert "<img src=x" not in body
    body = client.get(COSTS).content.decode()
    assert "&lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt;" in body
    assert "&lt;script&gt;alert(&#x27;u&#x27;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(&#x27;m&#x27;)&gt;" in body


def test_its_csv_keeps_formula_like_names_as_text(client, staff) -> None:
    evil = User.objects.create_user("=HYPERLINK(1)", password="x")
    reply(conversation(evil), cost="1")
    client.force_login(staff)
    rows = csv_rows(client.get(CSV, {"table": "users"}).content)
    assert rows[1][0] == "'=HYPERLINK(1)"


def test_the_admin_links_to_the_dashboard(client, staff) -> None:
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    assert f'href="{COSTS}"' in client.get(reverse("admin:index")).content.decode()


def test_it_shows_the_spend_of_deleted_conversations_beside_the_totals(
    client, staff, alice
) -> None:
    keep, gone = conversation(alice), conversation(alice, title="gone")
    reply(keep, cost="1")
    reply(gone, cost="0.5")
    gone.delete()
    client.force_login(staff)
    page = client.get(COSTS).content.decode()
    assert card(page, "range") == "1.00"
    assert 'id="deleted-note"' in page
    assert "$0.50" in page
    rows = csv_rows(client.get(CSV, {"table": "summary"}).content)
    assert rows[-1][:2] == ["Deleted conversations in the range (not in the totals)", "0.50"]


def test_an_admin_sets_the_site_wide_budget_in_the_admin(client, staff) -> None:
    staff.is_superuser = True
    staff.save()
    client.force_login(staff)
    response = client.get(reverse("admin:usage_budgetsettings_changelist"))
    assert response.status_code == 302  # one row: straight to its form
    form = response["Location"]
    response = client.post(form, {"default_operator_monthly_budget": "12.5"})
    assert response.status_code == 302
    from chatapp.usage.budgets import site_default_budget

    assert site_default_budget() == Decimal("12.5")
