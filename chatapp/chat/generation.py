"""The worker that owns one reply: it streams from OpenRouter and publishes what it gets.

A generation is an asyncio task in the server process, not part of any socket: closing the tab
that asked for it changes nothing. It is a member of `generation_group(conversation)` on the hub
(chat/fanout.py), so a "stop" or a "snapshot_request" from any socket in any process reaches it,
and it publishes its deltas to `conversation_group(conversation)`, which the hub delivers.

Database writes per reply: the placeholder (made by the service), its share of the process's
checkpoint a second while text arrives (chat/checkpoints.py), and one final write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from django.utils import timezone

from chatapp.accounts.keys import ResolvedKey, akey_mark_invalid
from chatapp.accounts.models import User
from chatapp.chat import announce, fanout
from chatapp.chat.checkpoints import checkpointer
from chatapp.chat.fanout import Frame
from chatapp.chat.groups import conversation_group, generation_group
from chatapp.chat.models import Conversation, Message
from chatapp.chat.protocol import Delta, TextKind, delta_frame, message_data, snapshot_part
from chatapp.chat.reply_extras import extras_recorder
from chatapp.chat.requests import reply_options
from chatapp.chat.spend import fetch_cost_later, record_spend
from chatapp.chat.tasks import spawn
from chatapp.chat.titles import title_start_if_new
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
    text_of,
)

log = logging.getLogger(__name__)

_running: dict[int, Generation] = {}

RESTARTED_TEXT = (
    "The server restarted while this reply was being written; the text so far is kept. "
    "Press Regenerate to try again."
)


def generation_start(
    *,
    reply: Message,
    conversation: Conversation,
    user: User,
    history: list[ChatMessage],
    payment: ResolvedKey,
) -> Generation:
    """Start writing `reply` in the background; return at once."""
    generation = Generation(reply, conversation, user, history, payment)
    _running[reply.pk] = generation
    generation.task = spawn(generation.run())
    return generation


def running_generations() -> list[Generation]:
    return list(_running.values())


class Generation:
    def __init__(
        self,
        reply: Message,
        conversation: Conversation,
        user: User,
        history: list[ChatMessage],
        payment: ResolvedKey,
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
        self.dirty = False
        self.usage: Usage | None = None
        self.finish = Finish(reason="", generation_id="", provider="", model="")
        self.error: OpenRouterError | StreamError | None = None
        self.stop_requested = False
        self.interrupted = False  # the server is shutting down (lifecycle.drain)
        self.started = time.monotonic()
        self.first_token_at: float | None = None
        self.hub = fanout.hub()
        self.topic = conversation_group(conversation.pk)
        self.control = generation_group(conversation.pk)
        self.unpublished: list[Delta] = []
        self.publisher: asyncio.Task[None] | None = None
        self.stream_task: asyncio.Task[None] | None = None
        self.task: asyncio.Task[None] | None = None

    # --- the life of a reply -------------------------------------------------------------------

    async def run(self) -> None:
        checkpoints = checkpointer()
        try:
            await self.hub.join(self.control, self)
            checkpoints.add(self.reply.pk, self)
            self.stream_task = asyncio.get_running_loop().create_task(self._stream())
            try:
                # wait() rather than await: a stop cancels stream_task, not this task.
                await asyncio.wait([self.stream_task])
            finally:
                self.stream_task.cancel()
                checkpoints.remove(self.reply.pk)
                self.hub.leave(self.control, self)
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
            options=reply_options(self.reply),
            on_extra=extras_recorder(self.reply),
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
            await stream.aclose()

    def _on_event(self, event: StreamEvent) -> None:
        if isinstance(event, ContentDelta):
            offset = self.content_len
            self.content.append(event.text)
            self.content_len += len(event.text)
            self._publish_text("delta", offset, event.text)
        elif isinstance(event, ReasoningDelta):
            offset = self.reasoning_len
            self.reasoning.append(event.text)
            self.reasoning_len += len(event.text)
            self._publish_text("reasoning_delta", offset, event.text)
        elif isinstance(event, Usage):
            self.usage = event
        elif isinstance(event, Finish):
            self._merge_finish(event)
        elif isinstance(event, StreamError):
            self.error = event

    def _publish_text(self, kind: TextKind, offset: int, text: str) -> None:
        if self.first_token_at is None:
            self.first_token_at = time.monotonic()
        self.dirty = True
        last = self.unpublished[-1] if self.unpublished else None
        if (
            last is not None
            and last["type"] == kind
            and last["offset"] + len(last["text"]) == offset
        ):
            last["text"] += text  # not published yet: nobody else holds it
            return
        frame = delta_frame(
            kind=kind,
            conversation=self.conversation.pk,
            message=self.reply.pk,
            offset=offset,
            text=text,
        )
        self._publish_soon(frame)

    def _publish_soon(self, frame: Delta) -> None:
        """Publish `frame` as soon as the stream waits for the network. Tokens that came in one
        read share a frame; a token that came alone goes out at once (no timer)."""
        self.unpublished.append(frame)
        if self.publisher is None or self.publisher.done():
            self.publisher = asyncio.get_running_loop().create_task(self._publish_all())

    async def _publish_all(self) -> None:
        while self.unpublished:
            await self.hub.publish(self.topic, self.unpublished.pop(0))

    async def _published(self) -> None:
        while self.publisher is not None and not self.publisher.done():
            await asyncio.shield(self.publisher)

    def _merge_finish(self, event: Finish) -> None:
        # Ids can come before the finish reason; keep whatever is known.
        old = self.finish
        if event.generation_id and not old.generation_id:
            # Stored at once, before the first token: whatever happens to this process, the
            # reply can be costed from /generation later (the sweeper does it).
            spawn(
                Message.objects.filter(pk=self.reply.pk, status=Message.Status.STREAMING).aupdate(
                    generation_id=event.generation_id
                )
            )
        self.finish = Finish(
            reason=event.reason or old.reason,
            generation_id=event.generation_id or old.generation_id,
            provider=event.provider or old.provider,
            model=event.model or old.model,
        )

    # --- what sockets ask, through the hub (a fanout.Member) -----------------------------------

    async def deliver(self, topic: str, frame: Frame, text: str) -> None:
        if frame["type"] == "stop":
            self.stop()
        elif frame["type"] == "snapshot_request":
            part = snapshot_part(
                token=frame["token"],
                conversation=self.conversation.pk,
                message=message_data(self._with_text()),
            )
            await self.hub.publish(frame["reply_to"], part)

    def resync(self, topic: str) -> None:
        """Nothing to repair: a stop lost while Redis was away can be pressed again."""

    def stop(self) -> None:
        if not self.stop_requested and self.stream_task is not None:
            self.stop_requested = True
            # Cancelling the task that iterates the stream closes the upstream connection,
            # which is how OpenRouter stops generating (and billing).
            self.stream_task.cancel()

    def interrupt(self) -> None:
        """End the reply now because the server is shutting down: its text so far is kept,
        marked interrupted (the person is told to regenerate), and costed later."""
        self.interrupted = True
        self.stop()

    # --- text ----------------------------------------------------------------------------------

    def _with_text(self) -> Message:
        """The reply with its text so far (joined once, then kept joined)."""
        self.reply.content = "".join(self.content)
        self.reply.reasoning = "".join(self.reasoning)
        self.content = [self.reply.content]
        self.reasoning = [self.reply.reasoning]
        return self.reply

    def unsaved_text(self) -> tuple[str, str] | None:
        """For the checkpointer: the text so far, when it changed since the last call."""
        if not self.dirty:
            return None
        self.dirty = False
        reply = self._with_text()
        return reply.content, reply.reasoning

    # --- the end -------------------------------------------------------------------------------

    def _status(self) -> str:
        if self.interrupted:
            return Message.Status.INTERRUPTED
        if self.error is not None:
            return Message.Status.ERROR
        if self.stop_requested and self.stream_task is not None and self.stream_task.cancelled():
            return Message.Status.CANCELLED
        return Message.Status.COMPLETE

    def _final_fields(self) -> dict[str, Any]:
        self._with_text()
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
        if fields["status"] == Message.Status.INTERRUPTED:
            fields.update(error_code="interrupted", error_text=RESTARTED_TEXT)
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
        await self._published()  # every delta before usage and done
        if self.usage is not None:
            await announce.usage_known(self.reply)
        await announce.reply_done(self.reply)
        await self._after_finish()

    async def _after_finish(self) -> None:
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
            await announce.conversation_changed(self.conversation)

    def _first_reply_to(self) -> str | None:
        """The question, when this reply is the conversation's first one (nothing before it)."""
        asked = [m for m in self.history if m["role"] != "system"]
        if len(asked) != 1 or self.conversation.title:
            return None
        # Files alone ask nothing in words: the answer's start names the conversation then.
        return text_of(asked[0]["content"]).strip() or self._with_text().content[:500]

    def _key_was_refused(self) -> bool:
        return isinstance(self.error, OpenRouterError) and self.error.status == 401

    async def _key_refused(self) -> str:
        """Mark the user's key invalid; return the sentence that tells the person what to do."""
        assert self.error is not None
        if self.payment.paid_by == "user":
            await akey_mark_invalid(user=self.user, api_key=self.payment.api_key)
            return self.error.message
        # The site's key was refused: the person can only tell the admin, or use their own.
        return (
            "OpenRouter did not accept the site's shared key. Tell the site's administrator, "
            "or connect your own OpenRouter account on the Account page."
        )


def _usage_fields(usage: Usage) -> dict[str, Any]:
    return {
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "reasoning_tokens": usage.reasoning_tokens,
        "cached_tokens": usage.cached_tokens,
        "cost": usage.cost,
    }
