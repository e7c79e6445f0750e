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


def reply_text(page: Any) -> str:
    return page.locator("article.msg.assistant .md").last.inner_text()


def send(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_it_streams_a_reply_that_grows_and_shows_the_stored_cost(
    signed_in_page: Any, live_app: LiveApp, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    send(page, "Tell me something [[tokens:60]] [[rate:30]]")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    lengths = []
    for _ in range(40):
        lengths.append(len(reply_text(page)))
        if len(set(lengths)) >= 4:
            break
        page.wait_for_timeout(100)
    assert len({n for n in lengths if n > 0}) >= 3, lengths
    screenshot(page, "streaming")
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=15_000)
    cost_shown = page.locator(".meta-cost").last.inner_text()
    stored = live_app.query(
        "import json\nfrom chatapp.chat.models import Message\n"
        "m = Message.objects.filter(role='assistant').latest('created_at')\n"
        "print(json.dumps(format(m.cost.normalize(), 'f')))"
    )
    assert cost_shown == f"${stored}"
    screenshot(page, "reply-complete")
    assert page_errors == []


def test_it_stops_a_reply_and_keeps_what_was_written(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    send(page, "A long one [[tokens:400]] [[rate:20]]")
    expect(page.locator("article.msg.assistant .md").last).not_to_be_empty()
    page.get_by_role("button", name="Stop").click()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.locator("article.msg.assistant .badge", has_text="Stopped")).to_be_visible()
    kept = reply_text(page)
    assert kept
    page.wait_for_timeout(500)
    assert reply_text(page) == kept
    screenshot(page, "stopped")
    assert page_errors == []


def test_escape_stops_a_reply(signed_in_page: Any):
    page = signed_in_page
    send(page, "Another long one [[tokens:400]] [[rate:20]]")
    expect(page.locator("article.msg.assistant .md").last).not_to_be_empty()
    page.keyboard.press("Escape")
    expect(page.locator("article.msg.assistant .badge", has_text="Stopped")).to_be_visible()


def test_it_regenerates_a_reply_as_a_second_version(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    send(page, "Say something short [[tokens:12]] [[rate:0]]")
    page.get_by_role("button", name="Regenerate").click()
    expect(page.locator(".branch-pos")).to_have_text("2/2")
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible()
    page.get_by_role("button", name="Previous version").click()
    expect(page.locator(".branch-pos")).to_have_text("1/2")
    screenshot(page, "branches")
    assert page_errors == []


def test_a_reload_mid_stream_shows_the_text_so_far_and_continues(
    signed_in_page: Any, page_errors: list[str]
):
    page = signed_in_page
    send(page, "Keep going [[tokens:200]] [[rate:25]]")
    page.wait_for_url("**/c/*/")
    expect(page.locator("article.msg.assistant .md").last).not_to_be_empty()
    page.wait_for_timeout(800)
    page.reload()
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    first = len(reply_text(page))
    assert first > 0
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=20_000)
    final = reply_text(page)
    assert len(final) > first
    words = final.split()
    assert len(words) >= 150  # the whole reply, not only what came after the reload
    assert page_errors == []


def test_model_output_with_html_and_javascript_links_stays_inert(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    page.on("dialog", lambda dialog: page_errors.append(f"dialog: {dialog.message}"))
    send(
        page,
        "[[echo]] Hello <img src=x onerror=alert(1)> and [click me](javascript:alert(2)) "
        'and <a href="javascript:alert(3)">raw</a> and ![pic](https://example.com/p.png)\n\n'
        "```python\nprint('hi')\n```",
    )
    expect(page.get_by_role("button", name="Send")).to_be_visible(timeout=15_000)
    reply = page.locator("article.msg.assistant .md").last
    expect(reply).to_contain_text("click me")
    assert reply.locator("img").count() == 0
    assert reply.locator("[onerror]").count() == 0
    hrefs = reply.locator("a").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    assert all(h is None or h.startswith(("http:", "https:", "mailto:")) for h in hrefs), hrefs
    reply.get_by_text("click me").click()
    expect(reply.locator("code.hljs")).to_be_visible()
    expect(reply.get_by_role("button", name="Copy")).to_be_visible()
    page.wait_for_timeout(300)
    screenshot(page, "untrusted-output")
    assert page_errors == []
