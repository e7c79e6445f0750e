"""Export and share from the chat page, and the shared page, in real Chromium."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveApp, LiveUser
from tests.browser.test_chat_page import send


def seed(live_app: LiveApp, user: LiveUser) -> int:
    code = (
        "import json\nfrom tests.browser.sample_conversation import create\n"
        f"print(json.dumps(create({user.username!r})))"
    )
    return int(live_app.query(code))


def test_it_exports_the_conversation_on_screen_as_markdown_and_json(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    pk = seed(live_app, user)
    page.goto(f"/c/{pk}/")
    page.locator("#conv-tools .export-menu summary").click()
    screenshot(page, "export-menu-header")
    assert_accessible(page)
    with page.expect_download() as info:
        page.locator("#conv-tools").get_by_role("link", name="Export Markdown").click()
    download = info.value
    assert download.suggested_filename == f"binary-search-in-python-{pk}.md"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("# Binary search in Python")
    assert "def search(items, target):" in text
    assert "bisect_left" in text
    item = page.locator(f'li.conv-item[data-id="{pk}"]')
    item.hover()
    item.locator(".export-menu summary").click()
    screenshot(page, "export-menu-sidebar")
    with page.expect_download() as info:
        item.get_by_role("link", name="Export JSON").click()
    assert '"format": "chatapp-export"' in Path(info.value.path()).read_text(encoding="utf-8")
    assert page_errors == []


def test_it_shares_a_read_only_copy_and_stops_sharing(
    signed_in_page: Any,
    browser: Any,
    live_app: LiveApp,
    user: LiveUser,
    page_errors: list[str],
    screenshot: Any,
):
    page = signed_in_page
    pk = seed(live_app, user)
    page.goto(f"/c/{pk}/")
    page.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog", name="Share this chat")
    expect(dialog).to_be_visible()
    link = dialog.get_by_role("textbox", name="Share link")
    expect(link).to_have_value(re.compile("/s/"))
    with page.expect_response(lambda r: r.url.endswith("/share") and r.request.method == "POST"):
        dialog.get_by_label("Show my name").check()
    expect(dialog.get_by_role("status")).to_contain_text("4 messages")
    url = link.input_value()
    assert url.startswith(f"{live_app.url}/s/")
    screenshot(page, "share-dialog-light")
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    screenshot(page, "share-dialog-dark")
    assert_accessible(page)
    page.emulate_media(color_scheme="light")

    visitor = browser.new_context(viewport={"width": 1100, "height": 900})
    shared = visitor.new_page()
    errors: list[str] = []
    shared.on("pageerror", lambda error: errors.append(str(error)))
    shared.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    shared.goto(url)
    expect(shared.get_by_role("heading", name="Binary search in Python")).to_be_visible()
    expect(shared.locator(".code-block")).to_contain_text("def search(items, target):")
    expect(shared.get_by_text("Shared by Alice Martin")).to_be_visible()
    expect(shared.locator(".md").last).to_contain_text("<script>alert('x')</script> stays text.")
    body = shared.locator("body").inner_text()
    assert "$" not in body
    assert "tokens" not in body
    assert user.username not in body
    assert shared.get_by_role("textbox", name="Message").count() == 0
    screenshot(shared, "shared-page-light", full_page=True)
    assert_accessible(shared)
    shared.emulate_media(color_scheme="dark")
    screenshot(shared, "shared-page-dark", full_page=True)
    assert_accessible(shared)
    assert errors == []

    dialog.get_by_role("button", name="Stop sharing").click()
    expect(link).to_be_hidden()
    expect(dialog.get_by_text("Sharing stopped")).to_be_visible()
    expect(dialog.get_by_role("button", name="Create a new link")).to_be_visible()
    screenshot(page, "share-dialog-stopped")
    assert shared.goto(url).status == 404
    visitor.close()
    assert page_errors == []


def test_a_new_chat_gets_its_share_button_once_it_exists(signed_in_page: Any):
    page = signed_in_page
    expect(page.get_by_role("button", name="Share")).to_be_hidden()
    send(page, "Hello there [[tokens:8]]")
    expect(page.get_by_role("button", name="Share")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=15_000)
    page.get_by_role("button", name="Share").click()
    expect(page.get_by_role("textbox", name="Share link")).to_have_value(re.compile("/s/"))


def test_it_imports_a_chatgpt_export_from_the_account_page(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    page.goto("/accounts/")
    fixture = Path(__file__).parents[1] / "sharing" / "fixtures" / "chatgpt_conversations.json"
    page.get_by_label("Import conversations").set_input_files(str(fixture))
    page.get_by_role("button", name="Import", exact=True).click()
    summary = page.locator("#import-summary")
    expect(summary).to_have_text(
        "2 conversations and 7 messages imported; they are in your chat list.", timeout=15_000
    )
    expect(page.locator("#import-skipped li")).to_have_count(2)
    page.locator("#import-section").scroll_into_view_if_needed()
    screenshot(page, "import-summary")
    assert_accessible(page)
    page.goto("/")
    expect(page.locator(".conv-item", has_text="Pirate greetings")).to_be_visible()
    page.locator(".conv-item", has_text="Fibonacci in Python").click()
    expect(page.locator("article.msg.assistant .md").last).to_contain_text("fib(10) is 55")
    assert page_errors == []
