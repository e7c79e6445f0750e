"""Picker, sidebar, settings, keys and errors on the chat page, in real Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, LiveUser, log_in
from tests.browser.test_chat_page import send


def open_picker(page: Any) -> Any:
    page.get_by_role("button", name="Model").click()
    search = page.get_by_role("combobox", name="Search models")
    expect(search).to_be_focused()
    return search


def test_the_picker_works_from_the_keyboard(signed_in_page: Any, screenshot: Any):
    page = signed_in_page
    search = open_picker(page)
    search.fill("claude 3.5 son")
    first = page.locator("[role=option]").first
    expect(first).to_have_attribute("data-id", "anthropic/claude-3.5-sonnet")
    screenshot(page, "picker-keyboard")
    search.press("ArrowDown")
    search.press("ArrowUp")
    search.press("Enter")
    expect(page.get_by_role("dialog", name="Choose a model")).to_be_hidden()
    expect(page.locator("#model-current")).to_contain_text("Claude 3.5 Sonnet")
    search = open_picker(page)
    search.press("Escape")
    expect(page.get_by_role("dialog", name="Choose a model")).to_be_hidden()
    expect(page.get_by_role("button", name="Model")).to_be_focused()


def test_the_picker_filters_free_models_and_pins_favourites(signed_in_page: Any):
    page = signed_in_page
    search = open_picker(page)
    page.get_by_label("Free").check()
    options = page.locator("[role=option]")
    expect(options.first).to_be_visible()
    ids = options.evaluate_all("els => els.map(e => e.dataset.id)")
    assert ids
    # every entry left says "free" where the price would be
    assert page.locator("[role=option] .badge.ok").count() == len(ids)
    page.get_by_label("Free").uncheck()
    search.fill("gpt-4o-mini")
    page.locator('[role=option][data-id="openai/gpt-4o-mini"] .star').click()
    search.fill("")
    expect(page.locator(".model-list .group").first).to_have_text("Favourites")
    expect(options.first).to_have_attribute("data-id", "openai/gpt-4o-mini")


def test_the_last_model_used_is_the_default_for_a_new_chat(signed_in_page: Any):
    page = signed_in_page
    search = open_picker(page)
    search.fill("llama 3.1 8b free")
    page.locator('[role=option][data-id="meta-llama/llama-3.1-8b-instruct:free"]').click()
    send(page, "Hi [[tokens:5]] [[rate:0]]")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    page.get_by_role("link", name="New chat").click()
    expect(page.locator("#model-current")).to_contain_text("Llama 3.1 8B")


def test_conversations_can_be_found_renamed_and_deleted(signed_in_page: Any, screenshot: Any):
    page = signed_in_page
    send(page, "Tell me about pelicans [[tokens:8]] [[rate:0]]")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    item = page.locator("#conv-items li.conv-item").first
    expect(item).to_be_visible()
    item.hover()
    item.locator(".conv-rename").click()
    page.get_by_role("textbox", name="New title").fill("Pelican facts")
    page.get_by_role("textbox", name="New title").press("Enter")
    expect(item.locator(".conv-title")).to_have_text("Pelican facts")
    page.get_by_role("searchbox", name="Search conversations").fill("pelicans")
    result = page.locator("#search-results a", has_text="Pelican facts")
    expect(result).to_be_visible()
    screenshot(page, "sidebar-search")
    page.get_by_role("searchbox", name="Search conversations").fill("")
    page.reload()
    item = page.locator("#conv-items li.conv-item").first
    expect(item.locator(".conv-title")).to_have_text("Pelican facts")
    item.hover()
    item.get_by_role("button", name="Delete “Pelican facts”").click()
    page.get_by_role("button", name="Delete", exact=True).click()
    page.wait_for_url("**/")
    expect(page.locator("#conv-items li.conv-item")).to_have_count(0)


def test_a_failed_reply_says_why_in_plain_words_and_can_be_retried(
    signed_in_page: Any, screenshot: Any
):
    page = signed_in_page
    send(page, "This one fails [[error:503]]")
    error = page.locator(".msg-error")
    expect(error).to_be_visible(timeout=20_000)
    assert error.locator(".msg-error-text").inner_text().strip()
    screenshot(page, "error-retry")
    expect(error.get_by_role("button", name="Retry")).to_be_visible()


def test_settings_show_only_the_parameters_the_model_supports(signed_in_page: Any):
    page = signed_in_page
    page.get_by_role("button", name="Conversation settings").click()
    expect(page.get_by_label("System prompt")).to_be_visible()
    # The catalogue loads after the page: wait until the picker knows the current model.
    known = "() => window.Chatapp.page.picker.get(window.Chatapp.page.state.model)"
    page.wait_for_function(known)
    supported = page.evaluate(known + ".params")
    shown = page.locator("[data-param]").evaluate_all("els => els.map(e => e.dataset.param)")
    assert shown
    assert set(shown) <= set(supported)
    page.get_by_label("System prompt").fill("Answer like a pirate.")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/c/*/")
    page.reload()
    page.get_by_role("button", name="Conversation settings").click()
    expect(page.get_by_label("System prompt")).to_have_value("Answer like a pirate.")


def test_without_a_key_the_composer_says_how_to_connect_one(
    page: Any, live_app: LiveApp, user: LiveUser, screenshot: Any
):
    live_app.set_user(user.username, operator_key_access="deny")
    log_in(page, user.username, user.password)
    notice = page.locator("#nokey")
    expect(notice).to_be_visible()
    expect(notice).to_contain_text("Connect OpenRouter")
    expect(notice.get_by_role("link", name="Open your account page")).to_be_visible()
    screenshot(page, "no-key")


def test_it_fits_a_phone_screen(signed_in_page: Any, screenshot: Any):
    page = signed_in_page
    page.set_viewport_size({"width": 390, "height": 800})
    send(page, "Hello from a phone [[tokens:40]] [[rate:0]]")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
    screenshot(page, "phone")
    page.get_by_role("button", name="Show conversations").click()
    expect(page.get_by_role("link", name="New chat")).to_be_in_viewport()
    screenshot(page, "phone-sidebar")


def test_it_follows_the_dark_colour_scheme(signed_in_page: Any, screenshot: Any):
    page = signed_in_page
    page.emulate_media(color_scheme="dark")
    send(page, "[[echo]] Dark mode check:\n\n```js\nconst answer = 42;\n```\n\n- one\n- two")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(247, 247, 251)"
    screenshot(page, "dark")
