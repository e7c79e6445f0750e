"""Provider routing settings, web search with sources, the estimate and the trimming notice."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import LiveApp, LiveUser
from tests.browser.test_chat_page import send


def open_settings(page: Any) -> None:
    page.get_by_role("button", name="Conversation settings").click()
    expect(page.get_by_label("System prompt")).to_be_visible()


def test_the_settings_panel_saves_provider_routing(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, screenshot: Any
):
    page = signed_in_page
    open_settings(page)
    sort = page.get_by_role("combobox", name="Sort providers by")
    options = sort.locator("option").all_inner_texts()
    assert options == ["Default", "Price", "Throughput", "Latency"]
    expect(page.get_by_role("checkbox", name="Allow fallbacks")).to_be_checked()
    only = page.get_by_role("checkbox", name="Only providers that don't store my data")
    expect(only).not_to_be_checked()
    expect(page.get_by_role("checkbox", name="Prefer Azure")).to_be_visible()  # from /endpoints

    sort.select_option("throughput")
    only.check()
    page.get_by_role("checkbox", name="Allow fallbacks").uncheck()
    page.get_by_role("button", name="Move Azure up").click()
    page.get_by_role("checkbox", name="Prefer Azure").check()
    screenshot(page, "settings-provider-routing")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/c/*/")

    saved = live_app.query(
        "import json\nfrom chatapp.chat.models import Conversation\n"
        f"c = Conversation.objects.get(owner_id={user.id})\n"
        "print(json.dumps([c.provider_sort, c.provider_order, c.allow_fallbacks,"
        " c.deny_data_collection]))"
    )
    assert saved == ["throughput", ["Azure"], False, True]
    page.reload()
    open_settings(page)
    expect(page.get_by_role("combobox", name="Sort providers by")).to_have_value("throughput")
    expect(page.get_by_role("checkbox", name="Prefer Azure")).to_be_checked()


def test_web_search_replies_show_numbered_safe_sources_and_the_provider(
    signed_in_page: Any, page_errors: list[str], screenshot: Any
):
    page = signed_in_page
    toggle = page.get_by_role("switch", name="Web search")
    page.locator(".web-toggle").click()  # the chip around the switch
    expect(toggle).to_be_checked()
    page.wait_for_url("**/c/*/")
    box = page.get_by_role("textbox", name="Message")
    box.fill("What happened in Lisbon today? [[tokens:30]] [[rate:60]] [[hostile-citation]]")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("Estimate")
    expect(estimate).to_contain_text(re.compile(r"≈ \$[0-9.]+ \+ up to \$[0-9.]+"))
    screenshot(page, "composer-estimate")
    box.press("Enter")

    reply = page.locator("article.msg.assistant").last
    sources = reply.get_by_role("region", name="Sources")
    expect(sources).to_be_visible(timeout=15000)
    links = sources.get_by_role("link")
    expect(links).to_have_count(5)  # five results and a hostile one, less the javascript: one
    for index in range(links.count()):
        link = links.nth(index)
        assert link.get_attribute("href").startswith("https://example.org/")
        assert link.get_attribute("target") == "_blank"
        assert link.get_attribute("rel") == "noopener noreferrer nofollow"
    assert sources.locator("img, script").count() == 0
    expect(sources).to_contain_text("<script>alert(2)</script>Quoted")  # shown as text
    expect(reply.locator(".meta-provider")).to_have_text("via OpenAI")
    expect(estimate).to_contain_text("Last reply")
    screenshot(page, "reply-with-sources")

    page.reload()
    reply = page.locator("article.msg.assistant").last
    expect(reply.get_by_role("region", name="Sources").get_by_role("link")).to_have_count(5)
    assert page_errors == []


def test_an_estimate_over_the_remaining_budget_is_said_before_sending(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser
):
    live_app.set_user(user.username, operator_monthly_budget="0.0001")
    page = signed_in_page
    page.reload()
    page.get_by_role("textbox", name="Message").fill("A question that costs a little")
    warning = page.locator("#estimate-warning")
    expect(warning).to_contain_text("more than the $0.0001 left of your monthly budget")


def test_a_long_conversation_says_once_that_older_messages_were_left_out(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, screenshot: Any
):
    conversation = live_app.query(
        "import json\nfrom chatapp.chat.models import Conversation, Message\n"
        f"c = Conversation.objects.create(owner_id={user.id}, model='cohere/command-r',"
        " title='A long talk')\n"
        "parent = None\n"
        "for n in range(40):\n"
        f"    parent = Message.objects.create(conversation=c, user_id={user.id}, parent=parent,"
        " role='user' if n % 2 == 0 else 'assistant', content=f'turn {n} ' + 'x' * 3000)\n"
        "print(json.dumps(c.pk))"
    )
    page = signed_in_page
    page.goto(f"/c/{conversation}/")
    replies = page.locator("article.msg.assistant")
    expect(replies).to_have_count(20)
    for count, text in ((21, "And now? [[tokens:5]]"), (22, "One more [[tokens:5]]")):
        send(page, text)
        expect(replies).to_have_count(count)
        expect(replies.last.locator(".meta-cost")).to_be_visible(timeout=15000)
    notices = page.locator(".context-notice:visible")
    expect(notices).to_have_count(1)
    expect(notices).to_contain_text("were left out of this reply")
    screenshot(page, "context-notice")


def test_the_estimate_prices_the_files_in_the_composer_even_without_text(signed_in_page: Any):
    from tests.browser.test_attachments import attach, file_payload, png, ready

    page = signed_in_page
    estimate = page.locator("#estimate")
    page.get_by_role("textbox", name="Message").fill("What is in it?")
    expect(estimate).to_contain_text("Estimate")
    text_only = estimate.inner_text()

    attach(page, file_payload("photo.png", "image/png", png()))
    ready(page, "photo.png")
    expect(estimate).not_to_have_text(text_only)  # an image adds about 1,500 input tokens
    page.get_by_role("textbox", name="Message").fill("")
    expect(estimate).to_contain_text("Estimate")  # the file alone is a message worth pricing
