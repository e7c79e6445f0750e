"""Short titles for new conversations, from a cheap model, in the background after the first reply.

The title call is stored as a Message with role "title" so that its cost counts like any other
spend. With CHATAPP_TITLE_MODEL empty, not in the catalogue or refused by OpenRouter, and when
the first reply did not complete, the first words of the first message are the title.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from django.conf import settings

from chatapp.accounts.models import User
from chatapp.catalog.models import CatalogModel
from chatapp.chat import announce
from chatapp.chat.models import Conversation, Message
from chatapp.chat.tasks import spawn
from chatapp.openrouter import (
    ContentDelta,
    Finish,
    OpenRouterError,
    StreamError,
    Usage,
    astream_chat,
)

if TYPE_CHECKING:
    from chatapp.accounts.keys import ResolvedKey

log = logging.getLogger(__name__)

TITLE_WORDS = 6
# A model that ignores "at most six words" still gets a title that fits the sidebar.
MODEL_TITLE_WORDS = 10
_MARKDOWN_SYNTAX = re.compile(r"[*_`~]+|^title:\s*", re.IGNORECASE)
# Title models already reported unavailable in the log (once per process each).
unavailable_title_models: set[str] = set()
TITLE_PROMPT = (
    "Write a title of at most six words for the conversation that starts with the message "
    "below. Answer with the title only: no quotes, no full stop.\n\n{message}"
)


def title_from_words(text: str, *, words: int = TITLE_WORDS) -> str:
    """Return the first words of `text` as a title ("…" when cut)."""
    parts = text.split()
    title = " ".join(parts[:words])
    if len(parts) > words:
        title += "…"
    return title[:200] or "New chat"


def _clean(raw: str) -> str:
    """The title in a model's answer: its first line, without markdown, quotes or full stop."""
    first_line = next((line for line in raw.splitlines() if line.strip()), "")
    plain = _MARKDOWN_SYNTAX.sub("", first_line.lstrip().lstrip("#>-").strip())
    title = " ".join(plain.split()).strip("\"'“”‘’").rstrip(".").strip()
    return title[:200]


async def title_start_if_new(
    *, conversation: Conversation, reply: Message, user: User, payment: ResolvedKey, first_text: str
) -> bool:
    """Name `conversation` if this was its first reply; return whether the conversation was
    announced (a title model's answer is announced later, once it is in).
    `first_text` is the conversation's first message."""
    if conversation.title:
        return False
    model = await _atitle_model() if reply.status == Message.Status.COMPLETE else ""
    if not model:  # a failed or stopped reply is no reason to pay for a title
        return await _title_save(conversation, title_from_words(first_text))
    spawn(
        atitle_generate(
            conversation=conversation, first=first_text, user=user, payment=payment, model=model
        )
    )
    return False


async def atitle_from_first_message(*, conversation_id: int) -> bool:
    """Name an untitled conversation from its first message (its first reply never finished)."""
    first = (
        await Message.objects.filter(conversation_id=conversation_id, role=Message.Role.USER)
        .order_by("created_at", "pk")
        .afirst()
    )
    conversation = await Conversation.objects.aget(pk=conversation_id)
    if first is None or conversation.title:
        return False
    return await _title_save(conversation, title_from_words(first.content))


async def _atitle_model() -> str:
    """CHATAPP_TITLE_MODEL when it is in the catalogue, else "" (and a warning, once)."""
    model = str(settings.CHATAPP_TITLE_MODEL or "")
    if model and not await CatalogModel.objects.filter(model_id=model, is_active=True).aexists():
        _warn_unavailable(model, "it is not in the model catalogue")
        return ""
    return model


def _warn_unavailable(model: str, why: str) -> None:
    if model in unavailable_title_models:
        return
    unavailable_title_models.add(model)
    log.warning(
        "title model %s (CHATAPP_TITLE_MODEL) is unavailable: %s. New conversations are "
        "named after their first words instead.",
        model,
        why,
    )


async def atitle_generate(
    *, conversation: Conversation, first: str, user: User, payment: ResolvedKey, model: str
) -> str:
    """Ask `model` for a title (its call stored as a "title" message), save it."""
    title = ""
    try:
        title = await _ask_model(
            conversation=conversation, first=first, user=user, payment=payment, model=model
        )
    except OpenRouterError as refused:
        _warn_unavailable(model, f"OpenRouter refused it ({refused.message})")
    except Exception:  # a title is a nicety: never let it break anything
        log.exception("title call failed for conversation %s", conversation.pk)
    title = title_from_words(title, words=MODEL_TITLE_WORDS) if title else title_from_words(first)
    await _title_save(conversation, title)
    return title


async def _title_save(conversation: Conversation, title: str) -> bool:
    # Only if nobody named it meanwhile (a rename by hand, or an earlier reply, wins).
    updated = await Conversation.objects.filter(pk=conversation.pk, title="").aupdate(title=title)
    if updated:
        conversation.title = title
        await announce.conversation_changed(conversation)
    return bool(updated)


async def _ask_model(
    *, conversation: Conversation, first: str, user: User, payment: ResolvedKey, model: str
) -> str:

    parts: list[str] = []
    row = Message(
        conversation=conversation,
        user_id=conversation.owner_id,
        role=Message.Role.TITLE,
        model=model,
        paid_by=payment.paid_by,
        status=Message.Status.COMPLETE,
    )
    stream = astream_chat(
        api_key=payment.api_key,
        model=model,
        messages=[{"role": "user", "content": TITLE_PROMPT.format(message=first[:2000])}],
        user_id=str(user.openrouter_user_id),
        parameters={"max_tokens": 30},
    )
    try:
        async for event in stream:
            if isinstance(event, ContentDelta):
                parts.append(event.text)
            elif isinstance(event, Usage):
                row.prompt_tokens, row.completion_tokens = (
                    event.prompt_tokens,
                    event.completion_tokens,
                )
                row.reasoning_tokens, row.cached_tokens = (
                    event.reasoning_tokens,
                    event.cached_tokens,
                )
                row.cost = event.cost
            elif isinstance(event, Finish):
                row.model_used = event.model or row.model_used
                row.provider = event.provider or row.provider
                row.generation_id = event.generation_id or row.generation_id
                row.finish_reason = event.reason or row.finish_reason
            elif isinstance(event, StreamError):
                row.status = Message.Status.ERROR
                row.error_code, row.error_text = event.code, event.message
    finally:
        await stream.aclose()
    row.content = _clean("".join(parts))
    await row.asave()
    return row.content if row.status == Message.Status.COMPLETE else ""
