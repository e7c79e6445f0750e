"""The chat page in real Chromium against the live app and the stand-in OpenRouter."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, sign_up


def pick_model(page: Any, query: str, model_id: str) -> None:
    page.get_by_role("button", name="Model").click()
    page.get_by_role("combobox", name="Search models").fill(query)
    page.locator(f'[role=option][data-id="{model_id}"]').click()


def test_it_finds_a_model_by_part_of_its_name(
    page: Any, live_app: LiveApp, page_errors: list[str], screenshot: Any
):
    sign_up(page, "finder")
    page.get_by_role("button", name="Model").click()
    search = page.get_by_role("combobox", name="Search models")
    search.fill("4o mini")
    option = page.locator('[role=option][data-id="openai/gpt-4o-mini"]')
    expect(option).to_be_visible()
    screenshot(page, "picker-search")
    search.press("Enter") if option.get_attribute("id") == "opt-0" else option.click()
    expect(page.locator("#model-current")).to_have_text("OpenAI: GPT-4o-mini")
    assert page_errors == []
