"""axe-core finds no serious or critical violation on the pages people use every day."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveApp, LiveUser, log_in
from tests.browser.test_attachments import IMAGE, NOTES, REPORT, attach, ready
from tests.browser.test_chat_page import send


@pytest.fixture
def chatted(signed_in_page: Any) -> Any:
    """The chat page with a finished exchange in it (meta line, cost, actions)."""
    page = signed_in_page
    send(page, "Hello there [[tokens:12]] [[rate:0]]")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)
    return page


def test_the_chat_page_with_the_picker_closed(chatted: Any):
    assert_accessible(chatted)


def test_the_chat_page_with_the_picker_open(chatted: Any, screenshot: Any):
    chatted.get_by_role("button", name="Model").click()
    expect(chatted.locator("[role=option]").first).to_be_visible()
    screenshot(chatted, "a11y-picker-light")
    assert_accessible(chatted)


def test_the_chat_page_with_the_settings_open(chatted: Any):
    chatted.get_by_role("button", name="Conversation settings").click()
    expect(chatted.get_by_label("System prompt")).to_be_visible()
    assert_accessible(chatted)


def test_the_account_page(signed_in_page: Any, screenshot: Any):
    signed_in_page.goto("/accounts/")
    screenshot(signed_in_page, "a11y-account-light")
    assert_accessible(signed_in_page)


def test_the_usage_page(chatted: Any):
    chatted.goto("/usage/")
    assert_accessible(chatted)


@pytest.fixture
def staff_page(page: Any, live_app: LiveApp) -> Any:
    staff: LiveUser = live_app.create_user(f"staff{uuid.uuid4().hex[:8]}", is_staff=True)
    log_in(page, staff.username, staff.password)
    return page


def test_the_cost_dashboard(staff_page: Any):
    staff_page.goto("/dashboard/costs/")
    assert_accessible(staff_page)


def test_the_chat_page_in_dark_mode_with_the_picker_and_settings_open(
    chatted: Any, screenshot: Any
):
    chatted.emulate_media(color_scheme="dark")
    chatted.get_by_role("button", name="Conversation settings").click()
    chatted.get_by_role("button", name="Model").click()
    expect(chatted.locator("[role=option]").first).to_be_visible()
    screenshot(chatted, "a11y-picker-dark")
    assert_accessible(chatted)


def test_the_account_and_usage_pages_in_dark_mode(chatted: Any):
    chatted.emulate_media(color_scheme="dark")
    for path in ("/accounts/", "/usage/"):
        chatted.goto(path)
        assert_accessible(chatted)


def test_the_model_button_is_named_with_the_model_it_shows(signed_in_page: Any):
    button = signed_in_page.get_by_role("button", name="Model")
    expect(button).to_have_accessible_name("Model OpenAI: GPT-4o-mini")


def test_a_model_becomes_a_favourite_from_the_keyboard(signed_in_page: Any):
    page = signed_in_page
    page.get_by_role("button", name="Model").click()
    search = page.get_by_role("combobox", name="Search models")
    search.fill("openai/gpt-4o")
    toggle = page.get_by_role("button", name="☆ Add OpenAI: GPT-4o to favourites")
    expect(toggle).to_be_visible()
    toggle.focus()
    page.keyboard.press("Enter")
    removal = page.get_by_role("button", name="★ Remove OpenAI: GPT-4o from favourites")
    expect(removal).to_be_visible()
    expect(page.locator(".model-list .group").first).to_have_text("Favourites")
    assert page.locator("[role=option] button").count() == 0


def test_the_chat_page_with_attachments_in_the_composer_and_the_picker_open(chatted: Any):
    attach(chatted, IMAGE, REPORT, NOTES)
    ready(chatted, "sunset.png", "report.pdf", "notes.txt")
    assert_accessible(chatted)
    chatted.get_by_role("button", name="Model").click()
    expect(chatted.locator("#picker-needs")).to_be_visible()
    assert_accessible(chatted)


def test_the_composer_saying_why_a_file_was_refused(signed_in_page: Any):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"/>'
    attach(signed_in_page, {"name": "logo.svg", "mimeType": "image/svg+xml", "buffer": svg})
    expect(signed_in_page.locator("#composer-error")).to_contain_text("SVG")
    assert_accessible(signed_in_page)
    signed_in_page.emulate_media(color_scheme="dark")
    signed_in_page.wait_for_timeout(300)  # the buttons' colour transitions, before axe looks
    assert_accessible(signed_in_page)
