"""Mark replies whose worker died (server killed mid-stream) interrupted, never streaming forever.

A live worker touches its reply every HEARTBEAT_SECONDS (chat/checkpoints.py), so a streaming
row untouched for STALE_AFTER has no worker in any process. That rule is what makes the sweep
safe to run from every server process at once, at start-up and then every SWEEP_EVERY seconds.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from django.utils import timezone

from chatapp.chat import announce
from chatapp.chat.models import Message
from chatapp.chat.spend import arecover_costs
from chatapp.chat.titles import atitle_from_first_message

log = logging.getLogger(__name__)

# A live worker touches its reply every second (chat/checkpoints.py): four seconds of silence
# means its process is gone.
STALE_AFTER = timedelta(seconds=4)
SWEEP_EVERY = 1.0
INTERRUPTED_TEXT = (
    "The server stopped while this reply was being written; the text saved so far is kept. "
    "Press Regenerate to try again."
)

_task: asyncio.Task[None] | None = None


async def asweep_interrupted(*, stale_after: timedelta = STALE_AFTER) -> list[int]:
    """Mark stale streaming replies interrupted; return their ids."""
    cutoff = timezone.now() - stale_after
    stale = Message.objects.filter(status=Message.Status.STREAMING, updated_at__lt=cutoff)
    swept = []
    async for pk in stale.values_list("pk", flat=True):
        # Re-check in the update itself: a worker may have written since the select.
        changed = await stale.filter(pk=pk).aupdate(
            status=Message.Status.INTERRUPTED,
            error_code="interrupted",
            error_text=INTERRUPTED_TEXT,
            updated_at=timezone.now(),
        )
        if changed:
            swept.append(pk)
            await _announce(pk)
    if swept:
        log.warning("marked %d reply(ies) interrupted: %s", len(swept), swept)
        await arecover_costs(ids=swept)  # OpenRouter billed what it generated: record it
    return swept


async def _announce(pk: int) -> None:
    reply = await Message.objects.aget(pk=pk)
    try:
        await announce.reply_done(reply)
        # An interrupted first reply still leaves a named conversation, not "Untitled chat".
        await atitle_from_first_message(conversation_id=reply.conversation_id)
    except Exception:
        log.exception("could not announce interrupted reply %s", pk)


async def _sweep_forever() -> None:
    try:  # replies a process left without a cost (it shut down, or died before costing them)
        await arecover_costs()
    except Exception:
        log.exception("could not recover the costs of ended replies")
    while True:
        try:
            await asweep_interrupted()
        except Exception:  # the database may be briefly away; try again next round
            log.exception("sweep of interrupted replies failed")
        await asyncio.sleep(SWEEP_EVERY)


def sweeper_ensure_running() -> None:
    """Start the periodic sweep in this process's event loop (first call sweeps at once)."""
    global _task
    loop = asyncio.get_running_loop()
    if _task is not None and not _task.done() and _task.get_loop() is loop:
        return
    _task = loop.create_task(_sweep_forever())


def sweeper_stop() -> asyncio.Task[None] | None:
    """Forget this loop's sweep task and return it, for the caller to cancel."""
    global _task
    task, _task = _task, None
    if task is not None and task.get_loop() is asyncio.get_running_loop():
        return task
    return None
