"""The chat page through a real outage: its own daphne, stopped and started again under the tab.

Each test runs a server of its own (``outage_app``) on the live database, against the stand-in
in this process (``fake_openrouter``, whose request log says what reached "OpenRouter"), and
stops it for real — SIGTERM as a deploy does, SIGKILL as a crash does — while Chromium keeps the
page open, then starts it again on the same port.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import (
    ROOT,
    LiveApp,
    LiveUser,
    free_port,
    stop,
    wait_for_http,
)
from tests.browser.test_chat_page import send

RECONNECTED = 20_000  # ms: the page's backoff tops out at 5 s; daphne takes a few to start
# What the browser logs by itself while the server is away (not errors of the page).
OUTAGE_NOISE = ("WebSocket connection to", "ERR_CONNECTION_REFUSED", "Failed to load resource")


@dataclass
class OutageApp(LiveApp):
    """A daphne of the test's own that it can stop and start again on the same port."""

    port: int = 0
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            + ["chatapp.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        out.close()
        wait_for_http(f"{self.url}/healthz", self.process, self.log)

    def stop(self, how: signal.Signals = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(how)
        # The drain's bound, then the exit's: a process told to stop is gone by twice
        # CHATAPP_SHUTDOWN_SECONDS (chat/lifecycle.py).
        bound = 2 * int(self.env.get("CHATAPP_SHUTDOWN_SECONDS", "10")) + 5
        try:
            self.process.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            raise AssertionError(self.log.read_text()[-3000:]) from None
        self.process = None


@pytest.fixture
def outage_app(live_app: LiveApp, fake_openrouter: Any, tmp_path: Any) -> Iterator[OutageApp]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **live_app.env,
        "CHATAPP_SITE_URL": url,
        "OPENROUTER_BASE_URL": fake_openrouter.base_url,
        "OPENROUTER_AUTH_URL": fake_openrouter.auth_url,
    }
    app = OutageApp(url=url, env=env, log=tmp_path / "daphne.log", port=port)
    app.start()
    yield app
    if app.process is not None:
        stop(app.process)


def open_chat(page: Any, app: OutageApp, user: LiveUser) -> None:
    page.goto(f"{app.url}/accounts/login/")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{app.url}/")
    page.wait_for_function("window.Chatapp && window.Chatapp.page")  # chat.js has run
    # The picker's model list answered: daphne can hang on SIGTERM with a request in flight.
    page.wait_for_load_state("networkidle")


def chat_calls(fake_openrouter: Any, content: str) -> list[dict[str, Any]]:
    """The streamed completions the stand-in received whose last message is `content`."""
    return [
        r
        for r in fake_openrouter.requests()
        if r["path"].endswith("/chat/completions")
        and (r["json"] or {}).get("stream")
        and r["json"]["messages"][-1]["content"] == content
    ]


def page_faults(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(noise in e for noise in OUTAGE_NOISE)]


def replies_done(page: Any, count: int) -> None:
    """Wait until `count` replies are shown, none of them streaming, and nothing waits to go."""
    finished = page.locator("article.msg.assistant:not(.streaming)")
    expect(finished).to_have_count(count, timeout=15_000)
    expect(page.locator("article.msg.assistant.streaming, article.msg.pending")).to_have_count(0)
    expect(page.get_by_role("button", name="Send")).to_be_visible()


def test_a_message_sent_during_an_outage_waits_in_view_and_is_sent_once_on_reconnect(
    page: Any,
    outage_app: OutageApp,
    fake_openrouter: Any,
    user: LiveUser,
    page_errors: list[str],
    screenshot: Any,
):
    open_chat(page, outage_app, user)
    send(page, "Hello before the outage")
    replies_done(page, 1)

    outage_app.stop()
    banner = page.locator("#connection")
    expect(banner).to_contain_text("Not connected to the server.")
    expect(banner.get_by_role("button", name="Reconnect now")).to_be_visible()
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_attribute("placeholder", "Message — sent once reconnected")

    queued_text = "Written while the server was away"
    send(page, queued_text)
    queued = page.locator("article.msg.user.queued")
    expect(queued).to_contain_text(queued_text)
    expect(queued).to_contain_text("Not sent yet: it goes out once reconnected.")
    expect(box).to_have_value("")
    expect(banner).to_contain_text("1 message waits below")
    screenshot(page, "outage-composer-light")
    assert_accessible(page)
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)  # let the colour transitions finish before the picture
    screenshot(page, "outage-composer-dark")
    assert_accessible(page)
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(300)  # and the sidebar slide away
    screenshot(page, "outage-composer-phone")
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1280, "height": 860})

    outage_app.start()
    expect(banner).to_be_hidden(timeout=RECONNECTED)
    expect(page.locator("article.msg.user.pending")).to_have_count(0)
    expect(page.locator("article.msg.user").last).to_have_text(re.compile(queued_text))
    replies_done(page, 2)
    assert len(chat_calls(fake_openrouter, queued_text)) == 1
    stored = outage_app.query(
        "import json\nfrom chatapp.chat.models import Message\n"
        f"print(json.dumps(Message.objects.filter(content={queued_text!r}).count()))"
    )
    assert stored == 1
    assert page_faults(page_errors) == []


def test_enter_while_a_reply_streams_queues_the_message_until_the_reply_ends(
    page: Any, outage_app: OutageApp, fake_openrouter: Any, user: LiveUser, page_errors: list[str]
):
    open_chat(page, outage_app, user)
    send(page, "A slow one [[tokens:40]] [[rate:20]]")
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    follow_up = "And a follow-up typed meanwhile"
    send(page, follow_up)
    queued = page.locator("article.msg.user.queued")
    expect(queued).to_contain_text("Waits for the reply above to finish, then goes out.")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("")
    replies_done(page, 2)
    assert len(chat_calls(fake_openrouter, follow_up)) == 1
    assert page_errors == []


def test_a_queued_message_can_be_taken_back_before_it_is_sent(
    page: Any, outage_app: OutageApp, user: LiveUser, fake_openrouter: Any
):
    open_chat(page, outage_app, user)
    outage_app.stop()
    expect(page.locator("#connection")).to_be_visible()
    send(page, "On second thought")
    page.get_by_role("button", name="Don't send").click()
    expect(page.locator("article.msg.user")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_have_value("On second thought")
    outage_app.start()
    expect(page.locator("#connection")).to_be_hidden(timeout=RECONNECTED)
    assert chat_calls(fake_openrouter, "On second thought") == []


SWEEP = """
import asyncio, json
from datetime import timedelta
from chatapp.chat.sweeper import asweep_interrupted
print(json.dumps(asyncio.run(asweep_interrupted(stale_after=timedelta(0)))))
"""


def stored_reply(app: OutageApp, user: LiveUser) -> dict[str, Any]:
    return app.query(  # type: ignore[no-any-return]
        "import json\nfrom chatapp.chat.models import Message\n"
        f"m = Message.objects.filter(user_id={user.id}, role='assistant').latest('id')\n"
        "print(json.dumps({'id': m.pk, 'status': m.status, 'content': m.content,"
        " 'error_text': m.error_text}))"
    )


def test_a_reply_interrupted_while_the_tab_was_away_shows_why_and_no_stop_after_reconnect(
    page: Any,
    outage_app: OutageApp,
    user: LiveUser,
    page_errors: list[str],
    screenshot: Any,
):
    open_chat(page, outage_app, user)
    send(page, "Tell me a long story [[tokens:400]] [[rate:10]]")
    reply = page.locator("article.msg.assistant").last
    expect(page.get_by_role("button", name="Stop")).to_be_visible()
    expect(reply.locator(".md")).not_to_be_empty()
    for _ in range(50):  # until the worker's checkpoint holds some of the text
        if stored_reply(outage_app, user)["content"]:
            break
        page.wait_for_timeout(200)

    outage_app.stop(signal.SIGKILL)
    expect(page.locator("#connection")).to_contain_text("Not connected to the server.")
    # What the next server process does first: the reply whose worker died is interrupted.
    swept = outage_app.query(SWEEP)
    stored = stored_reply(outage_app, user)
    assert swept == [stored["id"]]
    assert stored["status"] == "interrupted"
    outage_app.start()

    explanation = reply.locator(".msg-error")
    why = re.compile(re.escape(stored["error_text"]))
    expect(explanation).to_have_text(why, timeout=RECONNECTED)
    expect(explanation.get_by_role("button", name="Regenerate")).to_be_visible()
    expect(page.get_by_role("button", name="Stop")).to_be_hidden()
    expect(reply.locator(".typing")).to_be_hidden()
    expect(reply.locator(".badge", has_text="Interrupted")).to_be_visible()
    shown = " ".join(reply.locator(".md").inner_text().split())
    assert shown == " ".join(stored["content"].split())
    screenshot(page, "outage-reply-interrupted")
    assert_accessible(page)

    explanation.get_by_role("button", name="Regenerate").click()
    expect(page.get_by_role("group", name="Versions")).to_contain_text("2/2")
    page.get_by_role("button", name="Stop").click()  # the same long story again: enough
    replies_done(page, 1)  # one version of the reply is shown at a time
    assert page_faults(page_errors) == []


def test_signed_out_elsewhere_the_page_says_so_links_to_sign_in_and_keeps_the_text(
    page: Any, outage_app: OutageApp, user: LiveUser
):
    open_chat(page, outage_app, user)
    send(page, "Hello")
    replies_done(page, 1)
    conversation_path = page.evaluate("location.pathname")
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws))

    other = page.context.new_page()  # another tab of the same browser logs out
    other.goto(f"{outage_app.url}/accounts/")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url("**/accounts/login/**")
    # (The other tab stays open: closing it right after the log-out hung Chromium at times.)

    # The server closes this tab's socket (4401) at once: it does not go on streaming.
    banner = page.locator("#connection")
    expect(banner).to_contain_text("You were signed out.", timeout=RECONNECTED)
    box = page.get_by_role("textbox", name="Message")
    expect(box).to_have_attribute("placeholder", "Signed out — sign in again to send")
    tried = len(sockets)
    page.evaluate("window.dispatchEvent(new Event('online'))")  # would reconnect at once
    page.wait_for_timeout(1500)  # past the page's first retry delay
    assert len(sockets) == tried
    box.fill("Typed after the logout")
    box.press("Enter")
    refused = page.locator("#composer-error")
    expect(refused).to_contain_text("You were signed out, so this was not sent.")
    expect(box).to_have_value("Typed after the logout")
    expect(page.locator("article.msg.user.pending")).to_have_count(0)

    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{outage_app.url}{conversation_path}")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Typed after the logout")
    expect(banner).to_be_hidden()


def test_a_socket_closed_as_signed_out_is_not_reopened(
    page: Any, outage_app: OutageApp, user: LiveUser, screenshot: Any
):
    # The server closes a signed-out user's sockets with 4401; here the test closes the page's
    # end of the real socket with that code, as the server does.
    routes: list[Any] = []

    def forward(ws: Any) -> None:
        ws.connect_to_server()
        routes.append(ws)

    page.route_web_socket(re.compile(r"/ws/chat/$"), forward)
    open_chat(page, outage_app, user)
    expect(page.locator("#connection")).to_be_hidden()
    assert len(routes) == 1
    routes[0].close(code=4401, reason="signed out")
    banner = page.locator("#connection")
    expect(banner).to_contain_text("You were signed out.")
    link = banner.get_by_role("link", name="Sign in again")
    expect(link).to_have_attribute("href", "/accounts/login/?next=%2F")
    screenshot(page, "outage-signed-out")
    assert_accessible(page)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    page.wait_for_timeout(1500)
    assert len(routes) == 1
