"""Attachments as OpenRouter content parts, exactly as its multimodal docs spell them.

    image  {"type": "image_url", "image_url": {"url": "data:image/png;base64,…"}}
    PDF    {"type": "file",
            "file": {"filename": "report.pdf", "file_data": "data:application/pdf;base64,…"}}
    audio  {"type": "input_audio", "input_audio": {"data": "<base64>", "format": "wav"}}
    text   {"type": "text", "text": "<the file, fenced, under its name>"}

The person's own text comes first, then the files in the order they were attached (the docs
put the text before the image).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Sequence

from chatapp.attachments.models import Attachment
from chatapp.attachments.services import attachment_read
from chatapp.openrouter import ContentPart


def content_with(text: str, attachments: Sequence[Attachment]) -> str | list[ContentPart]:
    """A message's content: `text` alone, or a list of parts when it carries attachments."""
    if not attachments:
        return text
    parts: list[ContentPart] = [{"type": "text", "text": text}] if text else []
    parts.extend(attachment_part(a) for a in attachments)
    return parts


def attachment_part(attachment: Attachment) -> ContentPart:
    data = attachment_read(attachment)
    if attachment.kind == Attachment.Kind.TEXT:
        return {"type": "text", "text": text_block(attachment.name, data.decode("utf-8"))}
    encoded = base64.b64encode(data).decode("ascii")
    if attachment.kind == Attachment.Kind.IMAGE:
        url = f"data:{attachment.content_type};base64,{encoded}"
        return {"type": "image_url", "image_url": {"url": url}}
    if attachment.kind == Attachment.Kind.PDF:
        file_data = f"data:application/pdf;base64,{encoded}"
        return {"type": "file", "file": {"filename": attachment.name, "file_data": file_data}}
    audio_format = "mp3" if attachment.content_type == "audio/mpeg" else "wav"
    return {"type": "input_audio", "input_audio": {"data": encoded, "format": audio_format}}


def text_block(name: str, text: str) -> str:
    """A text file under its name, in a fence longer than any run of backticks inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"Attached file “{name}”:\n{fence}\n{text.rstrip()}\n{fence}"
