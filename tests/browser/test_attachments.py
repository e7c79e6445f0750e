"""Attachments in the browser: the "Attach files" button, paste and drop; chips with progress and
"Remove <name>"; what reaches the model; the transcript after a reload; and the refusals."""

from __future__ import annotations

import io
import json
import math
import random
import re
import struct
import urllib.request
import uuid
import wave
import zlib
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser import test_outage
from tests.browser.conftest import LiveApp, LiveOpenRouter, LiveUser, log_in
from tests.browser.test_chat_page import pick_model
from tests.eventually import eventually_blocking

# --- files made here, small and exact ------------------------------------------------------------


def png(width: int = 64, height: int = 64, *, noise: bool = False) -> bytes:
    """A real PNG: a diagonal violet-to-teal gradient (pleasant in a screenshot), or noise,
    which does not compress (a file that takes a while to upload)."""
    rows = bytearray()
    grain = random.Random(width * height)
    for y in range(height):
        rows.append(0)  # filter: none
        if noise:
            rows += grain.randbytes(width * 3)
            continue
        for x in range(width):
            t = (x + y) / max(1, width + height - 2)
            rows += bytes(
                (int(91 + (34 - 91) * t), int(76 + (184 - 76) * t), int(240 + (207 - 240) * t))
            )

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(rows)))
        + chunk(b"IEND", b"")
    )


def pdf(pages: int = 1, text: str = "Quarterly figures") -> bytes:
    """A minimal, valid PDF: a page tree of `pages` pages, each saying `text`, with its xref."""
    objects: list[bytes] = []
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(pages))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode())
    font = 3 + 2 * pages
    for i in range(pages):
        stream = f"BT /F1 24 Tf 72 720 Td ({text}, page {i + 1}) Tj ET".encode()
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R"
            f" /Resources << /Font << /F1 {font} 0 R >> >> >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % at for at in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def wav(seconds: float = 2.0, rate: int = 8000) -> bytes:
    """A real WAV: `seconds` of a quiet 440 Hz tone, 8-bit mono."""
    out = io.BytesIO()
    with wave.open(out, "wb") as sound:
        sound.setnchannels(1)
        sound.setsampwidth(1)
        sound.setframerate(rate)
        frames = int(seconds * rate)
        sound.writeframes(
            bytes(128 + int(40 * math.sin(i * 440 * 6.283 / rate)) for i in range(frames))
        )
    return out.getvalue()


def file_payload(name: str, mime: str, body: bytes) -> dict[str, Any]:
    return {"name": name, "mimeType": mime, "buffer": body}


def in_page_file(name: str, mime: str, body: bytes) -> dict[str, Any]:
    """The same file, for the page to build (a paste or a drop carries a File of its own)."""
    return {"name": name, "type": mime, "bytes": list(body)}


# What a paste and a drop of such a file look like to the page.
PASTE = """(box, f) => {
  const dt = new DataTransfer();
  dt.items.add(new File([new Uint8Array(f.bytes)], f.name, {type: f.type}));
  const init = {clipboardData: dt, bubbles: true, cancelable: true};
  box.dispatchEvent(new ClipboardEvent("paste", init));
}"""
DRAG = """(el, [kind, f]) => {
  if (f) {
    window.dragged = new DataTransfer();
    window.dragged.items.add(new File([new Uint8Array(f.bytes)], f.name, {type: f.type}));
  }
  const init = {dataTransfer: window.dragged, bubbles: true, cancelable: true};
  el.dispatchEvent(new DragEvent(kind, init));
}"""


# --- helpers -------------------------------------------------------------------------------------

IMAGE = file_payload("sunset.png", "image/png", png(64, 64))
REPORT = file_payload("report.pdf", "application/pdf", pdf(3))
NOTES = file_payload("notes.txt", "text/plain", b"Buy milk.\nCall Ana about the lease.\n")


def attach(page: Any, *files: dict[str, Any]) -> None:
    page.get_by_label("Attach files").set_input_files(list(files))


def chip(page: Any, name: str) -> Any:
    return page.locator("#attachments .att-chip").filter(
        has=page.get_by_role("button", name=f"Remove {name}", exact=True)
    )


def ready(page: Any, *names: str) -> None:
    for name in names:
        expect(chip(page, name)).to_have_attribute("data-state", "ready")


def stored_names(live_app: LiveApp, user: LiveUser) -> list[str]:
    return live_app.query(  # type: ignore[no-any-return]
        "import json\nfrom chatapp.attachments.models import Attachment\n"
        f"rows = Attachment.objects.filter(owner_id={user.id}).order_by('id')\n"
        "print(json.dumps([a.name for a in rows]))"
    )


def upstream_requests(live_openrouter: LiveOpenRouter) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{live_openrouter.port}/__fake__/requests"
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.load(response)  # type: ignore[no-any-return]


def last_chat_body(requests: list[dict[str, Any]], marker: str) -> dict[str, Any]:
    """The body of the last POST /chat/completions whose last message is in parts (text,
    images, files) and mentions marker (the title request that follows sends plain text)."""
    for request in reversed(requests):
        body = request.get("json") or {}
        if request["method"] != "POST" or not request["path"].endswith("/chat/completions"):
            continue
        last = (body.get("messages") or [{}])[-1]
        if isinstance(last.get("content"), list) and marker in json.dumps(last):
            return body  # type: ignore[no-any-return]
    raise AssertionError(f"no upstream request sent parts mentioning {marker!r}")


def send_with(page: Any, text: str) -> None:
    box = page.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def reply_done(page: Any) -> None:
    expect(page.get_by_role("button", name="Regenerate")).to_be_visible(timeout=15_000)


# --- attaching -----------------------------------------------------------------------------------


def test_the_attach_button_uploads_an_image_and_shows_its_thumbnail(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, page_errors: list[str]
):
    page = signed_in_page
    attach(page, IMAGE)
    ready(page, "sunset.png")
    thumb = chip(page, "sunset.png").locator(".att-thumb img")
    expect(thumb).to_have_attribute("src", re.compile(r"^/attachments/"))
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0")
    assert stored_names(live_app, user) == ["sunset.png"]
    assert page_errors == []


def test_a_pasted_file_is_attached_and_shows_its_name_and_size(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser
):
    page = signed_in_page
    box = page.get_by_role("textbox", name="Message")
    box.evaluate(PASTE, in_page_file("pasted.txt", "text/plain", b"Hello from the clipboard\n"))
    ready(page, "pasted.txt")
    expect(chip(page, "pasted.txt")).to_contain_text("pasted.txt")
    expect(chip(page, "pasted.txt").locator(".att-meta")).to_have_text("25 B")
    assert box.input_value() == ""  # the file, not its name, was pasted
    assert stored_names(live_app, user) == ["pasted.txt"]


def test_a_file_dropped_on_the_conversation_is_attached_with_its_page_count(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser, screenshot: Any
):
    page = signed_in_page
    zone = page.locator("#transcript")
    zone.evaluate(DRAG, ["dragenter", in_page_file("minutes.pdf", "application/pdf", pdf(2))])
    zone.evaluate(DRAG, ["dragover", None])
    expect(page.get_by_text("Drop files to attach them")).to_be_visible()
    screenshot(page, "attachments-drop-overlay")
    zone.evaluate(DRAG, ["drop", None])
    expect(page.get_by_text("Drop files to attach them")).to_be_hidden()
    ready(page, "minutes.pdf")
    expect(chip(page, "minutes.pdf").locator(".att-meta")).to_contain_text("2 pages")
    assert stored_names(live_app, user) == ["minutes.pdf"]


def test_an_audio_file_shows_its_length(signed_in_page: Any):
    page = signed_in_page
    attach(page, file_payload("voice note.wav", "audio/wav", wav(2.0)))
    ready(page, "voice note.wav")
    expect(chip(page, "voice note.wav").locator(".att-meta")).to_contain_text("0:02")


def test_removing_a_chip_before_sending_deletes_the_file(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser
):
    page = signed_in_page
    attach(page, IMAGE, NOTES)
    ready(page, "sunset.png", "notes.txt")
    page.get_by_role("button", name="Remove sunset.png").click()
    expect(chip(page, "sunset.png")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove notes.txt")).to_be_focused()
    eventually_blocking(
        lambda: stored_names(live_app, user) == ["notes.txt"],
        interval=0.2,
        failure="the removed file is still stored",
    )


# --- sending -------------------------------------------------------------------------------------


def test_the_upstream_request_carries_an_image_a_file_and_the_text(
    signed_in_page: Any, live_openrouter: LiveOpenRouter, page_errors: list[str]
):
    page = signed_in_page
    pick_model(page, "gemini 2.5 flash", "google/gemini-2.5-flash")
    attach(page, IMAGE, REPORT, NOTES)
    ready(page, "sunset.png", "report.pdf", "notes.txt")
    send_with(page, "Describe these files")
    reply_done(page)
    expect(page.locator("#attachments")).to_be_hidden()

    body = last_chat_body(upstream_requests(live_openrouter), "Describe these files")
    parts = body["messages"][-1]["content"]
    kinds = [p["type"] for p in parts]
    assert "image_url" in kinds
    assert "file" in kinds
    image = next(p for p in parts if p["type"] == "image_url")
    assert image["image_url"]["url"].startswith("data:image/")
    pdf_part = next(p for p in parts if p["type"] == "file")
    assert pdf_part["file"]["filename"] == "report.pdf"
    assert pdf_part["file"]["file_data"].startswith("data:application/pdf;base64,")
    texts = " ".join(p["text"] for p in parts if p["type"] == "text")
    assert "Describe these files" in texts
    assert "Call Ana about the lease." in texts  # the text file, inlined as text
    reply = page.locator("article.msg.assistant .md").last
    expect(reply).to_contain_text("I received an image (")
    expect(reply).to_contain_text("64×64")
    expect(reply).to_contain_text("a PDF (report.pdf, 3 pages")
    expect(reply).to_contain_text("a text file (notes.txt)")
    assert page_errors == []


def test_a_sent_image_keeps_its_thumbnail_after_a_reload_and_opens_full_size(
    signed_in_page: Any, page_errors: list[str]
):
    page = signed_in_page
    attach(page, IMAGE, REPORT)
    ready(page, "sunset.png", "report.pdf")
    send_with(page, "What is in the picture? [[tokens:8]] [[rate:0]]")
    reply_done(page)
    page.wait_for_url("**/c/*/")
    page.reload()
    user_msg = page.locator("article.msg.user").last
    image_link = user_msg.get_by_role("link", name="sunset.png")
    expect(image_link).to_be_visible()
    assert image_link.get_attribute("target") == "_blank"
    href = image_link.get_attribute("href")
    img = image_link.locator("img")
    expect(img).to_have_attribute("src", re.compile(r"^/attachments/"))
    assert img.evaluate("img => img.complete && img.naturalWidth > 0")
    assert href
    assert href != img.get_attribute("src")  # the thumbnail links to the full file
    pdf_link = user_msg.get_by_role("link", name=re.compile("report.pdf"))
    expect(pdf_link).to_contain_text("3 pages")
    full = page.request.get(href)
    assert full.status == 200
    assert full.headers["content-type"].startswith("image/")
    assert page_errors == []


def test_a_text_only_model_refuses_an_image_and_the_chips_come_back(
    signed_in_page: Any, live_openrouter: LiveOpenRouter, screenshot: Any
):
    page = signed_in_page
    pick_model(page, "llama 3.1 8b", "meta-llama/llama-3.1-8b-instruct")
    attach(page, IMAGE)
    ready(page, "sunset.png")
    expect(page.locator("#attach-note")).to_contain_text("cannot read images")
    send_with(page, "Can you see this? refuse-me")
    error = page.locator("#composer-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("image")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Can you see this? refuse-me")
    ready(page, "sunset.png")
    expect(page.locator("article.msg.user")).to_have_count(0)
    screenshot(page, "attachments-refused-by-model")
    assert not any(
        "refuse-me" in json.dumps(r.get("json")) for r in upstream_requests(live_openrouter)
    )


# --- what the server refuses ---------------------------------------------------------------------

REFUSED = {
    "too-large": (file_payload("huge.png", "image/png", b"\x00" * (30 * 1024 * 1024)), "MB"),
    "exe-as-png": (
        file_payload("setup.png", "image/png", b"MZ\x90\x00\x03" + b"\x00" * 2048),
        "image",
    ),
    "svg": (
        file_payload(
            "logo.svg",
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        ),
        "SVG",
    ),
    "fake-pdf": (file_payload("invoice.pdf", "application/pdf", b"Not a PDF at all\n" * 20), "PDF"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_file_is_explained_and_nothing_is_stored(
    case: str, signed_in_page: Any, live_app: LiveApp, user: LiveUser, page_errors: list[str]
):
    page = signed_in_page
    payload, word = REFUSED[case]
    attach(page, payload)
    error = page.locator("#composer-error")
    expect(error).to_be_visible(timeout=20_000)
    expect(error).to_contain_text(payload["name"])
    expect(error).to_contain_text(word)
    expect(chip(page, payload["name"])).to_have_count(0)
    assert stored_names(live_app, user) == []
    assert [e for e in page_errors if "Failed to load resource" not in e] == []


def test_another_user_gets_404_for_the_file(signed_in_page: Any, live_app: LiveApp, browser: Any):
    page = signed_in_page
    attach(page, IMAGE)
    ready(page, "sunset.png")
    url = chip(page, "sunset.png").locator(".att-thumb img").get_attribute("src")
    assert page.request.get(url).status == 200
    other = live_app.create_user(f"o{uuid.uuid4().hex[:10]}")
    context = browser.new_context(base_url=live_app.url)
    try:
        stranger = context.new_page()
        log_in(stranger, other.username, other.password)
        assert stranger.request.get(url).status == 404
    finally:
        context.close()


# --- the composer around the chips ---------------------------------------------------------------


def test_a_message_sent_while_its_upload_runs_waits_for_it_then_goes_out_with_it(
    signed_in_page: Any, live_openrouter: LiveOpenRouter
):
    page = signed_in_page
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send(  # about four seconds for this picture's 400 KB
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": 100_000},
    )
    attach(page, file_payload("big.png", "image/png", png(370, 370, noise=True)))
    expect(chip(page, "big.png")).to_have_attribute("data-state", "uploading")
    expect(
        chip(page, "big.png").get_by_role("progressbar", name="Uploading big.png")
    ).to_be_visible()
    send_with(page, "Slow upload [[tokens:6]] [[rate:0]]")
    pending = page.locator("article.msg.user.pending")
    expect(pending).to_contain_text("Uploading its attachments")
    expect(pending.get_by_role("img", name="big.png")).to_be_visible()
    expect(page.locator("#attachments")).to_be_hidden()
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
    )
    reply_done(page)
    expect(
        page.locator("article.msg.user").last.get_by_role("link", name="big.png")
    ).to_be_visible()
    body = last_chat_body(upstream_requests(live_openrouter), "Slow upload")
    assert any(p["type"] == "image_url" for p in body["messages"][-1]["content"])


def test_the_picker_says_what_the_attachments_need_and_marks_models_that_cannot(
    signed_in_page: Any, screenshot: Any
):
    page = signed_in_page
    attach(page, IMAGE)
    ready(page, "sunset.png")
    page.get_by_role("button", name="Model").click()
    expect(page.locator("#picker-needs")).to_have_text(re.compile("Your attachments need: images"))
    page.get_by_role("combobox", name="Search models").fill("llama 3.1 8b")
    llama = page.locator('[role=option][data-id="meta-llama/llama-3.1-8b-instruct"]')
    expect(llama).to_contain_text("can’t read images")
    page.get_by_role("combobox", name="Search models").fill("gpt-4o")
    expect(page.locator('[role=option][data-id="openai/gpt-4o"]')).not_to_contain_text("can’t read")
    screenshot(page, "attachments-picker-needs")


def test_the_pdf_engine_is_a_conversation_setting(
    signed_in_page: Any, live_app: LiveApp, user: LiveUser
):
    page = signed_in_page
    page.get_by_role("button", name="Conversation settings").click()
    engine = page.get_by_role("combobox", name="Read PDFs with")
    assert engine.locator("option").all_inner_texts() == [
        "Let OpenRouter choose",
        "Text only (free)",
        "OCR, for scans ($)",
        "The model itself",
    ]
    engine.select_option("mistral-ocr")
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_url("**/c/*/")
    saved = live_app.query(
        "import json\nfrom chatapp.chat.models import Conversation\n"
        f"print(json.dumps(Conversation.objects.get(owner_id={user.id}).pdf_engine))"
    )
    assert saved == "mistral-ocr"
    page.reload()
    page.get_by_role("button", name="Conversation settings").click()
    expect(page.get_by_role("combobox", name="Read PDFs with")).to_have_value("mistral-ocr")


def test_the_delete_dialog_says_the_files_go_too(signed_in_page: Any):
    page = signed_in_page
    send_with(page, "Hello [[tokens:4]] [[rate:0]]")
    reply_done(page)
    page.locator("#conv-items li.conv-item").first.hover()
    page.locator("#conv-items .conv-delete").first.click()
    expect(page.locator("#confirm-delete")).to_contain_text("attached file")


def composer_with_three_files(page: Any) -> None:
    attach(page, IMAGE, file_payload("Q3 report.pdf", "application/pdf", pdf(12)), NOTES)
    ready(page, "sunset.png", "Q3 report.pdf", "notes.txt")
    page.get_by_role("textbox", name="Message").fill("What do these say about the lease?")
    page.wait_for_timeout(300)  # let the buttons' colour transitions settle


def test_screenshots_of_the_composer_with_attachments(
    signed_in_page: Any, screenshot: Any, page_errors: list[str]
):
    page = signed_in_page
    send_with(page, "Here is the picture from yesterday [[tokens:20]] [[rate:0]]")
    reply_done(page)
    composer_with_three_files(page)
    screenshot(page, "attachments-composer-light")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)
    screenshot(page, "attachments-composer-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    screenshot(page, "attachments-composer-phone-dark")
    page.emulate_media(color_scheme="light")
    page.wait_for_timeout(300)
    screenshot(page, "attachments-composer-phone")
    assert page_errors == []


def test_screenshots_of_a_transcript_with_attachments(
    signed_in_page: Any, screenshot: Any, page_errors: list[str]
):
    page = signed_in_page
    attach(page, file_payload("sunset.png", "image/png", png(480, 300)), REPORT, NOTES)
    ready(page, "sunset.png", "report.pdf", "notes.txt")
    send_with(page, "Summarise these [[tokens:30]] [[rate:0]]")
    reply_done(page)
    page.wait_for_timeout(300)
    screenshot(page, "attachments-transcript-light")
    page.emulate_media(color_scheme="dark")
    page.wait_for_timeout(300)
    screenshot(page, "attachments-transcript-dark")
    page.set_viewport_size({"width": 390, "height": 844})
    page.wait_for_timeout(400)
    screenshot(page, "attachments-transcript-phone")
    assert page_errors == []


# --- the outbox and the draft carry the files ----------------------------------------------------

outage_app = test_outage.outage_app  # the fixture: a daphne of the test's own, stopped at will


def test_a_message_with_files_written_during_an_outage_goes_out_with_them_on_reconnect(
    page: Any, outage_app: test_outage.OutageApp, fake_openrouter: Any, user: LiveUser
):
    test_outage.open_chat(page, outage_app, user)
    attach(page, IMAGE, NOTES)
    ready(page, "sunset.png", "notes.txt")
    outage_app.stop()
    expect(page.locator("#connection")).to_contain_text("Not connected to the server.")
    send_with(page, "Written in the outage [[tokens:6]] [[rate:0]]")
    queued = page.locator("article.msg.user.queued")
    expect(queued).to_contain_text("Not sent yet: it goes out once reconnected.")
    expect(queued.get_by_role("img", name="sunset.png")).to_be_visible()
    expect(queued).to_contain_text("notes.txt")
    expect(page.locator("#attachments")).to_be_hidden()

    outage_app.start()
    expect(page.locator("#connection")).to_be_hidden(timeout=test_outage.RECONNECTED)
    test_outage.replies_done(page, 1)
    sent = page.locator("article.msg.user").last
    expect(sent.get_by_role("link", name="sunset.png")).to_be_visible()
    expect(sent.get_by_role("link", name=re.compile("notes.txt"))).to_be_visible()
    parts = last_chat_body(fake_openrouter.requests(), "Written in the outage")["messages"][-1]
    assert [p["type"] for p in parts["content"]].count("image_url") == 1


def test_a_queued_message_taken_back_returns_its_files_to_the_composer(
    page: Any, outage_app: test_outage.OutageApp, user: LiveUser
):
    test_outage.open_chat(page, outage_app, user)
    attach(page, REPORT)
    ready(page, "report.pdf")
    outage_app.stop()
    expect(page.locator("#connection")).to_be_visible()
    send_with(page, "On second thought")
    page.get_by_role("button", name="Don't send").click()
    expect(page.locator("article.msg.user")).to_have_count(0)
    expect(page.get_by_role("textbox", name="Message")).to_have_value("On second thought")
    ready(page, "report.pdf")
    outage_app.start()  # (stopped again by the fixture)


def test_files_in_the_composer_survive_signing_in_again(
    signed_in_page: Any, user: LiveUser, live_app: LiveApp
):
    page = signed_in_page
    send_with(page, "Hello [[tokens:4]] [[rate:0]]")
    reply_done(page)
    attach(page, IMAGE)
    ready(page, "sunset.png")
    page.get_by_role("textbox", name="Message").fill("Look at this")
    other = page.context.new_page()  # another tab logs out; this one's socket is closed
    other.goto("/accounts/")
    other.get_by_role("button", name="Log out").click()
    other.wait_for_url("**/accounts/login/**")
    expect(page.locator("#connection")).to_contain_text("You were signed out.", timeout=20_000)

    page.get_by_role("link", name="Sign in again").click()
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/c/*/")
    expect(page.get_by_role("textbox", name="Message")).to_have_value("Look at this")
    ready(page, "sunset.png")
    page.get_by_role("textbox", name="Message").press("Enter")
    reply_done(page)
    expect(
        page.locator("article.msg.user").last.get_by_role("link", name="sunset.png")
    ).to_be_visible()


def test_a_pdf_needs_a_model_that_reads_files_only_when_the_model_itself_reads_it(
    signed_in_page: Any,
):
    page = signed_in_page  # on GPT-4o-mini, which reads images but not files
    attach(page, REPORT)
    ready(page, "report.pdf")
    note = page.locator("#attach-note")
    expect(note).to_be_hidden()  # OpenRouter turns it into text for any model
    page.get_by_role("button", name="Conversation settings").click()
    page.get_by_role("combobox", name="Read PDFs with").select_option("native")
    page.get_by_role("button", name="Save settings").click()
    expect(note).to_have_text(re.compile("OpenAI: GPT-4o-mini cannot read PDF files"))
    page.get_by_role("button", name="Model").click()
    expect(page.locator("#picker-needs")).to_contain_text("Your attachments need: PDF files")
    send_with(page, "Read it yourself")
    expect(page.locator("#composer-error")).to_contain_text("GPT-4o-mini")
    ready(page, "report.pdf")  # given back with the text
