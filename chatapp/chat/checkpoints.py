"""Checkpoints: the text of every reply this process is writing, saved in one write a second.

A crash loses at most about CHECKPOINT_SECONDS of text. A reply whose text did not change is
still touched every HEARTBEAT_SECONDS, so the sweeper can tell a live worker (in any process)
from a dead one. However many replies are streaming, that is one transaction a second: a
statement per CHUNK replies (SQLite caps the parameters of one statement), not one per reply.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from typing import Protocol

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from chatapp.chat.models import Message

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 1.0
# Every live reply is touched this often (in the same statement as the checkpoints): the
# sweeper takes a reply untouched for a few of these as one whose process died.
HEARTBEAT_SECONDS = 1.0
CHUNK = 100

Texts = dict[int, tuple[str, str]]  # reply id → (content, reasoning)


class Writing(Protocol):
    """A reply being written (chat/generation.py)."""

    def unsaved_text(self) -> tuple[str, str] | None:
        """The text, when it changed since the last call; None otherwise."""


class Checkpointer:
    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.replies: dict[int, Writing] = {}
        self.saved_at: dict[int, float] = {}
        self.task: asyncio.Task[None] | None = None

    def add(self, pk: int, reply: Writing) -> None:
        self.replies[pk] = reply
        self.saved_at[pk] = time.monotonic()  # the placeholder was just written
        if self.task is None or self.task.done():
            self.task = self.loop.create_task(self._run())

    def remove(self, pk: int) -> None:
        self.replies.pop(pk, None)
        self.saved_at.pop(pk, None)

    async def _run(self) -> None:
        while self.replies:
            await asyncio.sleep(CHECKPOINT_SECONDS)
            await self.save()

    async def save(self) -> None:
        """Save what is due now (also on shutdown, before the replies end)."""
        texts, beats = self._due()
        if not texts and not beats:
            return
        try:
            await sync_to_async(checkpoints_save)(texts, beats)
        except Exception:  # the database may be briefly away: the next round tries again
            log.exception("could not save the checkpoints of %d replies", len(texts))

    def _due(self) -> tuple[Texts, list[int]]:
        now = time.monotonic()
        texts: Texts = {}
        beats: list[int] = []
        for pk, reply in self.replies.items():
            text = reply.unsaved_text()
            if text is not None:
                texts[pk] = text
            elif now - self.saved_at[pk] < HEARTBEAT_SECONDS:
                continue
            else:
                beats.append(pk)
            self.saved_at[pk] = now
        return texts, beats


def checkpoints_save(texts: Texts, beats: list[int]) -> None:
    """Save the text of streaming replies and touch the rest, in one transaction. A reply that
    has ended meanwhile is left alone: its final write is the record."""
    now = timezone.now()
    streaming = Message.objects.filter(status=Message.Status.STREAMING)
    with transaction.atomic():
        items = iter(texts.items())
        while chunk := list(itertools.islice(items, CHUNK)):
            streaming.filter(pk__in=[pk for pk, _ in chunk]).update(
                content=_case(chunk, 0, "content"),
                reasoning=_case(chunk, 1, "reasoning"),
                updated_at=now,
            )
        if beats:
            streaming.filter(pk__in=beats).update(updated_at=now)


def _case(chunk: list[tuple[int, tuple[str, str]]], index: int, field: str) -> Case:
    whens = [When(pk=pk, then=Value(text[index])) for pk, text in chunk]
    return Case(*whens, default=F(field), output_field=TextField())


_checkpointer: Checkpointer | None = None


def checkpointer() -> Checkpointer:
    """This process's checkpointer (one per event loop)."""
    global _checkpointer
    if _checkpointer is None or _checkpointer.loop is not asyncio.get_running_loop():
        _checkpointer = Checkpointer()
    return _checkpointer
