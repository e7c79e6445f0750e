"""Staff open the cost dashboard in real Chromium: figures, chart, filters, escaping, CSV."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, LiveUser, log_in

pytestmark = pytest.mark.browser

SEED = (
    "from io import StringIO\n"
    "from django.core.management import call_command\n"
    "from chatapp.accounts.models import User\n"
    "from chatapp.chat.models import Conversation, Message\n"
    "from decimal import Decimal\n"
    "call_command('seed_usage', messages=4000, users=12, days=40, seed=11, stdout=StringIO())\n"
    "u = User.objects.create_user({name!r}, password='x')\n"
    "c = Conversation.objects.create(owner=u, title=\"<script>alert('t')</script>\", model='m')\n"
    "Message.objects.create(conversation=c, user=u, role='assistant', cost=Decimal('3.1415926535'),"
    " model_used=\"<img src=x onerror=alert('m')>\", paid_by='operator')\n"
)


@pytest.fixture
def staff(live_app: LiveApp) -> LiveUser:
    live_app.shell(SEED.format(name=f"<b>mallory-{uuid.uuid4().hex[:6]}</b>"))
    return live_app.create_user(f"staff{uuid.uuid4().hex[:8]}", is_staff=True)


def test_staff_see_the_cost_dashboard(
    page: Any, staff: LiveUser, page_errors: list[str], screenshot: Any
) -> None:
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    log_in(page, staff.username, staff.password)
    page.get_by_role("link", name="Usage").click()  # the chat page's sidebar
    expect(page.get_by_role("heading", name="My usage")).to_be_visible()
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard/costs/")

    expect(page.get_by_role("heading", name="Costs", exact=True)).to_be_visible()
    expect(page.locator('[data-period="today"] .value')).to_contain_text("$")
    expect(page.get_by_role("img", name="Spend per day by model")).to_be_visible()
    assert page.locator(".spend-chart rect").count() > 20
    expect(page.locator("#users-table tbody tr")).not_to_have_count(0)
    expect(page.get_by_text("<script>alert('t')</script>")).to_be_visible()
    expect(
        page.locator("#models-table").get_by_text("<img src=x onerror=alert('m')>")
    ).to_be_visible()
    screenshot(page, "dashboard-costs", full_page=True)
    page.emulate_media(color_scheme="dark")
    page.reload()  # fresh, so no colour transition is caught half-way
    screenshot(page, "dashboard-costs-dark")
    page.emulate_media(color_scheme="light")

    page.get_by_role("link", name="By who paid").click()
    page.wait_for_url("**by=payer**")
    expect(page.get_by_role("img", name="Spend per day by who paid")).to_be_visible()
    expect(page.locator(".legend")).to_contain_text("Operator key")

    with page.expect_download() as download:
        page.locator("#users-h ~ .card-tools a", has_text="CSV").click()
    assert download.value.suggested_filename.startswith("costs-users-")

    assert dialogs == []
    assert page_errors == []


def test_a_user_row_opens_their_replies_with_cost(page: Any, staff: LiveUser) -> None:
    log_in(page, staff.username, staff.password)
    page.goto("/dashboard/costs/")
    first = page.locator("#users-table tbody tr").first
    name = first.locator("td").first.inner_text()
    first.get_by_role("link").click()
    expect(page.get_by_role("heading", name=f"Replies by {name}")).to_be_visible()
    expect(page.locator("#replies-table tbody tr").first).to_contain_text("$")


def test_a_person_sees_their_spend_against_their_budget(
    page: Any, live_app: LiveApp, screenshot: Any
) -> None:
    person = live_app.create_user(f"p{uuid.uuid4().hex[:8]}", operator_monthly_budget="5")
    live_app.shell(
        "from decimal import Decimal\n"
        "from chatapp.chat.models import Conversation, Message\n"
        f"c = Conversation.objects.create(owner_id={person.id}, title='Trip plans', model='m')\n"
        "for model, cost in [('openai/gpt-4o', '1.2345'), ('openai/gpt-4o-mini', '0.0123'),"
        " ('anthropic/claude-3.5-sonnet', '2.5')]:\n"
        f"    Message.objects.create(conversation=c, user_id={person.id}, role='assistant',"
        " model_used=model, cost=Decimal(cost), paid_by='operator', prompt_tokens=900,"
        " completion_tokens=400)\n"
    )
    log_in(page, person.username, person.password)
    page.goto("/usage/")
    expect(page.locator('[data-period="month"] .value')).to_have_text("$3.7468")
    budget = page.locator('[data-budget="operator"]')
    expect(budget).to_contain_text("of $5.00")
    expect(budget).to_contain_text("Resets on")
    expect(page.get_by_role("meter")).to_have_attribute("aria-valuenow", "74")
    screenshot(page, "my-usage")
