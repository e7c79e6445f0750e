"""Conversations as files: Markdown to read, versioned JSON to keep or import, a zip of all.

The JSON format is documented in docs/export-format.md; bump FORMAT_VERSION on any change that
is not purely additive. Exports hold the owner's own conversations only, and never a key, a
key hint or who paid for a reply.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from django.conf import settings
from django.utils import timezone
from django.utils.text import slugify

from chatapp.accounts.models import User
from chatapp.attachments.models import Attachment
from chatapp.attachments.services import attachment_read
from chatapp.chat.models import Conversation, Message
from chatapp.sharing.branches import branch, transcript_messages
from chatapp.usage.money import exact_cost_sum, exact_sum, usd_text

FORMAT = "chatapp-export"
FORMAT_VERSION = 1
Branches = Literal["current", "all"]

COUNT_FIELDS = (
    "prompt_tokens",
    "completion_tokens",
    "reasoning_tokens",
    "cached_tokens",
    "time_to_first_token_ms",
    "duration_ms",
)
# Every stored field of a message that belongs in an export, in the order they are written.
# Left out on purpose: user (the owner, implied), paid_by (whose key paid), client_id (the
# browser's resend token), file_annotations (OpenRouter's parse of the PDFs, its own format)
# and updated_at.
MESSAGE_FIELDS = (
    *("role", "content", "reasoning", "status", "model", "model_used", "provider"),
    *("finish_reason", "generation_id", *COUNT_FIELDS, "error_code", "error_text", "imported"),
    *("citations", "context_omitted", "request_options"),
)
# The conversation's own settings, written as stored.
CONVERSATION_FIELDS = (
    *("title", "model", "system_prompt", "parameters", "provider_sort", "provider_order"),
    *("allow_fallbacks", "deny_data_collection", "web_search", "context_strategy", "pdf_engine"),
)
# What an export says of an attached file (the zip holds the files themselves).
ATTACHMENT_FIELDS = (
    *("name", "kind", "content_type", "size", "sha256", "width", "height", "pages", "duration"),
)


@dataclass(frozen=True)
class ExportFile:
    filename: str
    content_type: str
    body: bytes


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.normalize(), "f")


def _when(value: datetime) -> str:
    return value.astimezone(timezone.get_current_timezone()).isoformat()


def message_record(message: Message) -> dict[str, Any]:
    record: dict[str, Any] = {"id": message.pk, "parent": message.parent_id}
    record.update({name: getattr(message, name) for name in MESSAGE_FIELDS})
    record["cost"] = _money(message.cost)
    record["cache_savings"] = _money(message.cache_savings)
    record["created_at"] = _when(message.created_at)
    record["attachments"] = [attachment_record(a) for a in message.attachments.all()]
    return record


def attachment_record(attachment: Attachment) -> dict[str, Any]:
    record: dict[str, Any] = {"id": attachment.pk}
    record.update({name: getattr(attachment, name) for name in ATTACHMENT_FIELDS})
    record["file"] = attachment_path(attachment)
    return record


def attachment_path(attachment: Attachment) -> str:
    """Where the export zip holds the file."""
    return f"attachments/{attachment.pk}-{attachment.name}"


def conversation_record(
    conversation: Conversation, *, branches: Branches = "current", leaf: int | None = None
) -> dict[str, Any]:
    """Return one conversation as the export format's `conversations` item."""
    messages = transcript_messages(conversation)
    chosen = messages if branches == "all" else branch(messages, leaf=leaf)
    total = exact_cost_sum(conversation.messages.all())
    return {
        "id": conversation.pk,
        **{name: getattr(conversation, name) for name in CONVERSATION_FIELDS},
        "created_at": _when(conversation.created_at),
        "updated_at": _when(conversation.updated_at),
        "cost": _money(total),
        "branches": branches,
        "messages": [message_record(m) for m in chosen],
    }


def export_document(conversations: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "exported_at": _when(timezone.now()),
        "site": settings.CHATAPP_SITE_NAME,
        "conversations": conversations,
    }


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, indent=2).encode()


def _stem(conversation: Conversation) -> str:
    return f"{slugify(conversation.title)[:60] or 'chat'}-{conversation.pk}"


def export_json(
    *, conversation: Conversation, branches: Branches = "current", leaf: int | None = None
) -> ExportFile:
    record = conversation_record(conversation, branches=branches, leaf=leaf)
    body = _dumps(export_document([record]))
    return ExportFile(f"{_stem(conversation)}.json", "application/json", body)


def export_markdown(*, conversation: Conversation, leaf: int | None = None) -> ExportFile:
    text = conversation_markdown(conversation, leaf=leaf)
    return ExportFile(f"{_stem(conversation)}.md", "text/markdown; charset=utf-8", text.encode())


def conversation_markdown(conversation: Conversation, *, leaf: int | None = None) -> str:
    """Return the branch shown as a Markdown document, with each message's model and cost."""
    messages = branch(transcript_messages(conversation), leaf=leaf)
    parts = [f"# {conversation.title or 'Untitled chat'}", "", *_header(conversation, messages)]
    if conversation.system_prompt:
        parts += ["", "**System prompt**", "", _quote(conversation.system_prompt)]
    for message in messages:
        parts += ["", "---", "", *_markdown_message(message)]
    return "\n".join(parts) + "\n"


def _header(conversation: Conversation, messages: list[Message]) -> list[str]:
    models = sorted({m.model_used or m.model for m in messages if m.role == "assistant"} - {""})
    cost = exact_sum(m.cost for m in messages)
    return [
        f"- Model{'s' if len(models) > 1 else ''}: {', '.join(models) or conversation.model}",
        f"- Started: {_readable(conversation.created_at)}",
        f"- Exported: {_readable(timezone.now())} from {settings.CHATAPP_SITE_NAME}",
        f"- Cost of the replies below: ${usd_text(cost)}",
    ]


def _readable(value: datetime) -> str:
    local = value.astimezone(timezone.get_current_timezone())
    return local.strftime("%-d %b %Y, %H:%M %Z")


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _markdown_message(message: Message) -> list[str]:
    lines = [f"### {_heading(message)}", ""]
    if message.reasoning:
        lines += [
            "<details>",
            "<summary>Reasoning</summary>",
            "",
            message.reasoning,
            "",
            "</details>",
            "",
        ]
    lines.append(message.content or "*(no text)*")
    if files := list(message.attachments.all()):
        lines += ["", "Attached:", *(f"- {_attached(a)}" for a in files)]
    if message.citations:
        lines += ["", "Sources:", *(_source(c) for c in message.citations)]
    if message.status not in (Message.Status.COMPLETE, Message.Status.STREAMING):
        reason = message.error_text or message.status
        lines += ["", f"*This reply ended early: {reason}.*"]
    return lines


def _attached(attachment: Attachment) -> str:
    bits = [attachment.get_kind_display(), f"{attachment.size / 1024:,.0f} KB"]
    if attachment.pages:
        bits.insert(1, f"{attachment.pages} page{'s' if attachment.pages != 1 else ''}")
    if attachment.width and attachment.height:
        bits.insert(1, f"{attachment.width}×{attachment.height}")
    return f"`{attachment.name}` ({', '.join(bits)})"


def _source(citation: dict[str, str]) -> str:
    url = citation.get("url", "")
    return f"- [{citation.get('title') or url}]({url})"


def _heading(message: Message) -> str:
    bits = ["You" if message.role == Message.Role.USER else "Assistant"]
    if message.role == Message.Role.ASSISTANT and (message.model_used or message.model):
        bits.append(f"`{message.model_used or message.model}`")
    bits.append(_readable(message.created_at))
    if message.prompt_tokens is not None or message.completion_tokens is not None:
        bits.append(f"{message.prompt_tokens or 0} → {message.completion_tokens or 0} tokens")
    if message.cost is not None:
        bits.append(f"${usd_text(message.cost)}")
    if message.imported:
        bits.append("imported")
    return " · ".join(bits)


def export_all_zip(*, user: User) -> ExportFile:
    """Return every conversation of `user`: one JSON of all (every branch), Markdown files, and
    the attached files under attachments/."""
    conversations = list(Conversation.objects.filter(owner_id=user.pk).order_by("created_at", "pk"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        records = [conversation_record(c, branches="all") for c in conversations]
        archive.writestr("conversations.json", _dumps(export_document(records)))
        for conversation in conversations:
            archive.writestr(
                f"markdown/{_stem(conversation)}.md", conversation_markdown(conversation)
            )
        for attachment in Attachment.objects.filter(owner_id=user.pk).exclude(conversation=None):
            archive.writestr(attachment_path(attachment), attachment_read(attachment))
    stamp = timezone.localdate().isoformat()
    return ExportFile(
        f"{settings.CHATAPP_SITE_NAME}-export-{stamp}.zip", "application/zip", buffer.getvalue()
    )
