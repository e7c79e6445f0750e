"""Spend: the cost of record of each reply, and the usage rollups that follow it.

A reply's cost comes with its last stream event. When it does not (stopped, cut off, or its
process died), it is fetched from OpenRouter's /generation by the generation id, which the
worker stores as soon as it is known: `fetch_cost_later` for a reply this process ended,
`arecover_costs` for those the sweeper found, or left by a process that shut down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import timezone

from chatapp.accounts.keys import akey_that_paid
from chatapp.chat import announce
from chatapp.chat.hooks import spend_written
from chatapp.chat.models import Message
from chatapp.chat.tasks import spawn
from chatapp.core.periods import local_day
from chatapp.openrouter import OpenRouterError, aget_generation

log = logging.getLogger(__name__)

# After a stop or a cut-off, OpenRouter needs a moment before /generation knows the cost.
COST_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
# Replies ended without a cost this recently are costed again by a new process.
RECOVER_WITHIN = timedelta(days=1)


async def fetch_cost_later(*, message_id: int, api_key: str, generation_id: str) -> None:
    """Record the cost of a reply whose usage never arrived (stopped, cut off), from /generation."""
    for delay in COST_RETRY_DELAYS:
        await asyncio.sleep(delay)
        try:
            found = await aget_generation(api_key=api_key, generation_id=generation_id)
        except OpenRouterError:
            continue
        if found is not None and found.total_cost is not None:
            await _record_cost(message_id, found)
            return
    log.warning("no cost known for message %s (generation %s)", message_id, generation_id)


async def arecover_costs(*, ids: list[int] | None = None) -> int:
    """Fetch the cost of replies that ended without one but have a generation id (`ids`, or all
    of the last RECOVER_WITHIN), in the background; return how many were started."""
    rows = (
        Message.objects.filter(
            role=Message.Role.ASSISTANT,
            cost__isnull=True,
            created_at__gte=timezone.now() - RECOVER_WITHIN,
        )
        .exclude(generation_id="")
        .exclude(status=Message.Status.STREAMING)
    )
    if ids is not None:
        rows = rows.filter(pk__in=ids)
    started = 0
    async for reply in rows.only("pk", "user_id", "paid_by", "generation_id"):
        api_key = await akey_that_paid(user_id=reply.user_id, paid_by=reply.paid_by)
        if api_key is None:
            log.warning(
                "no key left to cost reply %s (generation %s)", reply.pk, reply.generation_id
            )
            continue
        spawn(
            fetch_cost_later(
                message_id=reply.pk, api_key=api_key, generation_id=reply.generation_id
            )
        )
        started += 1
    return started


async def _record_cost(message_id: int, found: Any) -> None:
    fields = {
        "cost": Decimal(found.total_cost),
        "prompt_tokens": found.prompt_tokens,
        "completion_tokens": found.completion_tokens,
        "reasoning_tokens": found.reasoning_tokens,
        "cached_tokens": found.cached_tokens,
    }
    reply = await Message.objects.select_related("conversation").aget(pk=message_id)
    if not reply.model_used and found.model:
        fields["model_used"] = found.model
    if not reply.provider and found.provider:
        fields["provider"] = found.provider
    if not await Message.objects.filter(pk=message_id, cost__isnull=True).aupdate(**fields):
        return  # costed meanwhile (by another process recovering it too)
    for name, value in fields.items():
        setattr(reply, name, value)
    await record_spend(reply)
    await announce.usage_known(reply)
    await announce.conversation_changed(reply.conversation)


# The rollup recompute is the heaviest work of a reply (a transaction over five tables, and
# Python summing the day's rows). Run inline it would hold up the next replies' first tokens,
# and 100 replies ending together stalled every other stream for a few hundred ms. So replies
# only note their (user, day) bucket, and one background task refreshes each noted bucket once,
# resting as long as it worked in between (at most half of the ORM's thread and of the GIL).
# It uses the ORM's shared thread: on SQLite a second writer thread only meets "database is
# locked". The rollups trail the messages by moments, never by a reply.
_rollups_due: dict[tuple[int, Any], set[int]] = {}
_rollup_task: asyncio.Task[None] | None = None


async def record_spend(reply: Message) -> None:
    """Have the usage rollups catch up with a cost written by QuerySet.update (no signal)."""
    global _rollup_task
    key = (reply.user_id, local_day(reply.created_at))
    _rollups_due.setdefault(key, set()).add(reply.conversation_id)
    if not _rollups_running():
        _rollup_task = spawn(_refresh_rollups())


def _rollups_running() -> bool:
    # A task of another (closed) event loop never finishes: it does not count.
    return (
        _rollup_task is not None
        and not _rollup_task.done()
        and _rollup_task.get_loop() is asyncio.get_running_loop()
    )


async def rollups_settled() -> None:
    """Wait until every noted rollup is refreshed (tests, and a graceful shutdown)."""
    while _rollups_running():
        assert _rollup_task is not None
        await asyncio.shield(_rollup_task)
    # A refresh whose task was cancelled still runs in the ORM's thread: wait for it too.
    await sync_to_async(_nothing)()


def _nothing() -> None:
    pass


async def _refresh_rollups() -> None:
    while _rollups_due:
        key = next(iter(_rollups_due))
        conversations = _rollups_due.pop(key)
        started = time.monotonic()
        try:
            await sync_to_async(_refresh_bucket)(key, conversations)
        except Exception:  # the rollups can be rebuilt; the message rows are the record
            log.exception("could not update the usage rollups for %s", key)
        await asyncio.sleep(time.monotonic() - started)


def _refresh_bucket(key: tuple[int, Any], conversations: set[int]) -> None:
    try:
        spend_written.send(
            sender=Message, user_id=key[0], day=key[1], conversation_ids=conversations
        )
    except Exception:
        close_old_connections()  # drop a broken connection; the next call opens a new one
        raise
