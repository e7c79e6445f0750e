"""Sending attachments: the parts the stand-in received, the refusals before any call, and the
files that follow a message through reloads, regenerate, edit and deletion."""

from __future__ import annotations

import base64
from decimal import Decimal
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chatapp.attachments.models import Attachment
from chatapp.attachments.services import attachment_read, attachment_store
from chatapp.catalog.models import CatalogModel
from chatapp.catalog.services import catalog_fields
from chatapp.chat.models import Conversation, Message
from chatapp.chat.selectors import conversation_transcript
from chatapp.openrouter.fake.catalogue import catalogue_by_id
from tests.attachments import files
from tests.chat.frames import chat_calls, send_frame

pytestmark = [pytest.mark.django_db(transaction=True)]

VISION = "openai/gpt-4o-mini"  # text and images
TEXT_ONLY = "meta-llama/llama-3.1-8b-instruct"
EVERYTHING = "google/gemini-2.5-flash"  # text, images, files and audio


@pytest.fixture
async def catalogue(db: None) -> None:
    for model_id in (VISION, TEXT_ONLY, EVERYTHING, "openai/gpt-4o"):
        await CatalogModel.objects.acreate(
            model_id=model_id, **catalog_fields(catalogue_by_id()[model_id])
        )


store = sync_to_async(attachment_store)


async def attach(user: Any, name: str, data: bytes) -> Attachment:
    return await store(user=user, name=name, data=data)


async def reply_to(tab: Any, frame: dict[str, Any]) -> dict[str, Any]:
    await tab.send(**frame)
    return (await tab.until("done"))["message"]


def last_user_content(fake: Any) -> Any:
    body = chat_calls(fake)[-1]["json"]
    return [m for m in body["messages"] if m["role"] == "user"][-1]["content"]


def data_url_bytes(url: str) -> bytes:
    return base64.b64decode(url.split(",", 1)[1])


async def test_an_image_reaches_the_model_as_an_image_url_part_after_the_text(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png(64, 48))
    alice_tab = await tab(alice)
    frame = send_frame("What is this?", model=VISION, attachments=[image.pk])
    await alice_tab.send(**frame)
    created = await alice_tab.until("message_created")
    reply = (await alice_tab.until("done"))["message"]

    assert [a["id"] for a in created["message"]["attachments"]] == [image.pk]
    assert created["message"]["attachments"][0]["thumbnail_url"].endswith("/thumbnail")
    text, picture = last_user_content(fake_openrouter)
    assert text == {"type": "text", "text": "What is this?"}
    assert picture["type"] == "image_url"
    assert picture["image_url"]["url"].startswith("data:image/png;base64,")
    stored = await sync_to_async(attachment_read)(image)
    assert data_url_bytes(picture["image_url"]["url"]) == stored
    assert reply["content"] == "I received an image (image/png, 64×48)."
    row = await Attachment.objects.aget(pk=image.pk)
    assert row.conversation_id == reply["conversation"]


async def test_a_model_without_image_input_is_refused_before_any_call_naming_models_that_can(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    frame = send_frame("What is this?", model=TEXT_ONLY, attachments=[image.pk])
    await alice_tab.send(**frame)
    error = await alice_tab.until("error")

    assert error["code"] == "model_cannot_read"
    assert error["client_id"] == frame["client_id"]
    assert "Meta: Llama 3.1 8B Instruct can’t read images" in error["message"]
    assert "Models that can: OpenAI: GPT-4o-mini" in error["message"]
    assert chat_calls(fake_openrouter) == []
    assert not await Message.objects.aexists()
    assert not await Conversation.objects.aexists()
    assert (await Attachment.objects.aget(pk=image.pk)).conversation_id is None  # still unsent


async def test_a_pdf_goes_as_a_file_part_with_the_chosen_engine_and_its_ocr_cost_is_the_replys(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    alice_tab = await tab(alice)
    costs = {}
    for engine in ("pdf-text", "mistral-ocr"):
        conversation = await Conversation.objects.acreate(
            owner=alice, model=EVERYTHING, pdf_engine=engine
        )
        pdf = await attach(alice, "report.pdf", files.pdf(pages=3))
        frame = send_frame("Summarise", conversation.pk, model=EVERYTHING, attachments=[pdf.pk])
        reply = await reply_to(alice_tab, frame)
        costs[engine] = Decimal(reply["cost"])
        assert reply["content"] == f"I received a PDF (report.pdf, 3 pages, read with {engine})."

    body = chat_calls(fake_openrouter)[-1]["json"]
    assert body["plugins"] == [{"id": "file-parser", "pdf": {"engine": "mistral-ocr"}}]
    _, part = last_user_content(fake_openrouter)
    assert part["type"] == "file"
    assert part["file"]["filename"] == "report.pdf"
    assert part["file"]["file_data"].startswith("data:application/pdf;base64,")
    assert data_url_bytes(part["file"]["file_data"]) == files.pdf(pages=3)
    # The usage's cost is the record, and OCR's three pages at $2 per 1,000 are part of it.
    assert costs["mistral-ocr"] - costs["pdf-text"] == Decimal("0.006")


async def test_without_an_engine_a_pdf_goes_to_any_model_and_no_plugin_is_sent(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    pdf = await attach(alice, "report.pdf", files.pdf(pages=1))
    alice_tab = await tab(alice)
    reply = await reply_to(alice_tab, send_frame("Read", model=TEXT_ONLY, attachments=[pdf.pk]))
    assert "plugins" not in chat_calls(fake_openrouter)[-1]["json"]
    assert "OpenRouter's default" in reply["content"]


async def test_the_native_engine_needs_a_model_that_reads_files(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    conversation = await Conversation.objects.acreate(
        owner=alice, model=VISION, pdf_engine="native"
    )
    pdf = await attach(alice, "report.pdf", files.pdf(pages=1))
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("Read", conversation.pk, model=VISION, attachments=[pdf.pk]))
    error = await alice_tab.until("error")
    assert error["code"] == "model_cannot_read"
    assert "can’t read PDFs as files" in error["message"]
    assert chat_calls(fake_openrouter) == []


async def test_audio_goes_as_input_audio_and_a_source_file_inline_as_text(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    sound = await attach(alice, "memo.wav", files.wav(seconds=0.5))
    code = await attach(alice, "main.py", b"print('```')\n")
    alice_tab = await tab(alice)
    frame = send_frame("", model=EVERYTHING, attachments=[sound.pk, code.pk])
    reply = await reply_to(alice_tab, frame)

    audio, source = last_user_content(fake_openrouter)  # no text part: nothing was typed
    assert audio["type"] == "input_audio"
    assert audio["input_audio"]["format"] == "wav"
    assert base64.b64decode(audio["input_audio"]["data"]) == files.wav(seconds=0.5)
    assert source == {
        "type": "text",
        "text": "Attached file “main.py”:\n````\nprint('```')\n````",
    }
    assert reply["content"] == (
        f"I received an audio clip (wav, {len(files.wav(seconds=0.5)):,} bytes) "
        "and a text file (main.py)."
    )


async def test_later_requests_and_regenerate_carry_the_earlier_image_again(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    first = await reply_to(alice_tab, send_frame("Look", model=VISION, attachments=[image.pk]))
    conversation = first["conversation"]
    await reply_to(alice_tab, send_frame("And now? [[tokens:2]]", conversation, model=VISION))
    history = chat_calls(fake_openrouter)[-1]["json"]["messages"]
    assert history[0]["content"][1]["type"] == "image_url"
    assert history[-1]["content"] == "And now? [[tokens:2]]"

    frame = {
        "type": "regenerate",
        "conversation": conversation,
        "message": first["id"],
        "client_id": send_frame("")["client_id"],
    }
    await reply_to(alice_tab, frame)
    assert last_user_content(fake_openrouter)[1]["type"] == "image_url"


async def test_an_edit_keeps_the_attachments_of_the_message_it_replaces(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    first = await reply_to(alice_tab, send_frame("Look", model=VISION, attachments=[image.pk]))
    frame = {
        "type": "edit",
        "conversation": first["conversation"],
        "message": first["parent"],
        "content": "Look closer",
        "client_id": send_frame("")["client_id"],
    }
    await alice_tab.send(**frame)
    edited = (await alice_tab.until("message_created"))["message"]
    await alice_tab.until("done")

    assert [a["id"] for a in edited["attachments"]] == [image.pk]
    text, picture = last_user_content(fake_openrouter)
    assert text["text"] == "Look closer"
    assert picture["type"] == "image_url"


async def test_someone_elses_attachment_is_refused_and_nothing_is_stored(
    alice, bob, tab, fake_openrouter, operator_key, catalogue
):
    bobs = await attach(bob, "bob.png", files.png())
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("Mine now", model=VISION, attachments=[bobs.pk]))
    error = await alice_tab.until("error")
    assert error["code"] == "attachment"
    assert "is gone" in error["message"]
    assert not await Message.objects.aexists()
    assert (await Attachment.objects.aget(pk=bobs.pk)).conversation_id is None


async def test_a_file_sent_in_one_conversation_cannot_be_sent_in_another(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    await reply_to(alice_tab, send_frame("One", model=VISION, attachments=[image.pk]))
    other = await Conversation.objects.acreate(owner=alice, model=VISION)
    await alice_tab.send(**send_frame("Two", other.pk, model=VISION, attachments=[image.pk]))
    assert (await alice_tab.until("error"))["code"] == "attachment"


async def test_a_message_of_files_only_is_sent_but_an_empty_one_is_not(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("", model=VISION))
    assert (await alice_tab.until("error"))["message"].endswith("the message is empty.")
    reply = await reply_to(alice_tab, send_frame(" ", model=VISION, attachments=[image.pk]))
    assert reply["content"].startswith("I received an image")
    conversation = await Conversation.objects.aget(pk=reply["conversation"])
    assert conversation.title == "I received an image (image/png, 64×48)."  # named by the answer


async def test_the_files_of_one_message_are_capped_together(
    alice, tab, fake_openrouter, operator_key, catalogue, settings
):
    settings.CHATAPP_MAX_MESSAGE_UPLOAD_MB = 1
    big = [await attach(alice, f"part{n}.txt", b"x" * 600_000) for n in range(2)]
    alice_tab = await tab(alice)
    await alice_tab.send(**send_frame("Both", model=VISION, attachments=[a.pk for a in big]))
    error = await alice_tab.until("error")
    assert error["code"] == "attachment"
    assert "at most 1 MB" in error["message"]


async def test_the_transcript_of_a_reloaded_page_carries_each_messages_attachments(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    reply = await reply_to(alice_tab, send_frame("Look", model=VISION, attachments=[image.pk]))
    conversation = await Conversation.objects.aget(pk=reply["conversation"])
    transcript = await sync_to_async(conversation_transcript)(conversation=conversation)
    asked, answered = transcript
    assert [a["name"] for a in asked["attachments"]] == ["chart.png"]
    assert answered["attachments"] == []


async def test_deleting_the_conversation_deletes_its_files_and_says_how_many(
    alice, tab, fake_openrouter, operator_key, catalogue, attachment_files
):
    image = await attach(alice, "chart.png", files.png())
    alice_tab = await tab(alice)
    reply = await reply_to(alice_tab, send_frame("Look", model=VISION, attachments=[image.pk]))

    def delete() -> Any:
        client = Client()
        client.force_login(alice)
        return client.post(f"/c/{reply['conversation']}/delete").json()

    assert await sync_to_async(delete)() == {"deleted": reply["conversation"], "files": 1}
    assert not await Attachment.objects.aexists()
    assert [p for p in attachment_files.rglob("*") if p.is_file()] == []


async def test_the_parsers_annotations_come_back_with_the_reply_so_a_pdf_is_parsed_once(
    alice, tab, fake_openrouter, operator_key, catalogue
):
    conversation = await Conversation.objects.acreate(
        owner=alice, model=EVERYTHING, pdf_engine="mistral-ocr"
    )
    pdf = await attach(alice, "report.pdf", files.pdf(pages=3))
    alice_tab = await tab(alice)
    frame = send_frame("Summarise", conversation.pk, model=EVERYTHING, attachments=[pdf.pk])
    first = await reply_to(alice_tab, frame)
    stored = await Message.objects.aget(pk=first["id"])
    [annotation] = stored.file_annotations
    assert annotation["type"] == "file"
    assert annotation["file"]["name"] == "report.pdf"

    follow_up = send_frame("And page 2? [[tokens:4]]", conversation.pk, model=EVERYTHING)
    second = await reply_to(alice_tab, follow_up)
    body = chat_calls(fake_openrouter)[-1]["json"]
    answer = next(m for m in body["messages"] if m["role"] == "assistant")
    assert answer["annotations"] == stored.file_annotations  # sent back as they came
    assert body["messages"][0]["content"][1]["type"] == "file"  # the PDF itself still goes too
    # The three pages were not OCR'd again: the stand-in charged the follow-up no parsing.
    generations = fake_openrouter.server.generations
    charged = {
        m["id"]: generations[(await Message.objects.aget(pk=m["id"])).generation_id]
        for m in (first, second)
    }
    assert charged[first["id"]]["parser_cost"] == Decimal("0.006")
    assert charged[second["id"]]["parser_cost"] == 0
    assert Decimal(second["cost"]) == Decimal(str(charged[second["id"]]["total_cost"]))
