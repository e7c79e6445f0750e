"""Rough edges a person notices in the first hour (issue 17), in real Chromium."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

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
