"""Rough edges a person notices in the first hour (issue 17), in real Chromium."""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import log_in
from tests.browser.test_chat_controls import open_picker
from tests.browser.test_chat_page import send


def finish(page: Any) -> None:
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)


# --- picker search ranking -----------------------------------------------------------------------


def test_an_exact_model_id_ranks_first_so_enter_picks_it(signed_in_page: Any):
    page = signed_in_page
    search = open_picker(page)
    search.fill("deepseek/deepseek-r1")
    expect(page.locator("#opt-0")).to_have_attribute("data-id", "deepseek/deepseek-r1")
    expect(page.locator("#opt-1")).to_have_attribute("data-id", "deepseek/deepseek-r1-0528")
    search.press("Enter")
    expect(page.locator("#model-current")).to_have_text("DeepSeek: R1")


def test_an_exact_name_ranks_before_names_that_only_contain_it(signed_in_page: Any):
    page = signed_in_page
    search = open_picker(page)
    search.fill("OpenAI: GPT-4o")
    expect(page.locator("#opt-0")).to_have_attribute("data-id", "openai/gpt-4o")
    search.fill("gpt-4")
    expect(page.locator("#opt-0")).to_have_attribute("data-id", "openai/gpt-4")


def test_a_search_does_not_match_across_the_end_of_the_name_and_the_id(signed_in_page: Any):
    page = signed_in_page
    search = open_picker(page)
    search.fill("gpt4o")
    expect(page.locator("#opt-0")).to_have_attribute("data-id", "openai/gpt-4o")
    ids = page.locator("[role=option]").evaluate_all("els => els.map(e => e.dataset.id)")
    assert "openai/gpt-4" not in ids
    assert set(ids) <= {"openai/gpt-4o", "openai/gpt-4o-mini"}


# --- reply speed ---------------------------------------------------------------------------------


def test_a_reply_that_arrives_in_one_burst_shows_no_speed(signed_in_page: Any):
    page = signed_in_page
    send(page, "All at once [[tokens:40]] [[rate:0]]")
    finish(page)
    meta = page.locator("article.msg.assistant .msg-meta").last
    expect(meta).to_contain_text("tokens")
    assert "tok/s" not in meta.inner_text()


def test_a_reply_streamed_over_a_second_shows_its_speed(signed_in_page: Any):
    page = signed_in_page
    send(page, "Steady [[tokens:30]] [[rate:25]]")
    finish(page)
    expect(page.locator("article.msg.assistant .msg-meta").last).to_contain_text("tok/s")


# --- branches ------------------------------------------------------------------------------------


def test_the_chosen_version_of_a_reply_is_kept_across_a_reload(signed_in_page: Any):
    page = signed_in_page
    send(page, "Pick a number [[tokens:6]] [[rate:0]]")
    finish(page)
    first = page.locator("article.msg.assistant .md").last.inner_text()
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".branch-pos").last).to_have_text("2/2", timeout=15_000)
    finish(page)
    page.get_by_role("button", name="Previous version").last.click()
    expect(page.locator(".branch-pos").last).to_have_text("1/2")
    page.reload()
    expect(page.locator(".branch-pos").last).to_have_text("1/2")
    expect(page.locator("article.msg.assistant .md").last).to_have_text(first)


def test_a_newer_version_wins_over_the_one_chosen_before_it(signed_in_page: Any):
    page = signed_in_page
    send(page, "Pick a colour [[tokens:6]] [[rate:0]]")
    finish(page)
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".branch-pos").last).to_have_text("2/2", timeout=15_000)
    finish(page)
    page.get_by_role("button", name="Previous version").last.click()
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".branch-pos").last).to_have_text("3/3", timeout=15_000)
    finish(page)
    page.reload()
    expect(page.locator(".branch-pos").last).to_have_text("3/3")


# --- keyboard shortcuts --------------------------------------------------------------------------


def test_keyboard_shortcuts_reach_search_composer_and_new_chat(signed_in_page: Any):
    page = signed_in_page
    send(page, "Something to copy [[tokens:6]] [[rate:0]]")
    finish(page)
    page.locator("#chat-title").click()  # nothing typed into: the page has the keys
    page.keyboard.press("Control+K")
    expect(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()
    page.locator("#chat-title").click()
    page.keyboard.press("/")
    expect(page.get_by_role("textbox", name="Message")).to_be_focused()
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")
    assert "/c/" in page.url
    page.keyboard.press("Control+Shift+O")
    page.wait_for_url(lambda url: "/c/" not in url)


def test_a_shortcut_copies_the_last_reply(signed_in_page: Any, live_app: Any):
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    send(page, "Copy me [[tokens:6]] [[rate:0]]")
    finish(page)
    reply = page.locator("article.msg.assistant .md").last.inner_text()
    page.locator("#chat-title").click()
    page.keyboard.press("Control+Shift+C")
    expect(page.get_by_role("status").filter(has_text="Copied the last reply.")).to_be_visible()
    assert page.evaluate("() => navigator.clipboard.readText()").strip() == reply.strip()


def test_the_shortcuts_dialog_lists_every_shortcut(signed_in_page: Any, screenshot: Any):
    page = signed_in_page
    page.get_by_role("button", name="Keyboard shortcuts").click()
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    for what in ("Search conversations", "New chat", "Write a message", "Copy the last reply"):
        expect(dialog).to_contain_text(what)
    screenshot(page, "shortcuts-dialog")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    page.locator("#chat-title").click()
    page.keyboard.press("?")
    expect(dialog).to_be_visible()


# --- messages ------------------------------------------------------------------------------------


def test_messages_show_their_time_with_the_full_date_on_hover(signed_in_page: Any):
    page = signed_in_page
    send(page, "What time is it [[tokens:4]] [[rate:0]]")
    finish(page)
    for role in ("user", "assistant"):
        stamp = page.locator(f"article.msg.{role} time.msg-time").last
        expect(stamp).to_have_text(re.compile(r"\d{1,2}:\d{2}"))
        assert str(datetime.now().year) in (stamp.get_attribute("title") or "")


def test_a_user_message_can_be_copied(signed_in_page: Any, live_app: Any):
    page = signed_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    send(page, "Words worth keeping [[tokens:4]] [[rate:0]]")
    finish(page)
    page.locator("article.msg.user").last.hover()
    page.get_by_role("button", name="Copy message").last.click()
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied == "Words worth keeping [[tokens:4]] [[rate:0]]"


def test_a_reply_shows_who_paid_and_which_provider_answered(signed_in_page: Any):
    page = signed_in_page
    send(page, "Who pays [[tokens:4]] [[rate:0]]")
    finish(page)
    meta = page.locator("article.msg.assistant .msg-meta").last
    expect(meta.locator(".meta-paid")).to_have_text("paid by the site")
    expect(meta.locator(".meta-provider")).to_have_text(re.compile(r"^via \S"))


def test_scroll_to_latest_shows_whenever_the_view_is_not_at_the_bottom(signed_in_page: Any):
    page = signed_in_page
    send(page, "A long answer [[tokens:600]] [[rate:0]]")
    finish(page)
    jump = page.get_by_role("button", name="Scroll to latest")
    expect(jump).to_be_hidden()
    page.locator("#transcript").evaluate("el => { el.scrollTop = 0; }")
    expect(jump).to_be_visible()
    jump.click()
    expect(jump).to_be_hidden()
    assert page.locator("#transcript").evaluate(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 60"
    )


# --- links ---------------------------------------------------------------------------------------


def test_every_top_bar_links_usage(signed_in_page: Any):
    page = signed_in_page
    for path in ("/accounts/", "/usage/"):
        page.goto(path)
        expect(
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Usage")
        ).to_be_visible()


def test_staff_reach_the_dashboard_from_the_chat_page(page: Any, live_app: Any):
    staff = live_app.create_user(f"staff{uuid.uuid4().hex[:8]}", is_staff=True)
    log_in(page, staff.username, staff.password)
    page.get_by_role("link", name="Dashboard").click()
    page.wait_for_url("**/dashboard/costs/")


# --- phone width ---------------------------------------------------------------------------------


@pytest.fixture
def phone(browser: Any, live_app: Any, user: Any) -> Any:
    context = browser.new_context(
        base_url=live_app.url,
        viewport={"width": 390, "height": 844},
        has_touch=True,
        is_mobile=True,
        device_scale_factor=2,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    log_in(page, user.username, user.password)
    yield page
    context.close()


def test_on_a_phone_the_title_shows_and_the_composer_fits(phone: Any, screenshot: Any):
    send(phone, "Tides please [[tokens:8]] [[rate:0]]")
    finish(phone)
    expect(phone.locator("#chat-title")).to_be_visible()
    expect(phone.locator("#chat-title")).not_to_have_text("New chat", timeout=15_000)
    box = phone.get_by_role("textbox", name="Message")
    line = box.evaluate("el => parseFloat(getComputedStyle(el).lineHeight)")
    assert box.evaluate("el => el.scrollHeight") < 2 * line + 16  # one line of placeholder
    expect(phone.get_by_text("Esc stops a reply", exact=False)).to_be_hidden()
    screenshot(phone, "phone-chat")


def test_on_a_phone_the_edit_box_hides_the_message_actions(phone: Any, screenshot: Any):
    send(phone, "Edit me [[tokens:4]] [[rate:0]]")
    finish(phone)
    phone.get_by_role("button", name="Edit message").last.click()
    expect(phone.get_by_role("textbox", name="Edit message")).to_be_visible()
    expect(phone.get_by_role("button", name="Edit message")).to_have_count(0)
    screenshot(phone, "phone-edit")
