"""The stand-in's checks of multimodal parts: what the docs describe passes, the rest is a 400,
and a model without the modality answers OpenRouter's 404."""

from __future__ import annotations

import base64

import pytest

from chatapp.openrouter.fake.catalogue import catalogue_by_id
from chatapp.openrouter.fake.multimodal import PartError, check_parts, describe, parser_cost
from tests.attachments import files

VISION = catalogue_by_id()["openai/gpt-4o-mini"]
TEXT_ONLY = catalogue_by_id()["meta-llama/llama-3.1-8b-instruct"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def body(*parts: dict, plugins: list | None = None) -> dict:
    found: dict = {"messages": [{"role": "user", "content": list(parts)}]}
    if plugins is not None:
        found["plugins"] = plugins
    return found


IMAGE = {"type": "image_url", "image_url": {"url": "data:image/png;base64," + b64(files.png())}}
PDF = {
    "type": "file",
    "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64," + b64(files.pdf(2))},
}
AUDIO = {"type": "input_audio", "input_audio": {"data": b64(files.wav()), "format": "wav"}}


def test_the_documented_parts_pass_and_are_described():
    request = body({"type": "text", "text": "Look"}, IMAGE, PDF, AUDIO)
    check_parts(request, catalogue_by_id()["google/gemini-2.5-flash"])
    assert describe(request) == (
        "I received an image (image/png, 64×48), a PDF (a.pdf, 2 pages, read with OpenRouter's "
        f"default) and an audio clip (wav, {len(files.wav()):,} bytes)."
    )


@pytest.mark.parametrize(
    ("part", "words"),
    [
        ({"text": "no type"}, "must be an object with a type"),
        ({"type": "image_url", "image_url": {"url": "https://x/y.png"}}, "base64 data URL"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,!!"}}, "not valid"),
        ({"type": "image_url", "image_url": {"url": "data:image/png;base64,aGk="}}, "decoded"),
        ({"type": "file", "file": {"file_data": PDF["file"]["file_data"]}}, "needs a filename"),
        ({"type": "input_audio", "input_audio": {"data": "aGk=", "format": "ogg"}}, "wav or mp3"),
        ({"type": "video_url"}, "Unknown content part type"),
    ],
)
def test_a_part_the_docs_do_not_describe_is_a_400(part, words):
    with pytest.raises(PartError) as refused:
        check_parts(body(part), VISION)
    assert refused.value.status == 400
    assert words in refused.value.message


def test_a_model_without_image_input_answers_404():
    with pytest.raises(PartError) as refused:
        check_parts(body(IMAGE), TEXT_ONLY)
    assert (refused.value.status, refused.value.message) == (
        404,
        "No endpoints found that support image input",
    )


def test_a_pdf_reaches_a_text_model_through_the_parser_but_not_natively():
    check_parts(body(PDF), TEXT_ONLY)
    with pytest.raises(PartError):
        check_parts(
            body(PDF, plugins=[{"id": "file-parser", "pdf": {"engine": "native"}}]), TEXT_ONLY
        )


def test_ocr_costs_two_dollars_per_thousand_pages_and_pdf_text_nothing():
    ocr = body(PDF, plugins=[{"id": "file-parser", "pdf": {"engine": "mistral-ocr"}}])
    text = body(PDF, plugins=[{"id": "file-parser", "pdf": {"engine": "pdf-text"}}])
    assert str(parser_cost(ocr)) == "0.004"
    assert parser_cost(text) == 0
