"""The live-server fixtures themselves: a person can sign up and land on the chat page."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, sign_up


def test_it_signs_up_through_the_page_and_lands_on_the_chat_page(
    page: Any, live_app: LiveApp, page_errors: list[str]
):
    sign_up(page, "newcomer")
    assert page.url == f"{live_app.url}/"
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page_errors == []


def test_it_creates_users_in_the_live_database(live_app: LiveApp):
    created = live_app.create_user("ingrid", favorite_models=["openai/gpt-4o-mini"])
    stored = live_app.query(
        "import json\nfrom chatapp.accounts.models import User\n"
        "u = User.objects.get(username='ingrid')\n"
        "print(json.dumps([u.pk, u.favorite_models]))"
    )
    assert stored == [created.id, ["openai/gpt-4o-mini"]]
