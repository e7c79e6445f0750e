"""A person clicks "Connect OpenRouter", approves at the stand-in, and is back with a key."""

from __future__ import annotations

import json
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, LiveUser


def linked_key(live_app: LiveApp, user: LiveUser) -> dict[str, Any] | None:
    return live_app.query(
        "import json\n"
        "from chatapp.accounts.models import OpenRouterKey\n"
        f"k = OpenRouterKey.objects.filter(user_id={user.id}).first()\n"
        "print(json.dumps(k and {'source': k.source, 'masked': k.masked, 'valid': k.is_valid}))"
    )


def test_it_connects_openrouter_through_the_stand_in_and_back(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    requests: list[Any] = []
    page.on("request", lambda request: requests.append(request))

    page.get_by_role("link", name="Account").click()
    page.wait_for_url("**/accounts/")
    expect(page.get_by_role("heading", name="Account")).to_be_visible()
    page.get_by_role("button", name="Connect OpenRouter").click()

    page.wait_for_url(f"{live_app.url}/accounts/")
    expect(page.get_by_text("OpenRouter is connected")).to_be_visible()
    stored = linked_key(live_app, user)
    assert stored is not None
    assert stored["source"] == "pkce"
    assert stored["valid"]
    expect(page.get_by_label("Your key, masked")).to_have_text(stored["masked"])
    expect(page.get_by_text("Connected", exact=True)).to_be_visible()
    screenshot(page, "account-connected", full_page=True)

    # The browser really went to OpenRouter's auth page and came back through the callback.
    urls = [request.url for request in requests]
    assert any("/auth?callback_url=" in url and "code_challenge_method=S256" in url for url in urls)
    [callback] = [r for r in requests if "/accounts/openrouter/callback/" in r.url]
    assert "code=" in callback.url
    # After the callback, no request carries the code onwards as a Referer.
    after = requests[requests.index(callback) + 1 :]
    assert after, "the account page was not loaded after the callback"
    for request in after:
        assert "code=" not in (request.all_headers().get("referer") or ""), request.url
    assert page_errors == []


def test_the_account_page_offers_the_paste_form_and_disconnects(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    page.goto("/accounts/")
    screenshot(page, "account-empty", full_page=True)
    page.get_by_text("Or paste an API key").click()
    page.get_by_label("OpenRouter API key").fill("sk-or-v1-" + "ab" * 32)
    page.get_by_role("button", name="Check and save key").click()
    expect(page.get_by_text("Your key is saved")).to_be_visible()
    expect(page.get_by_label("Your key, masked")).to_have_text("sk-or-v1-\u2026abab")
    assert "ab" * 32 not in page.content()

    page.get_by_role("button", name="Disconnect").click()
    expect(page.get_by_text("deleted from this server")).to_be_visible()
    assert linked_key(live_app, user) is None
    assert json.dumps(page_errors) == "[]"
