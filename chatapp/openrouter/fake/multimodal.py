"""Images, PDFs and audio in the stand-in: the parts are checked as OpenRouter's multimodal docs
spell them, and a reply to a message that carries any says what it received, so that tests can
assert on what reached "the model" (docs/fake-openrouter.md, "Attachments").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from decimal import Decimal
from typing import Any

from PIL import Image

DATA_URL = re.compile(r"^data:([a-z]+/[a-z0-9.+-]+);base64,(.*)$", re.DOTALL)
IMAGE_TYPES = {"image/png", "image/jpeg", "image/webp", "image/gif"}
AUDIO_FORMATS = {"wav", "mp3"}
PDF_ENGINES = {"pdf-text", "mistral-ocr", "native"}
# mistral-ocr: $2 per 1,000 pages (OpenRouter's pricing); pdf-text is free; native is tokens.
OCR_PRICE_PER_PAGE = Decimal("0.002")
IMAGE_TOKENS = 1_000
PAGE_TOKENS = 500
PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")


class PartError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def check_parts(body: dict[str, Any], model: dict[str, Any]) -> None:
    """Raise PartError for a part the docs do not describe, or one the model cannot take."""
    inputs = set(model.get("architecture", {}).get("input_modalities") or ["text"])
    engine = pdf_engine(body)
    if engine is not None and engine not in PDF_ENGINES:
        raise PartError(400, f"Invalid file-parser pdf.engine {engine!r}")
    for message in body["messages"]:
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for part in content:
            need = _check_part(part)
            if need == "file" and engine != "native":
                continue  # the file-parser plugin turns a PDF into text for any model
            if need and need not in inputs:
                raise PartError(404, f"No endpoints found that support {need} input")


def _check_part(part: Any) -> str | None:
    """The modality `part` needs ("image", "file", "audio"; None for text)."""
    if not isinstance(part, dict) or not isinstance(part.get("type"), str):
        raise PartError(400, "Each content part must be an object with a type")
    kind = part["type"]
    if kind == "text":
        if not isinstance(part.get("text"), str):
            raise PartError(400, "A text part needs a string text")
        return None
    if kind == "image_url":
        url = (part.get("image_url") or {}).get("url")
        content_type, data = _data_url(url, "image_url.url")
        if content_type not in IMAGE_TYPES:
            raise PartError(400, f"Unsupported image type {content_type}")
        _image_size(data)
        return "image"
    if kind == "file":
        file = part.get("file") or {}
        if not isinstance(file.get("filename"), str) or not file["filename"]:
            raise PartError(400, "A file part needs a filename")
        content_type, data = _data_url(file.get("file_data"), "file.file_data")
        if content_type != "application/pdf" or not data.startswith(b"%PDF-"):
            raise PartError(400, "file_data must be a PDF (data:application/pdf;base64,…)")
        return "file"
    if kind == "input_audio":
        audio = part.get("input_audio") or {}
        if audio.get("format") not in AUDIO_FORMATS:
            raise PartError(400, "input_audio.format must be wav or mp3")
        _base64(audio.get("data"), "input_audio.data")
        return "audio"
    raise PartError(400, f"Unknown content part type {kind!r}")


def _data_url(value: Any, field: str) -> tuple[str, bytes]:
    match = DATA_URL.match(value) if isinstance(value, str) else None
    if match is None:
        raise PartError(400, f"{field} must be a base64 data URL")
    return match.group(1), _base64(match.group(2), field)


def _base64(value: Any, field: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise PartError(400, f"{field} must be base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise PartError(400, f"{field} is not valid base64") from None


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:  # whatever Pillow raises, the image is unreadable
        raise PartError(400, "The image could not be decoded") from None


def pdf_engine(body: dict[str, Any]) -> str | None:
    for plugin in body.get("plugins") or []:
        if isinstance(plugin, dict) and plugin.get("id") == "file-parser":
            return str((plugin.get("pdf") or {}).get("engine") or "") or None
    return None


def _pages(part: dict[str, Any]) -> int:
    _, data = _data_url(part["file"]["file_data"], "file.file_data")
    return max(1, len(PAGE.findall(data)))


def _parts(message: Any) -> list[dict[str, Any]]:
    content = message.get("content") if isinstance(message, dict) else None
    return [p for p in content if isinstance(p, dict)] if isinstance(content, list) else []


def describe(body: dict[str, Any]) -> str | None:
    """What the last user message carried, in a sentence (None: only text)."""
    last = next(
        (m for m in reversed(body["messages"]) if isinstance(m, dict) and m.get("role") == "user"),
        None,
    )
    seen: list[str] = []
    for part in _parts(last):
        if part["type"] == "image_url":
            content_type, data = _data_url(part["image_url"]["url"], "url")
            width, height = _image_size(data)
            seen.append(f"an image ({content_type}, {width}×{height})")
        elif part["type"] == "file":
            engine = pdf_engine(body) or "OpenRouter's default"
            pages = _pages(part)
            seen.append(
                f"a PDF ({part['file']['filename']}, {pages} page{'s' if pages != 1 else ''}, "
                f"read with {engine})"
            )
        elif part["type"] == "input_audio":
            size = len(_base64(part["input_audio"]["data"], "data"))
            seen.append(f"an audio clip ({part['input_audio']['format']}, {size:,} bytes)")
        elif part["type"] == "text" and part["text"].startswith("Attached file “"):
            name = part["text"].split("”", 1)[0].removeprefix("Attached file “")
            seen.append(f"a text file ({name})")
    if not seen:
        return None
    listed = seen[0] if len(seen) == 1 else ", ".join(seen[:-1]) + " and " + seen[-1]
    return f"I received {listed}."


def attachment_tokens(messages: list[Any]) -> int:
    """Prompt tokens for the non-text parts (text parts count as text)."""
    tokens = 0
    for message in messages:
        for part in _parts(message):
            if part["type"] == "image_url":
                tokens += IMAGE_TOKENS
            elif part["type"] == "file":
                tokens += PAGE_TOKENS * _pages(part)
            elif part["type"] == "input_audio":
                tokens += len(str(part["input_audio"].get("data", ""))) // 1000
    return tokens


def _unparsed_pdfs(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The PDF parts no earlier assistant message carries `file` annotations for: those are
    parsed (and paid for) by this request; the others were parsed before."""
    known = {
        (a.get("file") or {}).get("hash")
        for message in body["messages"]
        if isinstance(message, dict) and message.get("role") == "assistant"
        for a in message.get("annotations") or []
        if isinstance(a, dict) and a.get("type") == "file"
    }
    return [
        part
        for message in body["messages"]
        for part in _parts(message)
        if part["type"] == "file" and _hash(part) not in known
    ]


def _hash(part: dict[str, Any]) -> str:
    _, data = _data_url(part["file"]["file_data"], "file.file_data")
    return hashlib.sha256(data).hexdigest()


def file_annotations(body: dict[str, Any]) -> list[dict[str, Any]]:
    """What the parser made of each PDF it read for this request, as `file` annotations."""
    return [
        {
            "type": "file",
            "file": {
                "hash": _hash(part),
                "name": part["file"]["filename"],
                "content": [{"type": "text", "text": f"The text of {_pages(part)} page(s)."}],
            },
        }
        for part in _unparsed_pdfs(body)
    ]


def parser_cost(body: dict[str, Any]) -> Decimal:
    """What the file-parser plugin charges: mistral-ocr by the page for PDFs it has not parsed
    before (their annotations came back with an earlier reply), the other engines nothing."""
    if pdf_engine(body) != "mistral-ocr":
        return Decimal(0)
    return OCR_PRICE_PER_PAGE * sum(_pages(part) for part in _unparsed_pdfs(body))
