"""The worker that owns one reply: it streams from OpenRouter and broadcasts to the conversation.

A generation is an asyncio task in the server process, not part of any socket: closing the tab
that asked for it changes nothing. It listens on `generation_group(conversation)` for "stop" and
"snapshot" requests, so any socket in any process can reach it through the channel layer.

Database writes per reply: the placeholder (made by the service), a checkpoint at most once per
CHECKPOINT_SECONDS while text arrives (plus a heartbeat every HEARTBEAT_SECONDS while it does not,
so the sweeper can tell a live worker from a dead one), and one final write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import sync_to_async
from channels.layers import BaseChannelLayer, get_channel_layer
from django.db.models import Sum
from django.utils import timezone

from chatapp.chat.groups import conversation_group, generation_group, user_group
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import aconversation_data, message_data
from chatapp.openrouter import (
    ChatMessage,
    ContentDelta,
    Finish,
    OpenRouterError,
    ReasoningDelta,
    StreamError,
    StreamEvent,
    Usage,
    astream_chat,
)

log = logging.getLogger(__name__)

CHECKPOINT_SECONDS = 1.0
HEARTBEAT_SECONDS = 5.0
# After a stop or a cut-off, OpenRouter needs a moment before /generation knows the cost.
COST_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)

# Strong references: the event loop keeps only weak ones to tasks.
_running: dict[int, Generation] = {}
_background: set[asyncio.Task[Any]] = set()


def spawn(coro: Any) -> asyncio.Task[Any]:
    """Run `coro` in the background of this process, keeping a reference until it ends."""
    task = asyncio.get_running_loop().create_task(coro)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


@dataclass
class Payment:
    """Who pays for a reply and with which key; stays in this process, never on the wire."""

    api_key: str
    paid_by: str


def generation_start(
    *,
    reply: Message,
    conversation: Conversation,
    user: Any,
    history: list[ChatMessage],
    payment: Payment,
) -> Generation:
    """Start writing `reply` in the background; return at once."""
    generation = Generation(reply, conversation, user, history, payment)
    _running[reply.pk] = generation
    generation.task = spawn(generation.run())
    return generation


def running_generations() -> list[Generation]:
    return list(_running.values())


@dataclass
class Outbox:
    """Frames for the conversation group, in order, sent one group_send at a time.

    The first delta goes out at once; whatever arrives while a group_send is in flight is
    merged into one frame and sent right after. No timer: a slow layer gets bigger frames, a
    fast one gets every token.
    """

    layer: BaseChannelLayer
    group: str
    frames: list[dict[str, Any]] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    sent: int = 0

    def push(self, frame: dict[str, Any]) -> None:
        self.frames.append(frame)
        self._kick()

    def push_text(self, frame: dict[str, Any]) -> None:
        last = self.frames[-1] if self.frames else None
        if (
            last is not None
            and last["type"] == frame["type"]
            and last["offset"] + len(last["text"]) == frame["offset"]
        ):
            last["text"] += frame["text"]
        else:
            self.frames.append(frame)
        self._kick()

    def _kick(self) -> None:
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        while self.frames:
            frame = self.frames.pop(0)
            try:
                await self.layer.group_send(self.group, {"type": "chat.frame", "frame": frame})
                self.sent += 1
            except Exception:  # a full or unreachable layer must not kill the generation
                log.exception("could not broadcast a %s frame to %s", frame["type"], self.group)

    async def flush(self) -> None:
        while self.task is not None and not self.task.done():
            await asyncio.shield(self.task)


class Generation:
    def __init__(
        self,
        reply: Message,
        conversation: Conversation,
        user: Any,
        history: list[ChatMessage],
        payment: Payment,
    ) -> None:
        self.reply = reply
        self.conversation = conversation
        self.user = user
        self.history = history
        self.payment = payment
        self.content: list[str] = []
        self.content_len = 0
        self.reasoning: list[str] = []
        self.reasoning_len = 0
        self.usage: Usage | None = None
        self.finish = Finish(reason="", generation_id="", provider="", model="")
        self.error: OpenRouterError | StreamError | None = None
        self.stop_requested = False
        self.started = time.monotonic()
        self.first_token_at: float | None = None
        self.dirty = False
        self.ended = asyncio.Event()
        layer = get_channel_layer()
        assert layer is not None, "CHANNEL_LAYERS must be configured"
        self.layer: BaseChannelLayer = layer
        self.outbox = Outbox(layer, conversation_group(conversation.pk))
        self.stream_task: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    # --- the life of a reply -------------------------------------------------------------------

    async def run(self) -> None:
        try:
            control = await self.layer.new_channel()
            await self.layer.group_add(generation_group(self.conversation.pk), control)
            listener = asyncio.get_running_loop().create_task(self._listen(control))
            checkpoints = asyncio.get_running_loop().create_task(self._checkpoints())
            self.stream_task = asyncio.get_running_loop().create_task(self._stream())
            try:
                # wait() rather than await: a stop cancels stream_task, not this task.
                await asyncio.wait([self.stream_task])
            finally:
                self.stream_task.cancel()
                self.ended.set()
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)
                await checkpoints
                await self.layer.group_discard(generation_group(self.conversation.pk), control)
            await self._finish()
        finally:
            _running.pop(self.reply.pk, None)

    async def _stream(self) -> None:
        stream = astream_chat(
            api_key=self.payment.api_key,
            model=self.reply.model,
            messages=self.history,
            user_id=str(self.user.openrouter_user_id),
            parameters=self.conversation.parameters or None,
        )
        try:
            async for event in stream:
                self._on_event(event)
        except OpenRouterError as exc:
            self.error = exc
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("generation of message %s failed", self.reply.pk)
            self.error = StreamError(
                code="server_error",
                message="Something went wrong on our side while writing this reply. Try again.",
            )
        finally:
            await aclose(stream)

    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, ContentDelta | ReasoningDelta) and self.first_token_at is None:
            self.first_token_at = time.monotonic()
        if isinstance(event, ContentDelta):
            self.outbox.push_text(self._delta("delta", self.content_len, event.text))
            self.content.append(event.text)
            self.content_len += len(event.text)
            self.dirty = True
        elif isinstance(event, ReasoningDelta):
            self.outbox.push_text(self._delta("reasoning_delta", self.reasoning_len, event.text))
            self.reasoning.append(event.text)
            self.reasoning_len += len(event.text)
            self.dirty = True
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self._merge_finish(event)
        elif isinstance(event, StreamError):
            self.error = event

    def _merge_finish(self, event: Finish) -> None:
        # Ids can come before the finish reason; keep whatever is known.
        old = self.finish
        self.finish = Finish(
            reason=event.reason or old.reason,
            generation_id=event.generation_id or old.generation_id,
            provider=event.provider or old.provider,
            model=event.model or old.model,
        )

    def _delta(self, kind: str, offset: int, text: str) -> dict[str, Any]:
        return {
            "type": kind,
            "conversation": self.conversation.pk,
            "message": self.reply.pk,
            "offset": offset,
            "text": text,
        }

    # --- requests from sockets, through the channel layer ---------------------------------------

    async def _listen(self, channel: str) -> None:
        while True:
            try:
                request = await self.layer.receive(channel)
            except Exception:  # the layer blinked (Redis restart): keep listening, or stop is lost
                log.exception("generation %s could not read its control channel", self.reply.pk)
                await asyncio.sleep(0.5)
                continue
            if request.get("type") == "generation.stop":
                self.stop()
            elif request.get("type") == "generation.snapshot":
                await self._answer_snapshot(request)

    def stop(self) -> None:
        if not self.stop_requested and self.stream_task is not None:
            self.stop_requested = True
            # Cancelling the task that iterates the stream closes the upstream connection,
            # which is how OpenRouter stops generating (and billing).
            self.stream_task.cancel()

    async def _answer_snapshot(self, request: dict[str, Any]) -> None:
        self._sync_text()
        await self.layer.send(
            request["reply_to"],
            {
                "type": "chat.snapshot_part",
                "token": request["token"],
                "conversation": self.conversation.pk,
                "message": message_data(self.reply),
            },
        )

    def _sync_text(self) -> None:
        self.reply.content = "".join(self.content)
        self.reply.reasoning = "".join(self.reasoning)
        self.content = [self.reply.content]
        self.reasoning = [self.reply.reasoning]

    # --- database ------------------------------------------------------------------------------

    async def _checkpoints(self) -> None:
        """Save the text so far about once a second while it grows, never per token."""
        last_write = time.monotonic()
        while not self.ended.is_set():
            try:
                await asyncio.wait_for(self.ended.wait(), CHECKPOINT_SECONDS)
                return
            except TimeoutError:
                pass
            if self.dirty or time.monotonic() - last_write >= HEARTBEAT_SECONDS:
                self.dirty = False
                self._sync_text()
                await Message.objects.filter(
                    pk=self.reply.pk, status=Message.Status.STREAMING
                ).aupdate(
                    content=self.reply.content,
                    reasoning=self.reply.reasoning,
                    updated_at=timezone.now(),
                )
                last_write = time.monotonic()

    def _status(self) -> str:
        if self.error is not None:
            return Message.Status.ERROR
        if self.stop_requested and self.stream_task is not None and self.stream_task.cancelled():
            return Message.Status.CANCELLED
        return Message.Status.COMPLETE

    def _final_fields(self) -> dict[str, Any]:
        self._sync_text()
        now = time.monotonic()
        fields: dict[str, Any] = {
            "content": self.reply.content,
            "reasoning": self.reply.reasoning,
            "status": self._status(),
            "model_used": self.finish.model,
            "provider": self.finish.provider,
            "generation_id": self.finish.generation_id,
            "finish_reason": self.finish.reason,
            "paid_by": self.payment.paid_by,
            "duration_ms": round((now - self.started) * 1000),
            "time_to_first_token_ms": None
            if self.first_token_at is None
            else round((self.first_token_at - self.started) * 1000),
            "error_code": self.error.code if self.error else "",
            "error_text": self.error.message if self.error else "",
            "updated_at": timezone.now(),
        }
        if fields["status"] == Message.Status.CANCELLED and not fields["finish_reason"]:
            fields["finish_reason"] = "cancelled"
        if self.usage is not None:
            fields.update(_usage_fields(self.usage))
        return fields

    async def _finish(self) -> None:
        fields = self._final_fields()
        if self._key_was_refused():
            fields["error_text"] = await self._key_refused()
        await Message.objects.filter(pk=self.reply.pk).aupdate(**fields)
        for name, value in fields.items():
            setattr(self.reply, name, value)
        if self.reply.cost is not None:
            await record_spend(self.reply)
        if self.usage is not None:
            self.outbox.push(self._usage_frame())
        self.outbox.push(
            {
                "type": "done",
                "conversation": self.conversation.pk,
                "message": message_data(self.reply),
            }
        )
        await self.outbox.flush()
        await self._after_finish()

    async def _after_finish(self) -> None:
        from chatapp.chat.titles import title_start_if_new

        cost_later = self.usage is None and bool(self.finish.generation_id)
        if cost_later:
            spawn(
                fetch_cost_later(
                    message_id=self.reply.pk,
                    api_key=self.payment.api_key,
                    generation_id=self.finish.generation_id,
                )
            )
        first = self._first_reply_to()
        announced = first is not None and await title_start_if_new(
            conversation=self.conversation,
            reply=self.reply,
            user=self.user,
            payment=self.payment,
            first_text=first,
        )
        if not announced and not cost_later:  # its cost changed: the sidebar shows it
            await broadcast_conversation(self.conversation)

    def _first_reply_to(self) -> str | None:
        """The question, when this reply is the conversation's first one (nothing before it)."""
        asked = [m for m in self.history if m["role"] != "system"]
        return asked[0]["content"] if len(asked) == 1 and not self.conversation.title else None

    def _key_was_refused(self) -> bool:
        return isinstance(self.error, OpenRouterError) and self.error.status == 401

    async def _key_refused(self) -> str:
        """Mark the user's key invalid; return the sentence that tells the person what to do."""
        assert self.error is not None
        if self.payment.paid_by == Message.PaidBy.USER:
            from chatapp.accounts.keys import akey_mark_invalid

            await akey_mark_invalid(user=self.user, api_key=self.payment.api_key)
            return self.error.message
        # The site's key was refused: the person can only tell the admin, or use their own.
        return (
            "OpenRouter did not accept the site's shared key. Tell the site's administrator, "
            "or connect your own OpenRouter account on the Account page."
        )

    def _usage_frame(self) -> dict[str, Any]:
        return usage_frame(self.reply)


def _usage_fields(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost": usage.cost,
    }


def usage_frame(reply: Message) -> dict[str, Any]:
    data = message_data(reply)
    return {
        "type": "usage",
        "conversation": reply.conversation_id,
        "message": reply.pk,
        "prompt_tokens": reply.prompt_tokens,
        "completion_tokens": reply.completion_tokens,
        "reasoning_tokens": reply.reasoning_tokens,
        "cached_tokens": reply.cached_tokens,
        "cost": data["cost"],
    }


async def broadcast(group: str, frame: dict[str, Any]) -> None:
    layer = get_channel_layer()
    assert layer is not None
    await layer.group_send(group, {"type": "chat.frame", "frame": frame})


async def broadcast_conversation(conversation: Conversation) -> None:
    """Tell every socket of the owner that the conversation changed (title, cost, order)."""
    conversation = await Conversation.objects.annotate(total_cost=Sum("messages__cost")).aget(
        pk=conversation.pk
    )
    frame = {"type": "conversation_updated", "conversation": await aconversation_data(conversation)}
    await broadcast(user_group(conversation.owner_id), frame)


async def fetch_cost_later(*, message_id: int, api_key: str, generation_id: str) -> None:
    """Record the cost of a reply whose usage never arrived (stopped, cut off), from /generation."""
    from chatapp.openrouter import OpenRouterError, aget_generation

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
    await Message.objects.filter(pk=message_id).aupdate(**fields)
    for name, value in fields.items():
        setattr(reply, name, value)
    await record_spend(reply)
    await broadcast(conversation_group(reply.conversation_id), usage_frame(reply))
    await broadcast_conversation(reply.conversation)


async def aclose(stream: Any) -> None:
    """Close an upstream stream now (astream_chat is an async generator: aclose ends it)."""
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()


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
    from chatapp.usage.periods import local_day

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
    from django.db import close_old_connections

    from chatapp.usage.rollup import usage_day_refresh

    try:
        usage_day_refresh(user_id=key[0], day=key[1], conversation_ids=conversations)
    except Exception:
        close_old_connections()  # drop a broken connection; the next call opens a new one
        raise
